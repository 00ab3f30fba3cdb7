// Package codec turns admin-table rows into the forms the rest of sqlgate
// uses: typed config structs for the runtime snapshot, and config-file
// text for SELECT CONFIG FILE and SAVE CONFIG TO FILE.
//
// SQLite keeps whatever was inserted, so every value is parsed and range
// checked here; an error names the table, the row and the column, which is
// what a LOAD reports to the operator.
package codec

import (
	"fmt"
	"strconv"
	"strings"

	"sqlgate/internal/admin/store"
	"sqlgate/internal/config"
)

// rowDecoder turns one admin-table row into typed values. SQLite keeps
// whatever was inserted (a CHECK on an INT column does not stop 'abc'), so
// every value is parsed here and the first problem is kept, naming the
// table, the row and the column.
type rowDecoder struct {
	table string
	n     int // 1-based row number
	idx   map[string]int
	row   []*string
	key   func(*rowDecoder) string
	err   error
}

func newDecoders(table string, r *store.Result, key func(*rowDecoder) string) []*rowDecoder {
	idx := map[string]int{}
	for i, c := range r.Cols {
		idx[strings.ToLower(c)] = i
	}
	out := make([]*rowDecoder, len(r.Rows))
	for i, row := range r.Rows {
		out[i] = &rowDecoder{table: table, n: i + 1, idx: idx, row: row, key: key}
	}
	return out
}

func (d *rowDecoder) raw(col string) *string {
	i, ok := d.idx[strings.ToLower(col)]
	if !ok || i >= len(d.row) {
		return nil
	}
	return d.row[i]
}

func (d *rowDecoder) where() string {
	if d.key != nil {
		return fmt.Sprintf("%s row %d (%s)", d.table, d.n, d.key(d))
	}
	return fmt.Sprintf("%s row %d", d.table, d.n)
}

func (d *rowDecoder) fail(col, format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%s: column %s: %s", d.where(), col, fmt.Sprintf(format, args...))
	}
}

// text returns the column as a string, "" for NULL.
func (d *rowDecoder) text(col string) string {
	if v := d.raw(col); v != nil {
		return *v
	}
	return ""
}

// ntext returns the column, nil for NULL.
func (d *rowDecoder) ntext(col string) *string {
	if v := d.raw(col); v != nil {
		s := *v
		return &s
	}
	return nil
}

func (d *rowDecoder) parseInt(col string, v string, lo, hi int64) int {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		d.fail(col, "expected an integer, got %q", v)
		return 0
	}
	if n < lo || n > hi {
		d.fail(col, "value %d is out of range [%d, %d]", n, lo, hi)
		return 0
	}
	return int(n)
}

// integer returns a NOT NULL integer column.
func (d *rowDecoder) integer(col string, lo, hi int64) int {
	v := d.raw(col)
	if v == nil {
		d.fail(col, "must not be NULL")
		return 0
	}
	return d.parseInt(col, *v, lo, hi)
}

// ninteger returns a nullable integer column.
func (d *rowDecoder) ninteger(col string, lo, hi int64) *int {
	v := d.raw(col)
	if v == nil {
		return nil
	}
	n := d.parseInt(col, *v, lo, hi)
	return &n
}

// boolean returns a 0/1 column.
func (d *rowDecoder) boolean(col string) bool {
	return d.integer(col, 0, 1) == 1
}

const maxInt32 = 1<<31 - 1

// decodeRows decodes every row of r with one, stopping at the first row
// with a bad value: a LOAD applies a table whole or not at all.
func decodeRows[T any](table string, r *store.Result, key func(*rowDecoder) string, one func(*rowDecoder) T) ([]T, error) {
	var out []T
	for _, d := range newDecoders(table, r, key) {
		v := one(d)
		if d.err != nil {
			return nil, d.err
		}
		out = append(out, v)
	}
	return out, nil
}

func serverKey(d *rowDecoder) string {
	return fmt.Sprintf("hostgroup_id=%s, hostname=%s, port=%s", d.text("hostgroup_id"), d.text("hostname"), d.text("port"))
}

// Servers decodes mysql_servers rows.
func Servers(r *store.Result) ([]config.MySQLServer, error) {
	return decodeRows("mysql_servers", r, serverKey, func(d *rowDecoder) config.MySQLServer {
		s := config.MySQLServer{
			HostgroupID:       d.integer("hostgroup_id", 0, maxInt32),
			Hostname:          d.text("hostname"),
			Port:              d.integer("port", 0, 65535),
			GtidPort:          d.integer("gtid_port", 0, 65535),
			Status:            strings.ToUpper(d.text("status")),
			Weight:            d.integer("weight", 0, 10000000),
			Compression:       d.integer("compression", 0, 1),
			MaxConnections:    d.integer("max_connections", 0, maxInt32),
			MaxReplicationLag: d.integer("max_replication_lag", 0, 126144000),
			UseSSL:            d.integer("use_ssl", 0, 1),
			MaxLatencyMs:      d.integer("max_latency_ms", 0, maxInt32),
			Comment:           d.text("comment"),
		}
		if s.Hostname == "" {
			d.fail("hostname", "must not be empty")
		}
		switch s.Status {
		case "ONLINE", "SHUNNED", "OFFLINE_SOFT", "OFFLINE_HARD":
		default:
			d.fail("status", "must be ONLINE, SHUNNED, OFFLINE_SOFT or OFFLINE_HARD, got %q", s.Status)
		}
		if s.Compression != 0 {
			d.fail("compression", "backend compression is not implemented by sqlgate; set it to 0")
		}
		return s
	})
}

// ReplicationHostgroups decodes mysql_replication_hostgroups rows.
func ReplicationHostgroups(r *store.Result) ([]config.ReplicationHostgroup, error) {
	key := func(d *rowDecoder) string { return "writer_hostgroup=" + d.text("writer_hostgroup") }
	return decodeRows("mysql_replication_hostgroups", r, key, func(d *rowDecoder) config.ReplicationHostgroup {
		h := config.ReplicationHostgroup{
			WriterHostgroup: d.integer("writer_hostgroup", 0, maxInt32),
			ReaderHostgroup: d.integer("reader_hostgroup", 0, maxInt32),
			CheckType:       strings.ToLower(d.text("check_type")),
			Comment:         d.text("comment"),
		}
		switch h.CheckType {
		case "read_only", "innodb_read_only", "super_read_only", "read_only|innodb_read_only", "read_only&innodb_read_only":
		default:
			d.fail("check_type", "unknown check type %q", h.CheckType)
		}
		if d.err == nil && h.WriterHostgroup == h.ReaderHostgroup {
			d.fail("reader_hostgroup", "must differ from writer_hostgroup (%d)", h.WriterHostgroup)
		}
		return h
	})
}

// Users decodes mysql_users rows.
func Users(r *store.Result) ([]config.MySQLUser, error) {
	key := func(d *rowDecoder) string {
		return fmt.Sprintf("username=%s, frontend=%s, backend=%s", d.text("username"), d.text("frontend"), d.text("backend"))
	}
	return decodeRows("mysql_users", r, key, func(d *rowDecoder) config.MySQLUser {
		u := config.MySQLUser{
			Username:              d.text("username"),
			Password:              d.text("password"),
			Active:                d.boolean("active"),
			UseSSL:                d.boolean("use_ssl"),
			DefaultHostgroup:      d.integer("default_hostgroup", 0, maxInt32),
			DefaultSchema:         d.text("default_schema"),
			SchemaLocked:          d.boolean("schema_locked"),
			TransactionPersistent: d.boolean("transaction_persistent"),
			FastForward:           d.boolean("fast_forward"),
			Backend:               d.boolean("backend"),
			Frontend:              d.boolean("frontend"),
			MaxConnections:        d.integer("max_connections", 0, maxInt32),
			Attributes:            d.text("attributes"),
			Comment:               d.text("comment"),
		}
		if u.Username == "" {
			d.fail("username", "must not be empty")
		}
		if u.FastForward {
			d.fail("fast_forward", "fast_forward is not implemented by sqlgate; set it to 0")
		}
		return u
	})
}

// Rules decodes mysql_query_rules rows, inactive ones included.
func Rules(r *store.Result) ([]config.MySQLQueryRule, error) {
	key := func(d *rowDecoder) string { return "rule_id=" + d.text("rule_id") }
	return decodeRows("mysql_query_rules", r, key, func(d *rowDecoder) config.MySQLQueryRule {
		q := config.MySQLQueryRule{
			RuleID:               d.integer("rule_id", 1, maxInt32),
			Active:               d.boolean("active"),
			Username:             d.ntext("username"),
			Schemaname:           d.ntext("schemaname"),
			FlagIN:               d.integer("flagIN", 0, maxInt32),
			ClientAddr:           d.ntext("client_addr"),
			ProxyAddr:            d.ntext("proxy_addr"),
			ProxyPort:            d.ninteger("proxy_port", 0, 65535),
			Digest:               d.ntext("digest"),
			MatchDigest:          d.ntext("match_digest"),
			MatchPattern:         d.ntext("match_pattern"),
			NegateMatchPattern:   d.boolean("negate_match_pattern"),
			ReModifiers:          d.text("re_modifiers"),
			FlagOUT:              d.ninteger("flagOUT", 0, maxInt32),
			ReplacePattern:       d.ntext("replace_pattern"),
			DestinationHostgroup: d.ninteger("destination_hostgroup", 0, maxInt32),
			CacheTTL:             d.ninteger("cache_ttl", 1, maxInt32),
			CacheEmptyResult:     d.ninteger("cache_empty_result", 0, 1),
			CacheTimeout:         d.ninteger("cache_timeout", 0, maxInt32),
			Reconnect:            d.ninteger("reconnect", 0, 1),
			Timeout:              d.ninteger("timeout", 0, maxInt32),
			Retries:              d.ninteger("retries", 0, 1000),
			Delay:                d.ninteger("delay", 0, maxInt32),
			NextQueryFlagIN:      d.ninteger("next_query_flagIN", 0, maxInt32),
			MirrorFlagOUT:        d.ninteger("mirror_flagOUT", 0, maxInt32),
			MirrorHostgroup:      d.ninteger("mirror_hostgroup", 0, maxInt32),
			ErrorMsg:             d.ntext("error_msg"),
			OKMsg:                d.ntext("OK_msg"),
			StickyConn:           d.ninteger("sticky_conn", 0, 1),
			Multiplex:            d.ninteger("multiplex", 0, 2),
			GtidFromHostgroup:    d.ninteger("gtid_from_hostgroup", 0, maxInt32),
			Log:                  d.ninteger("log", 0, 1),
			Apply:                d.boolean("apply"),
			Attributes:           d.text("attributes"),
			Comment:              d.ntext("comment"),
		}
		if q.Active && q.GtidFromHostgroup != nil {
			// Needs GTID tracking per backend (ProxySQL's binlog reader);
			// silently routing without it would break read-your-writes.
			d.fail("gtid_from_hostgroup", "GTID consistent reads are not implemented by sqlgate yet; set it to NULL or make the rule inactive")
		}
		return q
	})
}

// ProxySQLServers decodes proxysql_servers rows.
func ProxySQLServers(r *store.Result) ([]config.ProxySQLServer, error) {
	key := func(d *rowDecoder) string { return d.text("hostname") + ":" + d.text("port") }
	return decodeRows("proxysql_servers", r, key, func(d *rowDecoder) config.ProxySQLServer {
		p := config.ProxySQLServer{
			Hostname: d.text("hostname"),
			Port:     d.integer("port", 1, 65535),
			Weight:   d.integer("weight", 0, maxInt32),
			Comment:  d.text("comment"),
		}
		if p.Hostname == "" {
			d.fail("hostname", "must not be empty")
		}
		return p
	})
}

// FastRouting decodes mysql_query_rules_fast_routing rows.
func FastRouting(r *store.Result) ([]config.FastRoute, error) {
	key := func(d *rowDecoder) string {
		return fmt.Sprintf("username=%s, schemaname=%s, flagIN=%s", d.text("username"), d.text("schemaname"), d.text("flagIN"))
	}
	return decodeRows("mysql_query_rules_fast_routing", r, key, func(d *rowDecoder) config.FastRoute {
		f := config.FastRoute{
			Username:             d.text("username"),
			Schemaname:           d.text("schemaname"),
			FlagIN:               d.integer("flagIN", 0, maxInt32),
			DestinationHostgroup: d.integer("destination_hostgroup", 0, maxInt32),
			Comment:              d.text("comment"),
		}
		return f
	})
}

func sslParamsKey(d *rowDecoder) string {
	return fmt.Sprintf("hostname=%s, port=%s, username=%q", d.text("hostname"), d.text("port"), d.text("username"))
}

// ServersSSLParams reads mysql_servers_ssl_params. The files are
// read, and checked, when the runtime is built.
func ServersSSLParams(r *store.Result) ([]config.ServerSSLParams, error) {
	return decodeRows("mysql_servers_ssl_params", r, sslParamsKey, func(d *rowDecoder) config.ServerSSLParams {
		p := config.ServerSSLParams{
			Hostname: d.text("hostname"), Port: d.integer("port", 0, 65535), Username: d.text("username"),
			SSLCA: d.text("ssl_ca"), SSLCert: d.text("ssl_cert"), SSLKey: d.text("ssl_key"),
			SSLCAPath: d.text("ssl_capath"), SSLCRL: d.text("ssl_crl"), SSLCRLPath: d.text("ssl_crlpath"),
			SSLCipher: d.text("ssl_cipher"), TLSVersion: d.text("tls_version"), Comment: d.text("comment"),
		}
		if p.Hostname == "" {
			d.fail("hostname", "must not be empty")
		}
		return p
	})
}
