package router

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestRuleIndexChangesNoAnswer evaluates random rule sets against random
// statements with the index and without it: the index may only save work.
func TestRuleIndexChangesNoAnswer(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"SELECT", "select", "UPDATE", "c", "C", "FROM", "t1", "t2", "sbtest1", "nomatch_1", "WHERE", "id=?", "ſelect", "É"}
	phrase := func(n int) string {
		s := ""
		for i := 0; i < n; i++ {
			if i > 0 {
				s += " "
			}
			s += words[rng.IntN(len(words))]
		}
		return s
	}
	ptr := func(v int) *int { return &v }
	str := func(s string) *string { return &s }
	for round := 0; round < 300; round++ {
		var rules []Rule
		for id := 1; id <= 1+rng.IntN(40); id++ {
			r := Rule{RuleID: id, Active: true, FlagIN: rng.IntN(3), DestinationHostgroup: ptr(id)}
			switch rng.IntN(5) {
			case 0, 1, 2:
				r.MatchDigest = str("^" + phrase(1+rng.IntN(3)))
			case 3:
				r.MatchDigest = str(phrase(1)) // unanchored
			case 4:
				r.MatchPattern = str("^" + phrase(1))
			}
			if rng.IntN(2) == 0 {
				r.ReModifiers = "CASELESS"
			}
			r.NegateMatchPattern = rng.IntN(6) == 0
			if rng.IntN(3) == 0 {
				r.FlagOUT = ptr(rng.IntN(3))
			}
			r.Apply = rng.IntN(4) == 0
			rules = append(rules, r)
		}
		compiled, err := Compile(rules, nil)
		if err != nil {
			t.Fatal(err)
		}
		plain := *compiled
		plain.index = nil
		for q := 0; q < 50; q++ {
			text := phrase(1 + rng.IntN(5))
			in := Input{FlagIN: 0, Query: text, DigestText: text}
			if got, want := compiled.Evaluate(in), plain.Evaluate(in); !reflect.DeepEqual(got, want) {
				t.Fatalf("round %d, %q: with the index %+v, without %+v\nrules: %s", round, text, got, want, fmt.Sprint(rules))
			}
		}
	}
}
