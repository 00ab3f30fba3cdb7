package server

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sqlgate/internal/admin/store"
)

// The admin statement classifier, (*session).dispatch, needs a whole Admin:
// a SQLite store, a runtime, a cluster, and statements such as SAVE CONFIG
// TO FILE that write files named by the statement. So FuzzAdminStatement
// fuzzes the pure parts dispatch is built from, on the text dispatch sees:
// normalize, the regular expressions that pick a command and whose
// captures are pasted into SQL, rewriteVariableQuery and showRewrite (the
// SQL that SELECT @@x and SHOW ... turn into), and quote.

// sqlScan reads s as SQLite does for literals, quoted identifiers and
// comments, and returns the statement separators found outside them and
// whether every literal and quoted identifier is closed.
func sqlScan(s string) (semis int, closed bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'' || c == '"' || c == '`':
			j := i + 1
			for {
				k := strings.IndexByte(s[j:], c)
				if k < 0 {
					return semis, false
				}
				j += k
				if j+1 < len(s) && s[j+1] == c {
					j += 2
					continue
				}
				break
			}
			i = j
		case c == '[':
			k := strings.IndexByte(s[i:], ']')
			if k < 0 {
				return semis, false
			}
			i += k
		case c == '-' && strings.HasPrefix(s[i:], "--"):
			k := strings.IndexByte(s[i:], '\n')
			if k < 0 {
				return semis, true
			}
			i += k
		case c == '/' && strings.HasPrefix(s[i:], "/*"):
			k := strings.Index(s[i+2:], "*/")
			if k < 0 {
				return semis, true // SQLite ends an open comment at the end
			}
			i += k + 3
		case c == ';':
			semis++
		}
	}
	return semis, true
}

var identRE = regexp.MustCompile(`^[A-Za-z0-9_]*$`)

// adminSeeds are the statements of the differential admin runbook (real
// operator traffic) and a few more.
func adminSeeds(f *testing.F) []string {
	seeds := []string{
		"LOAD MYSQL SERVERS TO RUNTIME;", "SAVE MYSQL USERS TO DISK", "load mysql query rules from memory", "LOAD MYSQL USER app TO RUNTIME",
		"SET mysql-max_connections = 2000", "SELECT @@max_allowed_packet", "select @@admin-version, 1", "SHOW VARIABLES LIKE 'mysql-%'",
		"SHOW VARIABLES WHERE Variable_name='admin-version'", "SHOW GLOBAL VARIABLES LIKE 'version'", "SHOW SESSION VARIABLES LIKE 'a'; x",
		"SHOW TABLES LIKE 'a'';--'", "SHOW CREATE TABLE `stats`.`stats_mysql_global`", "SHOW FULL COLUMNS FROM main.mysql_servers",
		"SAVE CONFIG TO FILE '/tmp/x.cnf'", "PROXYSQL CLUSTER_NODE_UUID 01234567-89ab-cdef-0123-456789abcdef 10.0.0.1:6032",
		"CHECKSUM DISK MYSQL QUERY RULES", "TRUNCATE TABLE stats.stats_mysql_query_digest_reset", "  SELECT\t1 ;; ;",
		"SELECT 'SHOW VARIABLES WHERE' ;", "SELECT\u00a0@@x\u0085;", "PROXY_SELECT * FROM runtime_mysql_servers",
	}
	src, err := os.ReadFile(filepath.Join("..", "..", "cmd", "sqlgate", "testdata", "admin_runbook.sql"))
	if err != nil {
		return seeds // the runbook is another package's; the list above still runs
	}
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "--") {
			seeds = append(seeds, line)
		}
	}
	return seeds
}

// FuzzAdminStatement checks, for arbitrary admin statement text:
//   - normalize is idempotent and leaves one statement's words separated
//     by single spaces, with no trailing semicolon;
//   - the regular-expression captures dispatch pastes into SQL (schema
//     and table names) are plain identifiers, and the other captures
//     cannot close a quote;
//   - rewriteVariableQuery and showRewrite never add a statement nor leave
//     a literal open that the admin's text had closed;
//   - quote makes one literal that reads back as its input.
func FuzzAdminStatement(f *testing.F) {
	for _, s := range adminSeeds(f) {
		f.Add(s, "2.7.2-sqlgate")
	}
	f.Add("SHOW GLOBAL VARIABLES LIKE 'version'", "it's; --")
	f.Fuzz(func(t *testing.T, text, version string) {
		q := normalize(text)
		if normalize(q) != q || strings.Join(strings.Fields(q), " ") != q || strings.HasSuffix(q, ";") || len(q) > len(text) {
			t.Fatalf("normalize(%q) = %q", text, q)
		}

		for _, re := range []*regexp.Regexp{showTablesIn, showCreate, showFields} {
			if m := re.FindStringSubmatch(q); m != nil {
				for _, g := range m[1:] {
					if !identRE.MatchString(g) {
						t.Fatalf("%v captured %q from %q", re, g, q)
					}
				}
			}
		}
		if m := configFile.FindStringSubmatch(q); m != nil && (m[1] == "" || strings.Contains(m[1], "'")) {
			t.Fatalf("file name %q from %q", m[1], q)
		}
		if m := nodeUUIDRE.FindStringSubmatch(q); m != nil && strings.ContainsAny(m[1]+m[2], "' ") {
			t.Fatalf("node %q %q from %q", m[1], m[2], q)
		}

		semis, closed := sqlScan(q)
		check := func(what, rq string) {
			s, c := sqlScan(rq)
			if closed && !c || s > semis {
				t.Fatalf("%s turned %q into %q: %d statement separators (was %d), literals closed %v (was %v)", what, q, rq, s, semis, c, closed)
			}
		}
		if rq, ok := rewriteVariableQuery(q); ok {
			if rq == q {
				t.Fatalf("rewriteVariableQuery(%q) claims a rewrite and changes nothing", q)
			}
			check("rewriteVariableQuery", rq)
		}
		if rq, ok := showRewrite(q, version); ok {
			check("showRewrite", rq)
		}

		lit := store.Quote(text)
		if s, c := sqlScan(lit); s != 0 || !c || lit[0] != '\'' || lit[len(lit)-1] != '\'' ||
			strings.ReplaceAll(lit[1:len(lit)-1], "''", "'") != text || strings.Contains(strings.ReplaceAll(lit[1:len(lit)-1], "''", ""), "'") {
			t.Fatalf("store.Quote(%q) = %q", text, lit)
		}
	})
}
