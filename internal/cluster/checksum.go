// Package cluster implements ProxySQL's cluster protocol: per-module
// configuration checksums with version and epoch, and (later) peer polling
// and configuration pulls.
//
// The checksum functions here reproduce ProxySQL 2.7 bit for bit, so a
// sqlgate node and a ProxySQL node holding the same configuration publish
// the same strings in runtime_checksums_values.
package cluster

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"strings"

	spooky "github.com/dgryski/go-spooky"
)

// Module names as they appear in runtime_checksums_values, in the order
// GLOBAL_CHECKSUM() folds them.
const (
	AdminVariables  = "admin_variables"
	MySQLQueryRules = "mysql_query_rules"
	MySQLServers    = "mysql_servers"
	MySQLServersV2  = "mysql_servers_v2"
	MySQLUsers      = "mysql_users"
	MySQLVariables  = "mysql_variables"
	ProxySQLServers = "proxysql_servers"
)

// Modules lists the checksummed modules in GLOBAL_CHECKSUM() order, which
// is also the ORDER BY name of runtime_checksums_values.
var Modules = []string{AdminVariables, MySQLQueryRules, MySQLServers, MySQLServersV2, MySQLUsers, MySQLVariables, ProxySQLServers}

// PerNodeVariables are the variables each node keeps for itself: left out
// of the variables checksums and never synced: mysql-threads always,
// the listen addresses because cluster_sync_interfaces is false.
var PerNodeVariables = []string{"mysql-threads", "mysql-interfaces", "admin-mysql_ifaces", "admin-restapi_port",
	"admin-telnet_admin_ifaces", "admin-telnet_stats_ifaces", "admin-web_port"}

// PerNodeVariable reports whether name (with its prefix) is per node.
func PerNodeVariable(name string) bool { return slices.Contains(PerNodeVariables, name) }

// perNodeSQL is the quoted list of the per-node variables with prefix,
// for a NOT IN (...) clause.
func perNodeSQL(prefix string) string {
	var q []string
	for _, v := range PerNodeVariables {
		if prefix == "" || strings.HasPrefix(v, prefix+"-") {
			q = append(q, "'"+v+"'")
		}
	}
	return strings.Join(q, ",")
}

// Hash is a streaming SpookyHash V2 whose result is the first 64-bit half.
// ProxySQL feeds rows cell by cell; hashing the concatenation is the same.
type Hash struct {
	buf          []byte
	seed1, seed2 uint64
}

// NewHash starts a hash with ProxySQL's seeds for the purpose.
func NewHash(seed1, seed2 uint64) *Hash { return &Hash{seed1: seed1, seed2: seed2} }

// Write appends bytes to the hashed stream.
func (h *Hash) Write(p []byte) { h.buf = append(h.buf, p...) }

// WriteString appends a string to the hashed stream.
func (h *Hash) WriteString(s string) { h.buf = append(h.buf, s...) }

// Sum64 returns h1 of SpookyHash V2 over everything written.
func (h *Hash) Sum64() uint64 {
	h1, h2 := h.seed1, h.seed2
	spooky.Hash128(h.buf, &h1, &h2)
	return h1
}

// RawChecksum is ProxySQL's SQLite3_result::raw_checksum: 0 for no rows,
// else SpookyHash V2 (seeds 19, 3) over every cell in row-major order with
// no separators. A nil cell (NULL) contributes nothing, like ”.
func RawChecksum(rows [][]*string) uint64 {
	if len(rows) == 0 {
		return 0
	}
	h := NewHash(19, 3)
	for _, r := range rows {
		for _, c := range r {
			if c != nil {
				h.WriteString(*c)
			}
		}
	}
	return h.Sum64()
}

// Combine folds per-table raw checksums as mysql_servers_v2 does: zero
// checksums are skipped; the result is 0 when all are zero.
func Combine(raws ...uint64) uint64 {
	var h *Hash
	for _, r := range raws {
		if r == 0 {
			continue
		}
		if h == nil {
			h = NewHash(19, 3)
		}
		h.Write(binary.LittleEndian.AppendUint64(nil, r))
	}
	if h == nil {
		return 0
	}
	return h.Sum64()
}

// Format renders a checksum the way ProxySQL prints it: the low 32 bits
// then the high 32 bits in unpadded upper-case hex after "0x", padded on
// the right with '0' to 18 characters.
func Format(h uint64) string {
	s := fmt.Sprintf("0x%X%X", uint32(h), uint32(h>>32))
	if len(s) < 18 {
		s += strings.Repeat("0", 18-len(s))
	}
	return s
}

// Account is one runtime mysql_users entry as the users checksum sees it.
type Account struct {
	Username              string
	Password              string
	UseSSL                bool
	DefaultHostgroup      int32
	DefaultSchema         string
	SchemaLocked          bool
	TransactionPersistent bool
	FastForward           bool
	MaxConnections        int32
	Comment               string
	Attributes            string
}

// UsersChecksum reproduces MySQL_Authentication's checksum: the frontend
// and backend maps are each hashed (seeds 13, 4) in ascending order of the
// SpookyHash (seeds 1, 2) of the username, skipping accounts with a
// negative default hostgroup, and the two hashes are added.
func UsersChecksum(frontend, backend []Account) uint64 {
	return mapChecksum(frontend) + mapChecksum(backend)
}

func mapChecksum(accts []Account) uint64 {
	type keyed struct {
		key uint64
		a   *Account
	}
	ks := make([]keyed, 0, len(accts))
	for i := range accts {
		if accts[i].DefaultHostgroup < 0 {
			continue
		}
		h := NewHash(1, 2)
		h.WriteString(accts[i].Username)
		ks = append(ks, keyed{h.Sum64(), &accts[i]})
	}
	if len(ks) == 0 {
		return 0
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i].key < ks[j].key })
	h := NewHash(13, 4)
	b := func(v bool) byte {
		if v {
			return 1
		}
		return 0
	}
	for _, k := range ks {
		a := k.a
		h.Write([]byte{b(a.UseSSL)})
		h.Write(binary.LittleEndian.AppendUint32(nil, uint32(a.DefaultHostgroup)))
		h.Write([]byte{b(a.SchemaLocked), b(a.TransactionPersistent), b(a.FastForward)})
		h.Write(binary.LittleEndian.AppendUint32(nil, uint32(a.MaxConnections)))
		h.WriteString(a.Username)
		h.WriteString(a.Password)
		h.WriteString(a.DefaultSchema)
		h.WriteString(a.Comment)
		h.WriteString(a.Attributes)
	}
	return h.Sum64()
}

// Value is one module's row in runtime_checksums_values.
type Value struct {
	Version  uint64
	Epoch    int64
	Checksum string
}

// GlobalChecksum is SELECT GLOBAL_CHECKSUM(): SpookyHash V2 (seeds 9, 5)
// over each loaded module's checksum string and 8-byte little-endian
// version, in Modules order, halved to stay within int64.
func GlobalChecksum(values map[string]Value) uint64 {
	h := NewHash(9, 5)
	any := false
	for _, m := range Modules {
		v, ok := values[m]
		if !ok || v.Version == 0 {
			continue
		}
		any = true
		h.WriteString(v.Checksum)
		h.Write(binary.LittleEndian.AppendUint64(nil, v.Version))
	}
	if !any {
		return 0
	}
	return h.Sum64() / 2
}

// VariablesChecksum is the admin_variables or mysql_variables checksum
// (prefix "admin" or "mysql") of vals, keyed without the prefix: the
// checksum of the runtime_global_variables rows with the prefix, minus the
// per-node variables ProxySQL leaves out.
func VariablesChecksum(prefix string, vals map[string]string) uint64 {
	var names []string
	for k := range vals {
		if PerNodeVariable(prefix + "-" + k) {
			continue
		}
		names = append(names, prefix+"-"+k)
	}
	sort.Strings(names)
	rows := make([][]*string, len(names))
	for i, n := range names {
		v := vals[strings.TrimPrefix(n, prefix+"-")]
		n := n
		rows[i] = []*string{&n, &v}
	}
	return RawChecksum(rows)
}
