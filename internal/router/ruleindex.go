package router

import "slices"

// ruleIndex finds the rules a statement's digest text can match, so that
// Evaluate visits those instead of every rule. A rule is indexed under its
// match_digest prefix (see anchoredPrefix) when it has one and is not
// negated; the others are always visited. A walk of the digest text down
// the trie collects the rules whose prefix the text starts with: with a
// thousand rules that share a keyword but not a table name, a statement
// visits the few that can match, in a walk as long as the prefix.
//
// The trie is conservative: letters are folded to lower case for every
// prefix, so it may offer a rule whose exact-case prefix differs (Evaluate
// checks each rule it visits in full), but it never leaves out one that
// could match. A text with a non-ASCII byte on the walk falls back to
// every rule, because some non-ASCII runes fold to ASCII letters.
type ruleIndex struct {
	root      trieNode
	unindexed []int32 // rules without an indexable prefix, in order
}

type trieNode struct {
	next  []trieEdge
	rules []int32 // rules whose prefix ends here
}

type trieEdge struct {
	b byte
	n *trieNode
}

func (n *trieNode) child(b byte) *trieNode {
	for _, e := range n.next {
		if e.b == b {
			return e.n
		}
	}
	return nil
}

// buildIndex indexes rules; nil when no rule has a prefix (nothing to win).
func buildIndex(rules []compiledRule) *ruleIndex {
	x := &ruleIndex{}
	indexed := 0
	for i := range rules {
		cr := &rules[i]
		if cr.digestPrefix.lit == "" || cr.NegateMatchPattern {
			x.unindexed = append(x.unindexed, int32(i))
			continue
		}
		n := &x.root
		for j := 0; j < len(cr.digestPrefix.lit); j++ {
			b := lower(cr.digestPrefix.lit[j])
			c := n.child(b)
			if c == nil {
				c = &trieNode{}
				n.next = append(n.next, trieEdge{b, c})
			}
			n = c
		}
		n.rules = append(n.rules, int32(i))
		indexed++
	}
	if indexed == 0 {
		return nil
	}
	return x
}

// candidates appends to buf, in rule order, the rules digestText may
// match; ok is false when every rule must be visited.
func (x *ruleIndex) candidates(digestText string, buf []int32) (cand []int32, ok bool) {
	hits := buf
	n := &x.root
	for i := 0; i < len(digestText); i++ {
		c := digestText[i]
		if c >= 0x80 {
			return nil, false
		}
		if n = n.child(lower(c)); n == nil {
			break
		}
		hits = append(hits, n.rules...)
	}
	if len(hits) == 0 {
		return x.unindexed, true
	}
	// Few hits, each list in order: merge them with the unindexed rules.
	hits = append(hits, x.unindexed...)
	slices.Sort(hits)
	return hits, true
}
