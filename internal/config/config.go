package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Warning is a problem that does not stop sqlgate: an unknown key, an
// unsupported section.
type Warning struct {
	Pos Pos
	Msg string
}

func (w Warning) String() string { return w.Pos.String() + ": " + w.Msg }

// Config is the content of a proxysql.cnf.
type Config struct {
	Path    string
	Datadir string
	// Errorlog is the process log file when not in the foreground (-f);
	// "" means DATADIR/proxysql.log.
	Errorlog string
	// AdminVariables and MySQLVariables hold the admin_variables and
	// mysql_variables groups, keyed without the "admin-"/"mysql-" prefix;
	// integers in decimal, booleans as "true"/"false".
	AdminVariables             map[string]string
	MySQLVariables             map[string]string
	MySQLServers               []MySQLServer
	MySQLUsers                 []MySQLUser
	MySQLQueryRules            []MySQLQueryRule
	MySQLQueryRulesFastRouting []FastRoute
	MySQLReplicationHostgroups []ReplicationHostgroup
	// MySQLServersSSLParams come from the admin table only: the file's
	// section is not read yet.
	MySQLServersSSLParams []ServerSSLParams
	ProxySQLServers       []ProxySQLServer
	Tree                  *Group
}

// MySQLServer is a mysql_servers row.
type MySQLServer struct {
	HostgroupID       int
	Hostname          string
	Port              int
	GtidPort          int
	Status            string
	Weight            int
	Compression       int
	MaxConnections    int
	MaxReplicationLag int
	UseSSL            int
	MaxLatencyMs      int
	Comment           string
}

// ServerSSLParams is a mysql_servers_ssl_params row: the backend TLS
// settings of one server (and user, "" for all), instead of the
// mysql-ssl_p2s_* variables.
type ServerSSLParams struct {
	Hostname                          string
	Port                              int
	Username                          string
	SSLCA, SSLCert, SSLKey, SSLCAPath string
	SSLCRL, SSLCRLPath, SSLCipher     string
	TLSVersion, Comment               string
}

// MySQLUser is a mysql_users row.
type MySQLUser struct {
	Username, Password    string
	Active                bool
	UseSSL                bool
	DefaultHostgroup      int
	DefaultSchema         string
	SchemaLocked          bool
	TransactionPersistent bool
	FastForward           bool
	Backend               bool
	Frontend              bool
	MaxConnections        int
	Attributes            string
	Comment               string
}

// MySQLQueryRule is a mysql_query_rules row; nil pointers are NULL.
type MySQLQueryRule struct {
	RuleID                int
	Active                bool
	Username, Schemaname  *string
	FlagIN                int
	ClientAddr, ProxyAddr *string
	ProxyPort             *int
	Digest, MatchDigest   *string
	MatchPattern          *string
	NegateMatchPattern    bool
	ReModifiers           string
	FlagOUT               *int
	ReplacePattern        *string
	DestinationHostgroup  *int
	CacheTTL, CacheEmptyResult, CacheTimeout, Reconnect, Timeout, Retries, Delay,
	NextQueryFlagIN, MirrorFlagOUT, MirrorHostgroup *int
	ErrorMsg, OKMsg                               *string
	StickyConn, Multiplex, GtidFromHostgroup, Log *int
	Apply                                         bool
	Attributes                                    string
	Comment                                       *string
}

// FastRoute is a mysql_query_rules_fast_routing row.
type FastRoute struct {
	Username, Schemaname string
	FlagIN               int
	DestinationHostgroup int
	Comment              string
}

// ReplicationHostgroup is a mysql_replication_hostgroups row.
type ReplicationHostgroup struct {
	WriterHostgroup, ReaderHostgroup int
	CheckType, Comment               string
}

// ProxySQLServer is a proxysql_servers row.
type ProxySQLServer struct {
	Hostname string
	Port     int
	Weight   int
	Comment  string
}

// Load parses path and decodes it.
func Load(path string) (*Config, []Warning, error) {
	g, err := ParseFile(path)
	if err != nil {
		return nil, nil, err
	}
	return FromTree(path, g)
}

// unsupportedSections are valid ProxySQL sections sqlgate does not model yet.
var unsupportedSections = map[string]bool{
	"mysql_galera_hostgroups": true, "mysql_group_replication_hostgroups": true, "scheduler": true,
	"mysql_hostgroup_attributes": true, "restapi": true,
	"mysql_firewall_whitelist_rules": true, "mysql_firewall_whitelist_users": true,
	"mysql_firewall_whitelist_sqli_fingerprints": true, "mysql_aws_aurora_hostgroups": true,
	"mysql_servers_ssl_params": true, "ldap_variables": true, "sqliteserver_variables": true,
	"pgsql_variables": true, "pgsql_servers": true, "pgsql_users": true, "pgsql_query_rules": true,
	"clickhouse_variables": true, "clickhouse_users": true,
}

// decoder collects errors and warnings while decoding a tree.
type decoder struct {
	warnings []Warning
}

// FromTree decodes a parsed tree into a Config.
func FromTree(path string, g *Group) (*Config, []Warning, error) {
	d := &decoder{}
	cfg := &Config{Path: path, Tree: g, AdminVariables: map[string]string{}, MySQLVariables: map[string]string{}}
	seen := map[string]bool{}
	for _, s := range g.Settings {
		if seen[s.Name] {
			return nil, nil, fmt.Errorf("%s: %s is set twice", s.Pos, s.Name)
		}
		seen[s.Name] = true
		var err error
		switch s.Name {
		case "datadir":
			if s.Value.Kind != KindString {
				return nil, nil, fmt.Errorf("%s: datadir: expected string, got %s", s.Value.Pos, s.Value.Kind)
			}
			cfg.Datadir = s.Value.Str
		case "errorlog":
			if s.Value.Kind != KindString {
				return nil, nil, fmt.Errorf("%s: errorlog: expected string, got %s", s.Value.Pos, s.Value.Kind)
			}
			cfg.Errorlog = s.Value.Str
		case "admin_variables":
			err = d.variables(s, cfg.AdminVariables)
		case "mysql_variables":
			err = d.variables(s, cfg.MySQLVariables)
		case "mysql_servers":
			err = d.rows(s, func(r *row) error {
				sv := MySQLServer{Port: 3306, Status: "ONLINE", Weight: 1, MaxConnections: 1000}
				r.int(&sv.HostgroupID, 0, 1<<31-1, "hostgroup_id", "hostgroup")
				r.str(&sv.Hostname, true, "hostname", "address")
				r.int(&sv.Port, 0, 65535, "port")
				r.int(&sv.GtidPort, 0, 65535, "gtid_port")
				r.str(&sv.Status, false, "status")
				r.int(&sv.Weight, 0, 10000000, "weight")
				r.int(&sv.Compression, 0, 1, "compression")
				r.int(&sv.MaxConnections, 0, 1<<31-1, "max_connections")
				r.int(&sv.MaxReplicationLag, 0, 126144000, "max_replication_lag")
				r.int(&sv.UseSSL, 0, 1, "use_ssl")
				r.int(&sv.MaxLatencyMs, 0, 1<<31-1, "max_latency_ms")
				r.str(&sv.Comment, false, "comment")
				switch sv.Status {
				case "ONLINE", "SHUNNED", "OFFLINE_SOFT", "OFFLINE_HARD":
				default:
					r.fail("status", "must be ONLINE, SHUNNED, OFFLINE_SOFT or OFFLINE_HARD, got %q", sv.Status)
				}
				if err := r.done(); err != nil {
					return err
				}
				for _, o := range cfg.MySQLServers {
					if o.HostgroupID == sv.HostgroupID && o.Hostname == sv.Hostname && o.Port == sv.Port {
						return r.errorf("duplicate server %s:%d in hostgroup %d", sv.Hostname, sv.Port, sv.HostgroupID)
					}
				}
				cfg.MySQLServers = append(cfg.MySQLServers, sv)
				return nil
			})
		case "mysql_users":
			err = d.rows(s, func(r *row) error {
				u := MySQLUser{Active: true, TransactionPersistent: true, Backend: true, Frontend: true, MaxConnections: 10000}
				r.str(&u.Username, true, "username")
				r.str(&u.Password, false, "password")
				r.boolean(&u.Active, "active")
				r.boolean(&u.UseSSL, "use_ssl")
				r.int(&u.DefaultHostgroup, 0, 1<<31-1, "default_hostgroup")
				r.str(&u.DefaultSchema, false, "default_schema")
				r.boolean(&u.SchemaLocked, "schema_locked")
				r.boolean(&u.TransactionPersistent, "transaction_persistent")
				r.boolean(&u.FastForward, "fast_forward")
				r.boolean(&u.Backend, "backend")
				r.boolean(&u.Frontend, "frontend")
				r.int(&u.MaxConnections, 0, 1<<31-1, "max_connections")
				r.str(&u.Attributes, false, "attributes")
				r.str(&u.Comment, false, "comment")
				if err := r.done(); err != nil {
					return err
				}
				for _, o := range cfg.MySQLUsers {
					if o.Username == u.Username && (o.Frontend && u.Frontend || o.Backend && u.Backend) {
						return r.errorf("duplicate user %q", u.Username)
					}
				}
				cfg.MySQLUsers = append(cfg.MySQLUsers, u)
				return nil
			})
		case "mysql_query_rules":
			err = d.rows(s, func(r *row) error {
				q := MySQLQueryRule{ReModifiers: "CASELESS"}
				r.int(&q.RuleID, 1, 1<<31-1, "rule_id")
				if !r.has("rule_id") {
					r.fail("rule_id", "is required")
				}
				r.boolean(&q.Active, "active")
				r.optStr(&q.Username, "username")
				r.optStr(&q.Schemaname, "schemaname")
				r.int(&q.FlagIN, 0, 1<<31-1, "flagin")
				r.optStr(&q.ClientAddr, "client_addr")
				r.optStr(&q.ProxyAddr, "proxy_addr")
				r.optInt(&q.ProxyPort, 0, 65535, "proxy_port")
				r.optStr(&q.Digest, "digest")
				r.optStr(&q.MatchDigest, "match_digest")
				r.optStr(&q.MatchPattern, "match_pattern")
				r.boolean(&q.NegateMatchPattern, "negate_match_pattern")
				r.str(&q.ReModifiers, false, "re_modifiers")
				r.optInt(&q.FlagOUT, 0, 1<<31-1, "flagout")
				r.optStr(&q.ReplacePattern, "replace_pattern")
				r.optInt(&q.DestinationHostgroup, 0, 1<<31-1, "destination_hostgroup")
				r.optInt(&q.CacheTTL, 1, 1<<31-1, "cache_ttl")
				r.optInt(&q.CacheEmptyResult, 0, 1, "cache_empty_result")
				r.optInt(&q.CacheTimeout, 0, 1<<31-1, "cache_timeout")
				r.optInt(&q.Reconnect, 0, 1, "reconnect")
				r.optInt(&q.Timeout, 0, 1<<31-1, "timeout")
				r.optInt(&q.Retries, 0, 1000, "retries")
				r.optInt(&q.Delay, 0, 1<<31-1, "delay")
				r.optInt(&q.NextQueryFlagIN, 0, 1<<31-1, "next_query_flagin")
				r.optInt(&q.MirrorFlagOUT, 0, 1<<31-1, "mirror_flagout")
				r.optInt(&q.MirrorHostgroup, 0, 1<<31-1, "mirror_hostgroup")
				r.optStr(&q.ErrorMsg, "error_msg")
				r.optStr(&q.OKMsg, "ok_msg")
				r.optInt(&q.StickyConn, 0, 1, "sticky_conn")
				r.optInt(&q.Multiplex, 0, 2, "multiplex")
				r.optInt(&q.GtidFromHostgroup, 0, 1<<31-1, "gtid_from_hostgroup")
				r.optInt(&q.Log, 0, 1, "log")
				r.boolean(&q.Apply, "apply")
				r.str(&q.Attributes, false, "attributes")
				r.optStr(&q.Comment, "comment")
				if err := r.done(); err != nil {
					return err
				}
				for _, o := range cfg.MySQLQueryRules {
					if o.RuleID == q.RuleID {
						return r.errorf("duplicate rule_id %d", q.RuleID)
					}
				}
				cfg.MySQLQueryRules = append(cfg.MySQLQueryRules, q)
				return nil
			})
		case "mysql_query_rules_fast_routing":
			err = d.rows(s, func(r *row) error {
				f := FastRoute{}
				r.str(&f.Username, true, "username")
				r.str(&f.Schemaname, true, "schemaname")
				r.int(&f.FlagIN, 0, 1<<31-1, "flagin")
				r.int(&f.DestinationHostgroup, 0, 1<<31-1, "destination_hostgroup")
				if !r.has("destination_hostgroup") {
					r.fail("destination_hostgroup", "is required")
				}
				r.str(&f.Comment, false, "comment")
				if err := r.done(); err != nil {
					return err
				}
				for _, o := range cfg.MySQLQueryRulesFastRouting {
					if o.Username == f.Username && o.Schemaname == f.Schemaname && o.FlagIN == f.FlagIN {
						return r.errorf("duplicate fast route (username=%s, schemaname=%s, flagIN=%d)", f.Username, f.Schemaname, f.FlagIN)
					}
				}
				cfg.MySQLQueryRulesFastRouting = append(cfg.MySQLQueryRulesFastRouting, f)
				return nil
			})
		case "mysql_replication_hostgroups":
			err = d.rows(s, func(r *row) error {
				h := ReplicationHostgroup{CheckType: "read_only"}
				r.int(&h.WriterHostgroup, 0, 1<<31-1, "writer_hostgroup")
				r.int(&h.ReaderHostgroup, 0, 1<<31-1, "reader_hostgroup")
				if !r.has("writer_hostgroup") || !r.has("reader_hostgroup") {
					r.fail("writer_hostgroup", "writer_hostgroup and reader_hostgroup are required")
				}
				r.str(&h.CheckType, false, "check_type")
				r.str(&h.Comment, false, "comment")
				if err := r.done(); err != nil {
					return err
				}
				if h.WriterHostgroup == h.ReaderHostgroup {
					return r.errorf("writer_hostgroup and reader_hostgroup are both %d", h.WriterHostgroup)
				}
				cfg.MySQLReplicationHostgroups = append(cfg.MySQLReplicationHostgroups, h)
				return nil
			})
		case "proxysql_servers":
			err = d.rows(s, func(r *row) error {
				ps := ProxySQLServer{Port: 6032}
				r.str(&ps.Hostname, true, "hostname", "address")
				r.int(&ps.Port, 0, 65535, "port")
				r.int(&ps.Weight, 0, 1<<31-1, "weight")
				r.str(&ps.Comment, false, "comment")
				if err := r.done(); err != nil {
					return err
				}
				cfg.ProxySQLServers = append(cfg.ProxySQLServers, ps)
				return nil
			})
		default:
			if unsupportedSections[s.Name] {
				d.warn(s.Pos, "section %s is not supported yet and was ignored", s.Name)
			} else {
				d.warn(s.Pos, "unknown setting %q ignored", s.Name)
			}
		}
		if err != nil {
			return nil, nil, err
		}
	}
	return cfg, d.warnings, nil
}

func (d *decoder) warn(pos Pos, format string, args ...any) {
	d.warnings = append(d.warnings, Warning{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) variables(s *Setting, into map[string]string) error {
	if s.Value.Kind != KindGroup {
		return fmt.Errorf("%s: %s: expected a group { ... }, got %s", s.Value.Pos, s.Name, s.Value.Kind)
	}
	for _, v := range s.Value.Group.Settings {
		switch v.Value.Kind {
		case KindString, KindFloat, KindBool:
			into[strings.ToLower(v.Name)] = v.Value.Str
		case KindInt:
			into[strings.ToLower(v.Name)] = strconv.FormatInt(v.Value.Int, 10)
		default:
			return fmt.Errorf("%s: %s.%s: expected a scalar value, got %s", v.Value.Pos, s.Name, v.Name, v.Value.Kind)
		}
	}
	return nil
}

func (d *decoder) rows(s *Setting, each func(*row) error) error {
	if s.Value.Kind != KindList && s.Value.Kind != KindArray {
		return fmt.Errorf("%s: %s: expected a list ( {...}, ... ), got %s", s.Value.Pos, s.Name, s.Value.Kind)
	}
	for i, item := range s.Value.Items {
		if item.Kind != KindGroup {
			return fmt.Errorf("%s: %s[%d]: expected a group {...}, got %s", item.Pos, s.Name, i, item.Kind)
		}
		r := &row{d: d, section: s.Name, index: i, pos: item.Pos, used: map[string]bool{}, byName: map[string]*Setting{}}
		for _, kv := range item.Group.Settings {
			r.byName[strings.ToLower(kv.Name)] = kv
		}
		if err := each(r); err != nil {
			return err
		}
	}
	return nil
}

// row decodes one group of a section list, remembering the first error.
type row struct {
	d       *decoder
	section string
	index   int
	pos     Pos
	byName  map[string]*Setting
	used    map[string]bool
	err     error
}

func (r *row) errorf(format string, args ...any) error {
	return fmt.Errorf("%s: %s[%d]: %s", r.pos, r.section, r.index, fmt.Sprintf(format, args...))
}

func (r *row) fail(col, format string, args ...any) {
	if r.err != nil {
		return
	}
	pos := r.pos
	if s := r.byName[col]; s != nil {
		pos = s.Value.Pos
	}
	r.err = fmt.Errorf("%s: %s[%d].%s: %s", pos, r.section, r.index, col, fmt.Sprintf(format, args...))
}

func (r *row) has(name string) bool { return r.byName[name] != nil }

func (r *row) get(names ...string) (*Setting, string) {
	for _, n := range names {
		r.used[n] = true
	}
	for _, n := range names {
		if s := r.byName[n]; s != nil {
			return s, n
		}
	}
	return nil, names[0]
}

func (r *row) int(dst *int, lo, hi int64, names ...string) {
	s, name := r.get(names...)
	if s == nil {
		return
	}
	var n int64
	v := s.Value
	switch v.Kind {
	case KindInt, KindBool:
		n = v.Int
	case KindString:
		x, err := strconv.ParseInt(strings.TrimSpace(v.Str), 10, 64)
		if err != nil {
			r.fail(name, "expected integer, got string %q", v.Str)
			return
		}
		n = x
	default:
		r.fail(name, "expected integer, got %s", v.Kind)
		return
	}
	if n < lo || n > hi {
		r.fail(name, "value %d out of range [%d, %d]", n, lo, hi)
		return
	}
	*dst = int(n)
}

func (r *row) optInt(dst **int, lo, hi int64, names ...string) {
	if s, _ := r.get(names...); s == nil {
		return
	}
	var n int
	r.int(&n, lo, hi, names...)
	*dst = &n
}

func (r *row) str(dst *string, required bool, names ...string) {
	s, name := r.get(names...)
	if s == nil {
		if required {
			r.fail(name, "is required")
		}
		return
	}
	switch s.Value.Kind {
	case KindString:
		*dst = s.Value.Str
	case KindInt, KindFloat, KindBool:
		*dst = s.Value.Str
	default:
		r.fail(name, "expected string, got %s", s.Value.Kind)
		return
	}
	if required && *dst == "" {
		r.fail(name, "must not be empty")
	}
}

func (r *row) optStr(dst **string, names ...string) {
	if s, _ := r.get(names...); s == nil {
		return
	}
	var v string
	r.str(&v, false, names...)
	*dst = &v
}

func (r *row) boolean(dst *bool, names ...string) {
	s, name := r.get(names...)
	if s == nil {
		return
	}
	v := s.Value
	switch {
	case v.Kind == KindBool || v.Kind == KindInt && (v.Int == 0 || v.Int == 1):
		*dst = v.Int == 1
	case v.Kind == KindString && (v.Str == "0" || v.Str == "1" || strings.EqualFold(v.Str, "true") || strings.EqualFold(v.Str, "false")):
		*dst = v.Str == "1" || strings.EqualFold(v.Str, "true")
	default:
		r.fail(name, "expected 0/1 or true/false, got %s %q", v.Kind, v.Str)
	}
}

// done reports the first error and warns about keys nobody read.
func (r *row) done() error {
	if r.err != nil {
		return r.err
	}
	for name, s := range r.byName {
		if !r.used[name] {
			r.d.warn(s.Pos, "%s[%d]: unknown key %q ignored", r.section, r.index, s.Name)
		}
	}
	return nil
}
