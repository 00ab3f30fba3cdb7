package router

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
)

// Rule mirrors a mysql_query_rules row; nil pointers are SQL NULL.
type Rule struct {
	RuleID             int
	Active             bool
	Username           *string
	Schemaname         *string
	FlagIN             int
	ClientAddr         *string
	ProxyAddr          *string
	ProxyPort          *int
	Digest             *string
	MatchDigest        *string
	MatchPattern       *string
	NegateMatchPattern bool
	ReModifiers        string
	FlagOUT            *int
	ReplacePattern     *string
	DestinationHostgroup, CacheTTL, Timeout, Retries, Delay,
	NextQueryFlagIN, MirrorFlagOUT, MirrorHostgroup *int
	ErrorMsg, OKMsg *string
	Multiplex, Log  *int
	Apply           bool
}

type compiledRule struct {
	Rule
	digest       uint64
	hasDigest    bool
	matchDigest  *regexp.Regexp
	matchPattern *regexp.Regexp
	global       bool
	hits         *atomic.Int64 // stats_mysql_query_rules
}

// Rules is a compiled, immutable rule set, safe for concurrent use.
type Rules struct {
	rules []compiledRule
}

// Compile validates the rules and compiles the active ones in rule_id
// order. Errors name the rule and the column.
func Compile(rules []Rule) (*Rules, error) {
	seen := map[int]bool{}
	var out []compiledRule
	for _, r := range rules {
		if seen[r.RuleID] {
			return nil, fmt.Errorf("mysql_query_rules rule_id=%d: duplicate rule_id", r.RuleID)
		}
		seen[r.RuleID] = true
		if !r.Active {
			continue
		}
		cr := compiledRule{Rule: r, hits: new(atomic.Int64)}
		caseless := false
		for _, m := range strings.Split(r.ReModifiers, ",") {
			switch strings.ToUpper(strings.TrimSpace(m)) {
			case "CASELESS":
				caseless = true
			case "GLOBAL":
				cr.global = true
			case "":
			default:
				return nil, fmt.Errorf("mysql_query_rules rule_id=%d: re_modifiers: unknown modifier %q (want CASELESS, GLOBAL)", r.RuleID, m)
			}
		}
		comp := func(col string, p *string) (*regexp.Regexp, error) {
			if p == nil || *p == "" {
				return nil, nil
			}
			src := *p
			if caseless {
				src = "(?i)" + src
			}
			re, err := regexp.Compile(src)
			if err != nil {
				return nil, fmt.Errorf("mysql_query_rules rule_id=%d: %s: invalid regex %q: %v", r.RuleID, col, *p, err)
			}
			return re, nil
		}
		var err error
		if cr.matchDigest, err = comp("match_digest", r.MatchDigest); err != nil {
			return nil, err
		}
		if cr.matchPattern, err = comp("match_pattern", r.MatchPattern); err != nil {
			return nil, err
		}
		if r.ReplacePattern != nil && cr.matchPattern == nil {
			return nil, fmt.Errorf("mysql_query_rules rule_id=%d: replace_pattern needs match_pattern", r.RuleID)
		}
		if r.Digest != nil && *r.Digest != "" {
			d := strings.TrimPrefix(strings.TrimPrefix(*r.Digest, "0x"), "0X")
			v, err := strconv.ParseUint(d, 16, 64)
			if err != nil {
				return nil, fmt.Errorf("mysql_query_rules rule_id=%d: digest: %q is not a 0x-prefixed 64-bit hex value", r.RuleID, *r.Digest)
			}
			cr.digest, cr.hasDigest = v, true
		}
		if r.DestinationHostgroup != nil && *r.DestinationHostgroup < 0 {
			return nil, fmt.Errorf("mysql_query_rules rule_id=%d: destination_hostgroup: %d is negative", r.RuleID, *r.DestinationHostgroup)
		}
		out = append(out, cr)
	}
	slices.SortFunc(out, func(a, b compiledRule) int { return a.RuleID - b.RuleID })
	return &Rules{rules: out}, nil
}

// Len is the number of active rules.
func (r *Rules) Len() int {
	if r == nil {
		return 0
	}
	return len(r.rules)
}

// Input is what rules match against.
type Input struct {
	Username, Schema string
	FlagIN           int
	Query            string
	DigestText       string
	Digest           uint64
	ClientAddr       string
	ProxyAddr        string
	ProxyPort        int
}

// Result is the outcome of rule evaluation; -1 and nil mean "not set".
type Result struct {
	DestinationHostgroup                               int
	NextQueryFlagIN                                    int
	Multiplex                                          int
	Timeout, Retries, Delay, CacheTTL, MirrorHostgroup int
	ErrorMsg, OKMsg                                    *string
	NewQuery                                           string
}

func set(dst *int, v *int) {
	if v != nil {
		*dst = *v
	}
}

// Evaluate runs the rules against in (§6.2): rules are visited in rule_id
// order; a rule applies when its flagIN equals the current flag and all its
// filters match; later matches overwrite earlier values; flagOUT changes the
// flag; apply stops evaluation.
func (r *Rules) Evaluate(in Input) Result {
	res := Result{DestinationHostgroup: -1, NextQueryFlagIN: -1, Multiplex: -1, Timeout: -1, Retries: -1,
		Delay: -1, CacheTTL: -1, MirrorHostgroup: -1}
	if r == nil {
		return res
	}
	flag := in.FlagIN
	query := in.Query
	for i := range r.rules {
		cr := &r.rules[i]
		if cr.FlagIN != flag {
			continue
		}
		if cr.Username != nil && *cr.Username != "" && *cr.Username != in.Username {
			continue
		}
		if cr.Schemaname != nil && *cr.Schemaname != "" && *cr.Schemaname != in.Schema {
			continue
		}
		if cr.ClientAddr != nil && *cr.ClientAddr != "" && !addrMatch(*cr.ClientAddr, in.ClientAddr) {
			continue
		}
		if cr.ProxyAddr != nil && *cr.ProxyAddr != "" && *cr.ProxyAddr != in.ProxyAddr {
			continue
		}
		if cr.ProxyPort != nil && *cr.ProxyPort != in.ProxyPort {
			continue
		}
		if cr.hasDigest && cr.digest != in.Digest {
			continue
		}
		if cr.matchDigest != nil && cr.matchDigest.MatchString(in.DigestText) == cr.NegateMatchPattern {
			continue
		}
		if cr.matchPattern != nil && cr.matchPattern.MatchString(query) == cr.NegateMatchPattern {
			continue
		}
		cr.hits.Add(1)
		if cr.FlagOUT != nil {
			flag = *cr.FlagOUT
		}
		set(&res.Timeout, cr.Timeout)
		set(&res.Retries, cr.Retries)
		set(&res.Delay, cr.Delay)
		set(&res.NextQueryFlagIN, cr.NextQueryFlagIN)
		set(&res.MirrorHostgroup, cr.MirrorHostgroup)
		if cr.ErrorMsg != nil {
			res.ErrorMsg = cr.ErrorMsg
		}
		if cr.OKMsg != nil {
			res.OKMsg = cr.OKMsg
		}
		set(&res.CacheTTL, cr.CacheTTL)
		set(&res.Multiplex, cr.Multiplex)
		set(&res.DestinationHostgroup, cr.DestinationHostgroup)
		if cr.ReplacePattern != nil && !cr.NegateMatchPattern {
			if cr.global {
				query = cr.matchPattern.ReplaceAllString(query, *cr.ReplacePattern)
			} else if loc := cr.matchPattern.FindStringSubmatchIndex(query); loc != nil {
				var dst []byte
				dst = cr.matchPattern.ExpandString(dst, *cr.ReplacePattern, query, loc)
				query = query[:loc[0]] + string(dst) + query[loc[1]:]
			}
			res.NewQuery = query
		}
		if cr.Apply {
			break
		}
	}
	return res
}

func addrMatch(pattern, addr string) bool {
	if pattern == "%" {
		return true
	}
	if strings.HasSuffix(pattern, "%") {
		return strings.HasPrefix(addr, pattern[:len(pattern)-1])
	}
	return pattern == addr
}

// Annotations are the key=value pairs of a query's first comment (§6.3).
type Annotations struct {
	Hostgroup, Mirror, CacheTTL, QueryDelay, QueryRetries, QueryTimeout int
	CreateNewConnection                                                 bool
}

// ParseAnnotations parses "hostgroup=20;query_timeout=500". Unknown keys
// and non-numeric values are ignored, as ProxySQL does.
func ParseAnnotations(comment string) Annotations {
	a := Annotations{Hostgroup: -1, Mirror: -1, CacheTTL: -1, QueryDelay: -1, QueryRetries: -1, QueryTimeout: -1}
	if !strings.Contains(comment, "=") {
		return a
	}
	for _, kv := range strings.Split(comment, ";") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		if k == "create_new_connection" {
			a.CreateNewConnection = v == "1"
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			continue
		}
		switch k {
		case "hostgroup":
			a.Hostgroup = n
		case "mirror":
			a.Mirror = n
		case "cache_ttl":
			a.CacheTTL = n
		case "query_delay":
			a.QueryDelay = n
		case "query_retries":
			a.QueryRetries = n
		case "query_timeout":
			a.QueryTimeout = n
		}
	}
	return a
}

// RuleHits is one stats_mysql_query_rules row.
type RuleHits struct {
	RuleID int
	Hits   int64
}

// Hits returns how many statements each active rule matched since it was
// loaded.
func (r *Rules) Hits() []RuleHits {
	if r == nil {
		return nil
	}
	out := make([]RuleHits, len(r.rules))
	for i := range r.rules {
		out[i] = RuleHits{RuleID: r.rules[i].RuleID, Hits: r.rules[i].hits.Load()}
	}
	return out
}
