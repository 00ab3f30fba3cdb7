package digest

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// digestSeeds are real queries: ProxySQL's tokenizer test vectors and the
// cases of digest_defaults.json (both in testdata), plus sysbench's.
func digestSeeds(f *testing.F) []string {
	seeds := []string{
		"SELECT c FROM sbtest1 WHERE id=5012",
		"SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN 5012 AND 5111 ORDER BY c",
		"UPDATE sbtest1 SET k=k+1 WHERE id=5012",
		"INSERT INTO sbtest1 (id, k, c, pad) VALUES (5012, 4993, '83868641912-28773972837', '67847967377-48000963322')",
		"/* hostgroup=20;query_timeout=500 */ SELECT a FROM t1 WHERE x IN (1,2,3,4,5,6) -- trailing\n",
		"SELECT /*!40001 SQL_NO_CACHE */ * FROM t", "select 123#c\n  x", "select 1 -- abcd", "SET NAMES utf8mb4",
	}
	data, err := os.ReadFile("testdata/digest_proxysql_vectors.json")
	if err != nil {
		f.Fatal(err)
	}
	var vectors struct {
		Tests []struct {
			Q json.RawMessage `json:"q"`
		} `json:"tests"`
	}
	if err := json.Unmarshal(data, &vectors); err != nil {
		f.Fatal(err)
	}
	for _, v := range vectors.Tests {
		var one string
		var many []string
		if json.Unmarshal(v.Q, &one) == nil {
			seeds = append(seeds, one)
		} else if json.Unmarshal(v.Q, &many) == nil {
			seeds = append(seeds, many...)
		}
	}
	data, err = os.ReadFile("testdata/digest_defaults.json")
	if err != nil {
		f.Fatal(err)
	}
	var defaults struct {
		Cases []struct {
			Query       string `json:"query"`
			QueryBase64 string `json:"query_base64"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(data, &defaults); err != nil {
		f.Fatal(err)
	}
	for _, c := range defaults.Cases {
		if q, err := base64.StdEncoding.DecodeString(c.QueryBase64); err == nil && c.QueryBase64 != "" {
			seeds = append(seeds, string(q))
		} else {
			seeds = append(seeds, c.Query)
		}
	}
	return seeds
}

// fuzzQuery builds a query from a head and a unit repeated up to reps
// times, so a small input can make a bulk INSERT or an IN list longer than
// the 65000-byte work buffer (the resumed scan) without the fuzzer having
// to grow it byte by byte. At most 256 KiB.
func fuzzQuery(head, unit string, reps uint16) string {
	n := int(reps)
	if len(unit) == 0 {
		n = 0
	} else {
		n = min(n, (256<<10)/len(unit))
	}
	return head + strings.Repeat(unit, n)
}

func hasBlankEdge(s string) bool {
	return s != "" && (isBlank(s[0]) || isBlank(s[len(s)-1]))
}

// FuzzDigest computes the digest of arbitrary queries, and what the data
// path derives from it (the command class, the statement flags, the
// annotations of the first comment). Invariants: no panic; the text is at
// most 2048 bytes and never longer than the query; the first comment is at
// most 1023 bytes, trimmed, on one line (blanks turned into spaces); the
// same query gives the same digest, hash, class and flags whatever was
// digested before it (the digesters are pooled and reused); annotations
// are unset (-1) or non-negative, and a max_lag_ms is at most 600000.
func FuzzDigest(f *testing.F) {
	for _, q := range digestSeeds(f) {
		f.Add(q, "", uint16(0), "SELECT 1")
	}
	f.Add("INSERT INTO t (a,b,c,d,e) VALUES ", "(1,'abc',2.5,7,0x1F),", uint16(5000), strings.Repeat("x", 70000))
	f.Add("INSERT INTO t (a,b,c,d,e) VALUES ", "(1,'abc',2.5,NULL,0x1F),", uint16(5000), "")
	f.Add("SELECT * FROM t WHERE id IN (", "123456,", uint16(20000), "/* a */ select 'b'")
	f.Add("SELECT ", "col_abcdefgh, ", uint16(300), "")
	f.Add("SELECT 1 ", "/*!1 a */", uint16(50), "")
	f.Add("select '", "\\", uint16(3), "")

	f.Fuzz(func(t *testing.T, head, unit string, reps uint16, other string) {
		q := fuzzQuery(head, unit, reps)
		text, comment := Of(q)
		if len(text) > maxDigestLength || len(text) > len(q) {
			t.Fatalf("digest of %d bytes from a %d-byte query", len(text), len(q))
		}
		if len(comment) >= commentCap || len(comment) > len(q) || hasBlankEdge(comment) || strings.ContainsAny(comment, "\t\r\n\x00") {
			t.Fatalf("first comment %q", comment)
		}
		hash := Hash(text)

		Of(other)
		text2, comment2 := Of(q)
		if text2 != text || comment2 != comment {
			t.Fatalf("digest changed after digesting %q: %q %q, was %q %q", other, text2, comment2, text, comment)
		}
		if Hash(strings.Clone(text)) != hash {
			t.Fatal("hash not deterministic")
		}
	})
}

// FuzzDigestOptions runs the digester with arbitrary
// mysql-query_digests_* settings, all three pipelines (scan; scan and
// first pass; everything). A small work buffer reaches the resumed scan
// that the defaults reach only past 65000 bytes. Invariants: no panic;
// the text is never longer than the query; the same input gives the same
// output.
func FuzzDigestOptions(f *testing.F) {
	for _, q := range digestSeeds(f)[:40] {
		f.Add(q, uint16(65000), uint8(3), uint8(10), uint8(0))
	}
	f.Add("INSERT INTO db.table (col1,col2,col3) VALUES (NULL, NULL, NULL, NULL)", uint16(55), uint8(1), uint8(1), uint8(2))
	f.Add(strings.Repeat("(1,2,3,4,5),", 40), uint16(13), uint8(1), uint8(1), uint8(0xff))
	f.Add("select /* a /* b */ c", uint16(5), uint8(3), uint8(0), uint8(0x10))
	f.Add(strings.Repeat("/*!1 a */", 50), uint16(21), uint8(3), uint8(10), uint8(0x0f))
	f.Fuzz(func(t *testing.T, q string, mql uint16, gl, ggl, flags uint8) {
		o := digestOptions{maxQueryLength: 1 + int(mql), groupingLimit: int(gl), groupsGroupingLimit: int(ggl),
			lowercase: flags&1 != 0, replaceNull: flags&2 != 0, noDigits: flags&4 != 0, keepComment: flags&8 != 0}
		stages := int(flags>>4) % 3
		text, comment, has := digestWith(q, &o, stages)
		if len(text) > len(q) {
			t.Fatalf("digest of %d bytes from a %d-byte query: %q", len(text), len(q), text)
		}
		if !has && comment != "" || len(comment) >= commentCap {
			t.Fatalf("comment %q (has %v)", comment, has)
		}
		if t2, c2, h2 := digestWith(q, &o, stages); t2 != text || c2 != comment || h2 != has {
			t.Fatalf("not deterministic: %q, then %q", text, t2)
		}
	})
}
