package router

import (
	"regexp"
	"testing"
)

func TestAnchoredPrefix(t *testing.T) {
	cases := []struct {
		re   string
		want prefix
	}{
		{`^SELECT c FROM nomatch_1 WHERE`, prefix{lit: "SELECT c FROM nomatch_1 WHERE"}},
		{`^SELECT.*FOR UPDATE$`, prefix{lit: "SELECT"}},
		{`(?i)^select c`, prefix{lit: "SELECT C", fold: true}}, // CASELESS, ProxySQL's default (the parser keeps folded letters in upper case)
		{`(?i)^sélect`, prefix{}},                              // folding beyond ASCII: left to the regex
		{`^sélect`, prefix{lit: "sélect"}},
		{`(?m)^SELECT`, prefix{}}, // ^ at every line
		{`^(SELECT|UPDATE)`, prefix{}},
		{`^SELECT|^UPDATE`, prefix{}},
		{`SELECT`, prefix{}}, // unanchored: Go's regexp finds a literal fast itself
		{`^\.x`, prefix{lit: ".x"}},
		{`^$`, prefix{}},
	}
	texts := []string{"SELECT c FROM nomatch_1 WHERE id=1", "select c from t", "SELECT C", "ſelect c", "\u212Aill", "UPDATE t",
		".x", "", "sélect", "SÉLECT", "x\nSELECT", "SEL", "select"}
	for _, c := range cases {
		re := regexp.MustCompile(c.re)
		got := anchoredPrefix(re)
		if got != c.want {
			t.Errorf("anchoredPrefix(%q) = %+v, want %+v", c.re, got, c.want)
		}
		// The prefix only ever spares the regex a text it would reject.
		for _, s := range texts {
			if matches(re, got, s) != re.MatchString(s) {
				t.Errorf("%q on %q: matches = %v, the regex says %v", c.re, s, !got.rejects(s), re.MatchString(s))
			}
		}
	}
}
