package router

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"
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
	DestinationHostgroup, CacheTTL, CacheEmptyResult, Timeout, Retries, Delay,
	NextQueryFlagIN, MirrorFlagOUT, MirrorHostgroup *int
	ErrorMsg, OKMsg *string
	Multiplex, Log  *int
	Apply           bool
	// Attributes is the rule's JSON attributes; sqlgate reads "flagOUTs",
	// a weighted random choice of flagOUT (as ProxySQL 2.5+ does).
	Attributes string
}

// FastRoute is a mysql_query_rules_fast_routing row: statements of
// Username in Schemaname that reach flag FlagIN go to DestinationHostgroup.
type FastRoute struct {
	Username, Schemaname string
	FlagIN               int
	DestinationHostgroup int
}

type fastKey struct {
	user, schema string
	flag         int
}

// weightedFlag is one entry of a rule's attributes.flagOUTs.
type weightedFlag struct {
	ID     int `json:"id"`
	Weight int `json:"weight"`
}

type compiledRule struct {
	Rule
	digest       uint64
	hasDigest    bool
	matchDigest  *regexp.Regexp
	matchPattern *regexp.Regexp
	// digestPrefix and patternPrefix are literals every match of the
	// regexes starts with, at offset 0 ("" when there is none): see
	// anchoredPrefix.
	digestPrefix, patternPrefix prefix
	global                      bool
	hits                        *atomic.Int64 // stats_mysql_query_rules
	flagOUTs                    []weightedFlag
	flagTotal                   int
}

// Rules is a compiled, immutable rule set, safe for concurrent use.
type Rules struct {
	rules []compiledRule
	fast  map[fastKey]int
	index *ruleIndex // nil: visit every rule
}

// Compile validates the rules and compiles the active ones in rule_id
// order, with the fast-routing table. Errors name the rule and the column.
func Compile(rules []Rule, fast []FastRoute) (*Rules, error) {
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
		cr.digestPrefix, cr.patternPrefix = anchoredPrefix(cr.matchDigest), anchoredPrefix(cr.matchPattern)
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
		if err := cr.parseAttributes(); err != nil {
			return nil, err
		}
		out = append(out, cr)
	}
	slices.SortFunc(out, func(a, b compiledRule) int { return a.RuleID - b.RuleID })
	rs := &Rules{rules: out, index: buildIndex(out)}
	for _, f := range fast {
		k := fastKey{f.Username, f.Schemaname, f.FlagIN}
		if rs.fast == nil {
			rs.fast = map[fastKey]int{}
		}
		if _, dup := rs.fast[k]; dup {
			return nil, fmt.Errorf("mysql_query_rules_fast_routing (username=%s, schemaname=%s, flagIN=%d): duplicate row", f.Username, f.Schemaname, f.FlagIN)
		}
		rs.fast[k] = f.DestinationHostgroup
	}
	return rs, nil
}

// parseAttributes reads the rule's JSON attributes. ProxySQL logs and
// skips a malformed flagOUTs entry; sqlgate refuses the rule instead, so a
// typo cannot silently change where queries go.
func (cr *compiledRule) parseAttributes() error {
	if strings.TrimSpace(cr.Attributes) == "" {
		return nil
	}
	var attrs map[string]json.RawMessage
	if err := json.Unmarshal([]byte(cr.Attributes), &attrs); err != nil {
		return fmt.Errorf("mysql_query_rules rule_id=%d: attributes: not a JSON object: %v", cr.RuleID, err)
	}
	raw, ok := attrs["flagOUTs"]
	if !ok {
		return nil
	}
	if err := json.Unmarshal(raw, &cr.flagOUTs); err != nil {
		return fmt.Errorf(`mysql_query_rules rule_id=%d: attributes: flagOUTs must be a list of {"id": N, "weight": N} objects: %v`, cr.RuleID, err)
	}
	for _, f := range cr.flagOUTs {
		if f.ID < 0 || f.Weight < 0 {
			return fmt.Errorf("mysql_query_rules rule_id=%d: attributes: flagOUTs: id and weight must not be negative", cr.RuleID)
		}
		cr.flagTotal += f.Weight
	}
	return nil
}

// pickFlagOUT chooses among the weighted flagOUTs.
func (cr *compiledRule) pickFlagOUT() int {
	n := rand.IntN(cr.flagTotal)
	for _, f := range cr.flagOUTs {
		if n < f.Weight {
			return f.ID
		}
		n -= f.Weight
	}
	return cr.flagOUTs[len(cr.flagOUTs)-1].ID
}

// Len is the number of active rules.
func (r *Rules) Len() int {
	if r == nil {
		return 0
	}
	return len(r.rules)
}

// Empty reports whether there is nothing to evaluate: no active rule and
// no fast route.
func (r *Rules) Empty() bool { return r == nil || len(r.rules) == 0 && len(r.fast) == 0 }

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
	CacheEmptyResult, MirrorFlagOUT, Log               int
	ErrorMsg, OKMsg                                    *string
	NewQuery                                           string
}

// NoResult is a Result with nothing set.
func NoResult() Result {
	return Result{DestinationHostgroup: -1, NextQueryFlagIN: -1, Multiplex: -1, Timeout: -1, Retries: -1,
		Delay: -1, CacheTTL: -1, MirrorHostgroup: -1, CacheEmptyResult: -1, MirrorFlagOUT: -1, Log: -1}
}

func set(dst *int, v *int) {
	if v != nil {
		*dst = *v
	}
}

// Evaluate runs the rules against in: rules are visited in rule_id
// order; a rule applies when its flagIN equals the current flag and all its
// filters match; later matches overwrite earlier values; flagOUT changes the
// flag; apply stops evaluation. When no apply rule stopped it, the fast
// routing table is consulted with the final flag.
func (r *Rules) Evaluate(in Input) Result {
	res := NoResult()
	if r == nil {
		return res
	}
	flag := in.FlagIN
	query := in.Query
	applied := false
	var buf [32]int32
	cand, indexed := []int32(nil), false
	if r.index != nil {
		cand, indexed = r.index.candidates(in.DigestText, buf[:0])
	}
	n := len(r.rules)
	if indexed {
		n = len(cand)
	}
	for k := 0; k < n; k++ {
		i := k
		if indexed {
			i = int(cand[k])
		}
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
		if cr.matchDigest != nil && matches(cr.matchDigest, cr.digestPrefix, in.DigestText) == cr.NegateMatchPattern {
			continue
		}
		if cr.matchPattern != nil && matches(cr.matchPattern, cr.patternPrefix, query) == cr.NegateMatchPattern {
			continue
		}
		cr.hits.Add(1)
		if cr.flagTotal > 0 {
			flag = cr.pickFlagOUT()
		} else if cr.FlagOUT != nil {
			flag = *cr.FlagOUT
		}
		set(&res.Timeout, cr.Timeout)
		set(&res.Retries, cr.Retries)
		set(&res.Delay, cr.Delay)
		set(&res.NextQueryFlagIN, cr.NextQueryFlagIN)
		set(&res.MirrorFlagOUT, cr.MirrorFlagOUT)
		set(&res.MirrorHostgroup, cr.MirrorHostgroup)
		if cr.ErrorMsg != nil {
			res.ErrorMsg = cr.ErrorMsg
		}
		if cr.OKMsg != nil {
			res.OKMsg = cr.OKMsg
		}
		set(&res.CacheTTL, cr.CacheTTL)
		set(&res.CacheEmptyResult, cr.CacheEmptyResult)
		set(&res.Multiplex, cr.Multiplex)
		set(&res.Log, cr.Log)
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
			applied = true
			break
		}
	}
	if !applied && r.fast != nil {
		if hg, ok := r.fast[fastKey{in.Username, in.Schema, flag}]; ok {
			res.DestinationHostgroup = hg
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

// Annotations are the key=value pairs of a query's first comment;
// -1 means "not given".
type Annotations struct {
	Hostgroup, Mirror, CacheTTL, QueryDelay, QueryRetries, QueryTimeout int
	// MaxLagMs comes from max_lag_ms, or from min_epoch_ms as "now minus
	// that epoch"; both must end up in [0, 600000].
	MaxLagMs            int
	MinGTID             string
	CreateNewConnection bool
}

// ParseAnnotations parses "hostgroup=20;query_timeout=500" the way ProxySQL
// does: keys are case-insensitive, spaces are ignored, a numeric value
// counts only if it starts with a digit and is read up to the first
// non-digit (atoi), unknown keys are ignored.
func ParseAnnotations(comment string) Annotations {
	a := Annotations{Hostgroup: -1, Mirror: -1, CacheTTL: -1, QueryDelay: -1, QueryRetries: -1, QueryTimeout: -1, MaxLagMs: -1}
	if !strings.Contains(comment, "=") {
		return a
	}
	for _, kv := range strings.Split(comment, ";") {
		k, v, _ := strings.Cut(kv, "=")
		k, v = strings.ReplaceAll(k, " ", ""), strings.ReplaceAll(v, " ", "")
		k = strings.ToLower(strings.Trim(k, "\t\r\n"))
		v = strings.Trim(v, "\t\r\n")
		n, isNum := leadingInt(v)
		switch k {
		case "create_new_connection":
			a.CreateNewConnection = isNum && n == 1
		case "min_gtid":
			if u, trx, ok := strings.Cut(v, ":"); ok && u != "" && trx != "" {
				a.MinGTID = v
			}
		}
		if !isNum {
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
		case "max_lag_ms":
			if n <= 600000 {
				a.MaxLagMs = n
			}
		case "min_epoch_ms":
			if d := int(time.Now().UnixMilli()) - n; d >= 0 && d <= 600000 {
				a.MaxLagMs = d
			}
		}
	}
	return a
}

// leadingInt reads the decimal digits at the start of v (C's atoi for
// values that start with a digit), capped to avoid overflow.
func leadingInt(v string) (int, bool) {
	if v == "" || v[0] < '0' || v[0] > '9' {
		return 0, false
	}
	n := 0
	for i := 0; i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
		if n < 1<<40 {
			n = n*10 + int(v[i]-'0')
		}
	}
	return n, true
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

// prefix is a literal that every match of a regex starts with, at offset
// 0: most rules are anchored literals ("^SELECT c FROM t WHERE"), and a
// statement that does not start with the literal cannot match, which one
// comparison tells instead of a run of the regex. With a thousand such
// rules that is the difference between a thousand regex runs per
// statement and a thousand string comparisons.
type prefix struct {
	lit  string
	fold bool // ASCII letters match either case (re_modifiers CASELESS, ProxySQL's default)
}

// anchoredPrefix is re's prefix; the zero prefix (which rejects nothing)
// when it has none. A case-insensitive prefix is kept only when it is
// ASCII.
func anchoredPrefix(re *regexp.Regexp) prefix {
	if re == nil {
		return prefix{}
	}
	p, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return prefix{}
	}
	p = p.Simplify()
	if p.Op != syntax.OpConcat || len(p.Sub) < 2 || p.Sub[0].Op != syntax.OpBeginText || p.Sub[1].Op != syntax.OpLiteral {
		return prefix{}
	}
	lit := p.Sub[1]
	fold := lit.Flags&syntax.FoldCase != 0
	for _, r := range lit.Rune {
		if fold && r >= utf8.RuneSelf {
			return prefix{}
		}
	}
	return prefix{lit: string(lit.Rune), fold: fold}
}

// rejects reports whether s cannot match because it does not start with
// the prefix. Under case folding some non-ASCII runes match ASCII letters
// (U+017F matches s, U+212A matches k), so a non-ASCII byte where the
// prefix is leaves the decision to the regex; such runes are longer than
// the letters they match, so an s shorter than the prefix never matches.
func (p prefix) rejects(s string) bool {
	if len(s) < len(p.lit) {
		return true
	}
	if !p.fold {
		return s[:len(p.lit)] != p.lit
	}
	for i := 0; i < len(p.lit); i++ {
		c, l := s[i], p.lit[i]
		if c >= utf8.RuneSelf {
			return false
		}
		if c != l && lower(c) != lower(l) {
			return true
		}
	}
	return false
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// matches runs re on s unless its prefix already rules s out.
func matches(re *regexp.Regexp, p prefix, s string) bool {
	return !p.rejects(s) && re.MatchString(s)
}
