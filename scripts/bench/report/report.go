// Package report is what make bench writes and shows: the results file
// (bench/results/<date>.json), the tables printed at the end of a run,
// issue 14's targets evaluated against a run, and the README's
// Performance section generated from the newest results file.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// Target names, in table order.
const (
	Direct   = "direct"
	HAProxy  = "haproxy"
	ProxySQL = "proxysql"
	Sqlgate  = "sqlgate"
)

// Round1 and Round2 round to one and two decimals for the results file.
func Round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }
func Round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }
func Round3(v float64) float64 { return float64(int64(v*1000+0.5)) / 1000 }

// Machine is where a run ran.
type Machine struct {
	NProc      int       `json:"nproc"`
	CPU        string    `json:"cpu"`
	MemGiB     float64   `json:"mem_gib"`
	Kernel     string    `json:"kernel"`
	OS         string    `json:"os,omitempty"`
	LoadBefore []float64 `json:"load_before"`
	LoadAfter  []float64 `json:"load_after"`
}

type Meta struct {
	Date          string   `json:"date"`
	Args          []string `json:"args"`
	WallSeconds   float64  `json:"wall_seconds"`
	SecondsPerRun int      `json:"seconds_per_run"`
	WarmupSeconds int      `json:"warmup_seconds"`
	// Rounds is how many runs a sysbench row is made of: the targets in
	// order, then in reverse, and so on, each measured for
	// SecondsPerRun/Rounds (0 in files written before rounds: one run).
	Rounds         int                `json:"rounds,omitempty"`
	Tables         int                `json:"tables"`
	TableSize      int                `json:"table_size"`
	ProxyThreads   int                `json:"proxy_threads"`
	GOMAXPROCS     int                `json:"sqlgate_gomaxprocs"`
	Targets        []string           `json:"targets"`
	Sections       []string           `json:"sections"`
	MonitorWindowS float64            `json:"monitor_window_s,omitempty"`
	SectionSeconds map[string]float64 `json:"section_seconds"`
	RuleDigest     string             `json:"rule_match_digest,omitempty"`
	Machine        Machine            `json:"machine"`
	Versions       map[string]string  `json:"versions"`
}

// Goal is one of issue 14's targets and what this run achieved.
type Goal struct {
	Measure  string  `json:"measure"`
	Target   string  `json:"target"`
	Value    float64 `json:"value"`
	Achieved string  `json:"achieved"`
	Status   string  `json:"status"` // pass, miss, n/a
}

type Results struct {
	Meta     Meta          `json:"meta"`
	Sysbench []SysbenchRow `json:"sysbench"`
	Idle     []IdleRow     `json:"idle"`
	Storm    []StormRow    `json:"storm"`
	Rules    []RulesRow    `json:"rules"`
	Targets  []Goal        `json:"targets"`
	Monitor  []MonitorRow  `json:"monitor"`
	Cluster  []ClusterRow  `json:"cluster"`
}

func (r *Results) Write(dir string, started time.Time) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, started.Format("2006-01-02")+".json")
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	return path, os.WriteFile(path, append(b, '\n'), 0o644)
}

// key of a sysbench row without the target.
func rowKey(s SysbenchRow) string {
	return fmt.Sprintf("%s/%d/%s", s.Workload, s.Threads, s.Protocol)
}

func ratio(a, b float64) float64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	return Round2(a / b)
}

// evaluate fills the ratio columns and returns the targets of issue 14.
func Evaluate(r *Results) []Goal {
	by := map[string]*SysbenchRow{}
	for i := range r.Sysbench {
		s := &r.Sysbench[i]
		by[rowKey(*s)+"/"+s.Target] = s
	}
	for i := range r.Sysbench {
		s := &r.Sysbench[i]
		k := rowKey(*s)
		if s.Failed != "" {
			continue
		}
		if p := by[k+"/"+ProxySQL]; p != nil && p.Failed == "" && s.Target != Direct {
			s.QPSvsProxySQL, s.CPUvsProxySQL = ratio(s.QPS, p.QPS), ratio(s.CPUusPerQ, p.CPUusPerQ)
		}
		if h := by[k+"/"+HAProxy]; h != nil && h.Failed == "" && s.Target != Direct {
			s.QPSvsHAProxy, s.CPUvsHAProxy = ratio(s.QPS, h.QPS), ratio(s.CPUusPerQ, h.CPUusPerQ)
		}
		if d := by[k+"/"+Direct]; d != nil && d.Failed == "" && s.Target != Direct && d.P50ms > 0 {
			v := Round1((s.P50ms - d.P50ms) * 1000)
			s.AddedP50us = &v
		}
	}
	var goals []Goal
	na := func(measure, target, why string) {
		goals = append(goals, Goal{Measure: measure, Target: target, Achieved: why, Status: "n/a"})
	}
	check := func(measure, target string, v float64, ok bool, achieved string) {
		st := "miss"
		if ok {
			st = "pass"
		}
		goals = append(goals, Goal{Measure: measure, Target: target, Value: v, Achieved: achieved, Status: st})
	}
	// worst sqlgate/ProxySQL ratio over the rows sel selects.
	worst := func(sel func(s *SysbenchRow) bool, val func(s *SysbenchRow) float64, higherWorse bool) (float64, *SysbenchRow, int) {
		var w float64
		var where *SysbenchRow
		n := 0
		for i := range r.Sysbench {
			s := &r.Sysbench[i]
			if s.Target != Sqlgate || !sel(s) {
				continue
			}
			v := val(s)
			if v == 0 {
				continue
			}
			n++
			if n == 1 || (higherWorse && v > w) || (!higherWorse && v < w) {
				w, where = v, s
			}
		}
		return w, where, n
	}
	havePS := slices.Contains(r.Meta.Targets, ProxySQL)
	const noPS = "no ProxySQL in this run"
	for _, proto := range []string{"text", "ps"} {
		m := "added latency over direct, 1 thread point_select p50 (" + proto + ")"
		sg, ps, d := by["point_select/1/"+proto+"/"+Sqlgate], by["point_select/1/"+proto+"/"+ProxySQL], by["point_select/1/"+proto+"/"+Direct]
		switch {
		case !havePS:
			na(m, "≤ ProxySQL's", noPS)
		case sg == nil || ps == nil || d == nil || sg.AddedP50us == nil || ps.AddedP50us == nil:
			na(m, "≤ ProxySQL's", "not measured")
		default:
			a, b := *sg.AddedP50us, *ps.AddedP50us
			check(m, "≤ ProxySQL's", a, a <= b, fmt.Sprintf("sqlgate %+.0f µs, ProxySQL %+.0f µs", a, b))
		}
	}
	cpu := func(s *SysbenchRow) float64 { return s.CPUvsProxySQL }
	qps := func(s *SysbenchRow) float64 { return s.QPSvsProxySQL }
	for _, g := range []struct {
		measure, target string
		limit           float64
		atMost          bool // the ratio must stay at or below limit (CPU), else at or above (QPS)
		sel             func(*SysbenchRow) bool
		val             func(*SysbenchRow) float64
	}{
		{"proxy CPU µs/query at 1 thread, sqlgate / ProxySQL", "≤ 1.0", 1.0, true,
			func(s *SysbenchRow) bool { return s.Threads == 1 }, cpu},
		{"proxy CPU µs/query, sqlgate / ProxySQL, 4 and 32 threads, point_select and read_only", "≤ 0.85", 0.85, true,
			func(s *SysbenchRow) bool {
				return (s.Threads == 4 || s.Threads == 32) && (s.Workload == "point_select" || s.Workload == "read_only")
			}, cpu},
		{"QPS, sqlgate / ProxySQL, every row", "≥ 1.0", 1.0, false, func(*SysbenchRow) bool { return true }, qps},
	} {
		w, where, n := worst(g.sel, g.val, g.atMost)
		switch {
		case !havePS:
			na(g.measure, g.target, noPS)
		case n == 0:
			na(g.measure, g.target, "not measured")
		default:
			ok := w >= g.limit
			if g.atMost {
				ok = w <= g.limit
			}
			a := fmt.Sprintf("worst %.2f (%s %d thr %s) of %d rows", w, where.Workload, where.Threads, where.Protocol, n)
			// The kernel's part of sqlgate's CPU, against ProxySQL's whole
			// CPU, is the floor of the ratio that no user-space work can lower.
			if p := by[rowKey(*where)+"/"+ProxySQL]; g.atMost && p != nil && where.SysUsPerQ > 0 && p.CPUusPerQ > 0 {
				a += fmt.Sprintf("; its kernel time alone is %.2f of ProxySQL's CPU", where.SysUsPerQ/p.CPUusPerQ)
				// HAProxy relays the same bytes without parsing them: its
				// ratio is what an I/O design alone reaches.
				if h := by[rowKey(*where)+"/"+HAProxy]; h != nil && h.CPUvsProxySQL > 0 {
					a += fmt.Sprintf(", HAProxy's CPU %.2f of it", h.CPUvsProxySQL)
				}
			}
			check(g.measure, g.target, w, ok, a)
		}
	}
	m := "RSS per idle client connection"
	var idleSG, idlePS *IdleRow
	for i := range r.Idle {
		switch r.Idle[i].Target {
		case Sqlgate:
			idleSG = &r.Idle[i]
		case ProxySQL:
			idlePS = &r.Idle[i]
		}
	}
	if idleSG == nil || idleSG.Conns == 0 {
		na(m, "≤ 16 KiB", "not measured")
	} else {
		a := fmt.Sprintf("%.1f KiB at %d connections", idleSG.KiBPerConn, idleSG.Conns)
		if idlePS != nil && idlePS.Conns > 0 {
			a += fmt.Sprintf(" (ProxySQL %.1f KiB)", idlePS.KiBPerConn)
		}
		if idleSG.Conns < idleSG.Wanted {
			a += fmt.Sprintf("; only %d of %d opened", idleSG.Conns, idleSG.Wanted)
		}
		check(m+fmt.Sprintf(" at %d connections", idleSG.Wanted), "≤ 16 KiB", idleSG.KiBPerConn, idleSG.KiBPerConn <= 16, a)
	}
	m = "QPS with query rules / 0 rules"
	var sgRules, psRules float64
	nRules := 0
	for _, x := range r.Rules {
		if x.Rules > 0 && x.VsNoRules > 0 {
			nRules = x.Rules
			switch x.Target {
			case Sqlgate:
				sgRules = x.VsNoRules
			case ProxySQL:
				psRules = x.VsNoRules
			}
		}
	}
	if sgRules == 0 {
		na(m, "≥ 0.90", "not measured")
	} else {
		a := fmt.Sprintf("%.2f", sgRules)
		if psRules > 0 {
			a += fmt.Sprintf(" (ProxySQL %.2f)", psRules)
		}
		check(strings.Replace(m, "query rules", fmt.Sprintf("%d query rules", nRules), 1), "≥ 0.90", sgRules, sgRules >= 0.90, a)
	}
	return goals
}

var targetTitle = map[string]string{Direct: "direct", HAProxy: "HAProxy", ProxySQL: "ProxySQL", Sqlgate: "sqlgate"}

func fmtRatio(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

func header(w io.Writer, r *Results) {
	m := r.Meta
	v := m.Versions
	fmt.Fprintf(w, "sqlgate benchmark %s | %d CPUs (%s), %.0f GiB, kernel %s | load %s before, %s after\n",
		m.Date, m.Machine.NProc, m.Machine.CPU, m.Machine.MemGiB, m.Machine.Kernel, fmtLoad(m.Machine.LoadBefore), fmtLoad(m.Machine.LoadAfter))
	fmt.Fprintf(w, "%s (GOMAXPROCS=%d) | %s (mysql-threads=%d) | %s | %s | %s\n",
		v["sqlgate"], m.GOMAXPROCS, orNone(v["proxysql"], "no ProxySQL"), m.ProxyThreads, v["haproxy"], v["mariadb"], v["sysbench"])
	fmt.Fprintf(w, "%s; sysbench %d tables x %d rows; text = --db-ps-mode=disable, ps = auto\n",
		m.measured(), m.Tables, m.TableSize)
}

// measured says how long a sysbench row was measured.
func (m Meta) measured() string {
	if m.Rounds > 1 {
		return fmt.Sprintf("%d s measured per row, in %d rounds of %d s with the targets in alternating order (drift between a row's targets cancels), each after %d s of warm-up",
			m.Rounds*RoundSeconds(m.SecondsPerRun, m.Rounds), m.Rounds, RoundSeconds(m.SecondsPerRun, m.Rounds), m.WarmupSeconds)
	}
	return fmt.Sprintf("%d s measured per row after %d s of warm-up", m.SecondsPerRun, m.WarmupSeconds)
}

// RoundSeconds is how long each of rounds runs of a row is measured.
func RoundSeconds(seconds, rounds int) int {
	if rounds <= 1 {
		return seconds
	}
	return max(1, (seconds+rounds-1)/rounds)
}

// MergeRounds makes one row of the rounds of one target's run: the
// counts add up, QPS and TPS are over the total time, CPU per query is
// over all queries, and the latency percentiles are the rounds' mean
// (sysbench reports no histogram to merge).
func MergeRounds(rs []SysbenchRow) SysbenchRow {
	if len(rs) == 0 {
		return SysbenchRow{}
	}
	m := rs[0]
	if len(rs) == 1 {
		return m
	}
	var secs, tx, cpu, sys, moves, p50, p95, p99, other float64
	var queries, movesQueries int64
	m.Errors, m.Reconnects = 0, 0
	for _, r := range rs {
		if m.Failed == "" {
			m.Failed = r.Failed
		}
		secs += r.Seconds
		tx += r.TPS * r.Seconds
		queries += r.Queries
		cpu += r.CPUusPerQ * float64(r.Queries)
		sys += r.SysUsPerQ * float64(r.Queries)
		if r.MovesPerQ != nil {
			moves += *r.MovesPerQ * float64(r.Queries)
			movesQueries += r.Queries
		}
		p50, p95, p99 = p50+r.P50ms, p95+r.P95ms, p99+r.P99ms
		other += r.OtherCPU
		m.Errors += r.Errors
		m.Reconnects += r.Reconnects
		m.RSSMB = max(m.RSSMB, r.RSSMB)
	}
	n := float64(len(rs))
	m.Seconds, m.Queries = Round2(secs), queries
	if secs > 0 {
		m.QPS, m.TPS = Round1(float64(queries)/secs), Round1(tx/secs)
	}
	if queries > 0 && m.CPUusPerQ > 0 {
		m.CPUusPerQ = Round1(cpu / float64(queries))
		m.SysUsPerQ = Round1(sys / float64(queries))
	}
	m.MovesPerQ = nil
	if movesQueries > 0 {
		v := Round2(moves / float64(movesQueries))
		m.MovesPerQ = &v
	}
	m.P50ms, m.P95ms, m.P99ms = Round3(p50/n), Round3(p95/n), Round3(p99/n)
	m.OtherCPU = Round2(other / n)
	return m
}

func orNone(s, none string) string {
	if s == "" {
		return none
	}
	return s
}

func fmtLoad(l []float64) string {
	if len(l) < 3 {
		return "?"
	}
	return fmt.Sprintf("%.2f/%.2f/%.2f", l[0], l[1], l[2])
}

// printAll prints the run: the sysbench table (one line per target, with
// its ratios to ProxySQL and HAProxy and the machine's load), the idle,
// storm and rules sections, the targets and sqlgate's monitor and cluster
// measurements.
func PrintAll(w io.Writer, r *Results) {
	fmt.Fprintln(w)
	header(w, r)
	if len(r.Sysbench) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "%-12s %3s %-4s %-8s | %8s %7s %7s %7s %7s | %7s %5s %5s %6s | %5s %5s | %5s %5s | %5s %5s %s\n",
			"workload", "thr", "prot", "target", "QPS", "p50ms", "p95ms", "p99ms", "+p50us", "cpuus/q", "sys", "mv/q", "rssMB",
			"q/PS", "c/PS", "q/HA", "c/HA", "load", "other", "errors")
		prev := ""
		for _, s := range r.Sysbench {
			if k := rowKey(s); k != prev && prev != "" {
				fmt.Fprintln(w)
			}
			prev = rowKey(s)
			cpu, sys, moves, rss, added := "-", "-", "-", "-", "-"
			if s.CPUusPerQ > 0 {
				cpu, rss = fmt.Sprintf("%.1f", s.CPUusPerQ), fmt.Sprintf("%.1f", s.RSSMB)
			}
			if s.SysUsPerQ > 0 {
				sys = fmt.Sprintf("%.1f", s.SysUsPerQ)
			}
			if s.MovesPerQ != nil {
				moves = fmt.Sprintf("%.2f", *s.MovesPerQ)
			}
			if s.AddedP50us != nil {
				added = fmt.Sprintf("%+.0f", *s.AddedP50us)
			}
			errs := fmt.Sprint(s.Errors + s.Reconnects)
			if s.Failed != "" {
				errs = "FAILED"
			}
			fmt.Fprintf(w, "%-12s %3d %-4s %-8s | %8.0f %7.3f %7.3f %7.3f %7s | %7s %5s %5s %6s | %5s %5s | %5s %5s | %5.2f %5.2f %s\n",
				s.Workload, s.Threads, s.Protocol, s.Target, s.QPS, s.P50ms, s.P95ms, s.P99ms, added, cpu, sys, moves, rss,
				fmtRatio(s.QPSvsProxySQL), fmtRatio(s.CPUvsProxySQL), fmtRatio(s.QPSvsHAProxy), fmtRatio(s.CPUvsHAProxy),
				s.Load1, s.OtherCPU, errs)
		}
		fmt.Fprintln(w, "\np50/p95/p99 per sysbench event (one query for point_select, a transaction otherwise); +p50us over direct;")
		fmt.Fprintln(w, "cpuus/q: the proxy's CPU (/proc utime+stime) per query, sys: the kernel's part of it (stime); mv/q: times per query the kernel moved")
		fmt.Fprintln(w, "a proxy thread to another CPU (se.nr_migrations); q/PS, c/PS, q/HA, c/HA: QPS and CPU per query against")
		fmt.Fprintln(w, "ProxySQL's and HAProxy's in the same row; load: 1-minute load average at the start; other: CPUs busy outside")
		fmt.Fprintln(w, "sysbench, MariaDB and the proxies during the run (other users of the machine); errors: ignored errors + reconnects.")
	}
	if len(r.Idle) > 0 {
		fmt.Fprintln(w, "\nIdle client connections (logged in, then idle; not through HAProxy, where each is a MariaDB connection):")
		fmt.Fprintf(w, "%-8s %7s %8s %10s %10s %10s %11s  %s\n", "target", "conns", "open s", "RSS before", "RSS after", "KiB/conn", "cpuus/login", "")
		for _, x := range r.Idle {
			fmt.Fprintf(w, "%-8s %7d %8.1f %8.1fMB %8.1fMB %10.2f %11.1f  %s\n", x.Target, x.Conns, x.OpenSeconds, x.RSSBeforeMB, x.RSSAfterMB, x.KiBPerConn, x.CPUusPerCon, x.Error)
		}
	}
	if len(r.Storm) > 0 {
		fmt.Fprintf(w, "\nConnection storm (%d clients: connect, SELECT 1, quit, as fast as possible):\n", r.Storm[0].Workers)
		fmt.Fprintf(w, "%-8s %8s %8s %7s %7s %11s %5s %5s %6s  %s\n", "target", "conns", "conns/s", "p50ms", "p99ms", "cpuus/conn", "x/PS", "x/HA", "errors", "")
		rate := map[string]float64{}
		for _, x := range r.Storm {
			rate[x.Target] = x.ConnsPerS
		}
		for _, x := range r.Storm {
			fmt.Fprintf(w, "%-8s %8d %8.0f %7.2f %7.2f %11.1f %5s %5s %6d  %s\n", x.Target, x.Conns, x.ConnsPerS, x.P50ms, x.P99ms, x.CPUusPerConn,
				fmtRatio(ratio(x.ConnsPerS, rate[ProxySQL])), fmtRatio(ratio(x.ConnsPerS, rate[HAProxy])), x.Errors, x.FirstError)
		}
	}
	if len(r.Rules) > 0 {
		fmt.Fprintf(w, "\nQuery rules (none matching), point_select %d threads text:\n", r.Rules[0].Threads)
		fmt.Fprintf(w, "%-8s %6s %13s %8s %7s %8s %8s  %s\n", "target", "rules", "fast-routing", "QPS", "p50ms", "cpuus/q", "vs 0", "")
		for _, x := range r.Rules {
			note := x.Failed
			if x.Again {
				note = strings.TrimSpace("again, vs the first " + note)
			}
			fmt.Fprintf(w, "%-8s %6d %13d %8.0f %7.3f %8.1f %8s  %s\n", x.Target, x.Rules, x.FastRouting, x.QPS, x.P50ms, x.CPUusPerQ, fmtRatio(x.VsNoRules), note)
		}
		fmt.Fprintln(w, "vs 0: QPS against the mean of the two 0-rule runs (the first and the last)")
	}
	if len(r.Targets) > 0 && hasAny(r.Meta.Sections, "sysbench", "idle", "rules") {
		fmt.Fprintln(w, "\nTargets (issue 14, this run):")
		for _, g := range r.Targets {
			fmt.Fprintf(w, "  %-4s  %-88s %-7s %s\n", strings.ToUpper(g.Status), g.Measure, g.Target, g.Achieved)
		}
	}
	if len(r.Meta.SectionSeconds) > 0 {
		var parts []string
		for _, k := range []string{"setup", "sysbench", "idle", "storm", "rules", "monitor", "cluster"} {
			if v, ok := r.Meta.SectionSeconds[k]; ok {
				parts = append(parts, fmt.Sprintf("%s %.0f s", k, v))
			}
		}
		fmt.Fprintf(w, "\nWall time %.0f s: %s.\n", r.Meta.WallSeconds, strings.Join(parts, ", "))
	}
	if len(r.Monitor) > 0 {
		PrintMonitor(w, r.Monitor, time.Duration(r.Meta.MonitorWindowS*float64(time.Second)))
	}
	if len(r.Cluster) > 0 {
		PrintCluster(w, r.Cluster)
	}
}

const (
	markBegin = "<!-- bench:begin -->"
	markEnd   = "<!-- bench:end -->"
	// The design check (-design) has its own results directory and its
	// own place in the README.
	designBegin = "<!-- design:begin -->"
	designEnd   = "<!-- design:end -->"
	// GoRelay, EpollRelay and URingRelay are the design check's bare
	// relays.
	GoRelay    = "go-relay"
	EpollRelay = "ep-relay"
	URingRelay = "ur-relay"
)

// IsDesign: the results are a design check's (a bare relay was a target).
func (r *Results) IsDesign() bool {
	return slices.Contains(r.Meta.Targets, GoRelay) || slices.Contains(r.Meta.Targets, EpollRelay) || slices.Contains(r.Meta.Targets, URingRelay)
}

// newestResults is the newest <date>.json in dir.
func NewestResults(dir string) (string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "????-??-??.json"))
	if err != nil {
		return "", err
	}
	if len(files) == 0 {
		return "", fmt.Errorf("no results in %s: run make bench", dir)
	}
	sort.Strings(files)
	return files[len(files)-1], nil
}

// writeReadme replaces what is between the markers in readme with tables
// made from the newest results file.
func WriteReadme(dir, readme string) error {
	path, err := NewestResults(dir)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	doc, err := os.ReadFile(readme)
	if err != nil {
		return err
	}
	s := string(doc)
	begin, end, tables := markBegin, markEnd, readmeTables
	if r.IsDesign() {
		begin, end, tables = designBegin, designEnd, designTable
	}
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s: no %s ... %s markers", readme, begin, end)
	}
	var md strings.Builder
	tables(&md, &r, filepath.ToSlash(path))
	s = s[:i+len(begin)] + "\n" + md.String() + s[j:]
	if err := os.WriteFile(readme, []byte(s), 0o644); err != nil {
		return err
	}
	fmt.Printf("%s: Performance table rewritten from %s\n", readme, path)
	return nil
}

func num(v float64) string {
	if v == 0 {
		return "-"
	}
	s := fmt.Sprintf("%.0f", v)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// ms prints milliseconds with three significant digits or more.
func ms(v float64) string {
	switch {
	case v < 10:
		return fmt.Sprintf("%.3f", v)
	case v < 100:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// designTable: per thread count, each target's CPU per query (and the
// kernel's part of it) and added p50 latency over direct.
func designTable(w io.Writer, r *Results, path string) {
	m := r.Meta
	fmt.Fprintf(w, "<!-- generated by `go run ./scripts/bench -design -readme` from %s; do not edit by hand -->\n", path)
	fmt.Fprintf(w, "From [`%s`](%s), written by `make bench-design` on %s: %d CPUs (%s), load average %s before;\n",
		path, path, strings.TrimSuffix(strings.Replace(m.Date, "T", " ", 1), "Z")+" UTC", m.Machine.NProc, m.Machine.CPU, fmtLoad(m.Machine.LoadBefore))
	fmt.Fprintf(w, "%s (GOMAXPROCS=%d, as the relays), %s with `mysql-threads=%d` (the epoll and io_uring relays have as many loops), %s; %s.\n",
		m.Versions["sqlgate"], m.GOMAXPROCS, orNone(m.Versions["proxysql"], "no ProxySQL"), m.ProxyThreads, m.Versions["haproxy"], m.measured())
	names := map[string]string{HAProxy: "HAProxy TCP", GoRelay: "bare relay, goroutines", EpollRelay: "bare relay, epoll loop", URingRelay: "bare relay, io_uring loop", ProxySQL: "ProxySQL", Sqlgate: "sqlgate"}
	var cols []string
	for _, t := range m.Targets {
		if t != Direct {
			cols = append(cols, t)
		}
	}
	fmt.Fprintln(w, "\npoint_select, text protocol: proxy CPU µs per query (of it in the kernel), added p50 µs over direct, and where measured how often per query the kernel moved one of the proxy's threads to another CPU:")
	fmt.Fprintln(w)
	fmt.Fprint(w, "| threads |")
	for _, c := range cols {
		fmt.Fprintf(w, " %s |", orNone(names[c], c))
	}
	fmt.Fprint(w, "\n|---|")
	fmt.Fprint(w, strings.Repeat("---|", len(cols)))
	fmt.Fprintln(w)
	by := map[string]SysbenchRow{}
	var keys []string
	for _, s := range r.Sysbench {
		k := rowKey(s)
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
		by[k+"/"+s.Target] = s
	}
	for _, k := range keys {
		fmt.Fprintf(w, "| %s |", strings.Split(k, "/")[1])
		for _, c := range cols {
			s, ok := by[k+"/"+c]
			switch {
			case !ok:
				fmt.Fprint(w, " - |")
			case s.Failed != "":
				fmt.Fprint(w, " failed |")
			default:
				added := "-"
				if s.AddedP50us != nil {
					added = fmt.Sprintf("%+.0f", *s.AddedP50us)
				}
				moves := ""
				if s.MovesPerQ != nil {
					moves = fmt.Sprintf(", %.2f moves", *s.MovesPerQ)
				}
				fmt.Fprintf(w, " %.1f (%.1f), %s%s |", s.CPUusPerQ, s.SysUsPerQ, added, moves)
			}
		}
		fmt.Fprintln(w)
	}
}

func readmeTables(w io.Writer, r *Results, path string) {
	m := r.Meta
	v := m.Versions
	fmt.Fprintf(w, "<!-- generated by `go run ./scripts/bench -readme` from %s; do not edit by hand -->\n", path)
	fmt.Fprintf(w, "From [`%s`](%s), written by `make bench` on %s: %d CPUs (%s), load average %s before and %s after;\n",
		path, path, strings.TrimSuffix(strings.Replace(m.Date, "T", " ", 1), "Z")+" UTC", m.Machine.NProc, m.Machine.CPU,
		fmtLoad(m.Machine.LoadBefore), fmtLoad(m.Machine.LoadAfter))
	fmt.Fprintf(w, "%s (GOMAXPROCS=%d), %s, both `mysql-threads=%d` from the same proxysql.cnf, %s, %s, %s;\n",
		v["sqlgate"], m.GOMAXPROCS, orNone(v["proxysql"], "no ProxySQL"), m.ProxyThreads, v["haproxy"], v["mariadb"], v["sysbench"])
	fmt.Fprintf(w, "%s. Client, MariaDB and proxy share the CPUs: compare within this run.\n", m.measured())
	if len(m.Args) > 0 {
		fmt.Fprintf(w, "Run with `%s` (not the full default run).\n", strings.Join(m.Args, " "))
	}
	if m.SecondsPerRun < 5 {
		fmt.Fprintf(w, "\n**A smoke run (%d s per row): too short to compare anything; the next full `make bench` replaces it.**\n", m.SecondsPerRun)
	}
	if len(r.Sysbench) > 0 {
		fmt.Fprintln(w, "\nQPS (proxy CPU µs per query, of it in the kernel; p50 ms per event) and sqlgate against ProxySQL:")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| workload | threads | protocol | direct | HAProxy TCP | ProxySQL | sqlgate | sqlgate / ProxySQL: QPS, CPU |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
		type row struct {
			k  string
			by map[string]SysbenchRow
		}
		var rows []*row
		idx := map[string]*row{}
		for _, s := range r.Sysbench {
			k := rowKey(s)
			if idx[k] == nil {
				idx[k] = &row{k: k, by: map[string]SysbenchRow{}}
				rows = append(rows, idx[k])
			}
			idx[k].by[s.Target] = s
		}
		cell := func(s SysbenchRow, ok bool) string {
			switch {
			case !ok:
				return "-"
			case s.Failed != "":
				return "failed"
			case s.CPUusPerQ > 0 && s.SysUsPerQ > 0:
				return fmt.Sprintf("%s (%.1f, %.1f; %s)", num(s.QPS), s.CPUusPerQ, s.SysUsPerQ, ms(s.P50ms))
			case s.CPUusPerQ > 0:
				return fmt.Sprintf("%s (%.1f; %s)", num(s.QPS), s.CPUusPerQ, ms(s.P50ms))
			default:
				return fmt.Sprintf("%s (%s)", num(s.QPS), ms(s.P50ms))
			}
		}
		for _, x := range rows {
			sg, ok := x.by[Sqlgate]
			vs := "-"
			if ok && sg.QPSvsProxySQL > 0 {
				vs = fmt.Sprintf("%.2f, %s", sg.QPSvsProxySQL, fmtRatio(sg.CPUvsProxySQL))
			}
			parts := strings.Split(x.k, "/")
			d, okd := x.by[Direct]
			h, okh := x.by[HAProxy]
			p, okp := x.by[ProxySQL]
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", parts[0], parts[1], parts[2],
				cell(d, okd), cell(h, okh), cell(p, okp), cell(sg, ok), vs)
		}
	}
	if len(r.Targets) > 0 && hasAny(r.Meta.Sections, "sysbench", "idle", "rules") {
		fmt.Fprintln(w, "\nIssue 14's targets in this run:")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| measure | target | achieved | |")
		fmt.Fprintln(w, "|---|---|---|---|")
		for _, g := range r.Targets {
			fmt.Fprintf(w, "| %s | %s | %s | %s |\n", g.Measure, g.Target, g.Achieved, g.Status)
		}
	}
	if len(r.Idle) > 0 || len(r.Storm) > 0 || len(r.Rules) > 0 {
		fmt.Fprintln(w, "\nConnections and rules:")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| measure | direct | HAProxy | ProxySQL | sqlgate |")
		fmt.Fprintln(w, "|---|---|---|---|---|")
		line := func(name string, val map[string]string) {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", name, orNone(val[Direct], "-"), orNone(val[HAProxy], "-"), orNone(val[ProxySQL], "-"), orNone(val[Sqlgate], "-"))
		}
		if len(r.Idle) > 0 {
			val := map[string]string{}
			n := 0
			for _, x := range r.Idle {
				if x.Conns > 0 {
					val[x.Target] = fmt.Sprintf("%.1f KiB (%.0f → %.0f MB)", x.KiBPerConn, x.RSSBeforeMB, x.RSSAfterMB)
				}
				n = max(n, x.Wanted)
			}
			line(fmt.Sprintf("RSS per idle client connection, %s connections", num(float64(n))), val)
		}
		if len(r.Storm) > 0 {
			val := map[string]string{}
			for _, x := range r.Storm {
				s := fmt.Sprintf("%s/s, p99 %.1f ms", num(x.ConnsPerS), x.P99ms)
				if x.CPUusPerConn > 0 {
					s += fmt.Sprintf(", %.0f µs CPU", x.CPUusPerConn)
				}
				if x.Errors > 0 {
					s += fmt.Sprintf(", %d errors", x.Errors)
				}
				val[x.Target] = s
			}
			line(fmt.Sprintf("connection storm (%d clients: connect, SELECT 1, quit)", r.Storm[0].Workers), val)
		}
		cases := map[string]map[string]string{}
		var order []string
		for _, x := range r.Rules {
			name := "point_select, 0 rules"
			switch {
			case x.Again:
				name = "point_select, 0 rules again"
			case x.Rules > 0:
				name = fmt.Sprintf("point_select, %s query rules", num(float64(x.Rules)))
			case x.FastRouting > 0:
				name = fmt.Sprintf("point_select, %s fast-routing entries", num(float64(x.FastRouting)))
			}
			name += fmt.Sprintf(" (%d threads, text)", x.Threads)
			if cases[name] == nil {
				cases[name] = map[string]string{}
				order = append(order, name)
			}
			s := num(x.QPS) + " QPS"
			switch {
			case x.Again && x.VsNoRules > 0:
				s += fmt.Sprintf(" (%.2f of the first)", x.VsNoRules)
			case x.VsNoRules > 0:
				s += fmt.Sprintf(" (%.2f of 0 rules)", x.VsNoRules)
			}
			if x.Failed != "" {
				s = "failed"
			}
			cases[name][x.Target] = s
		}
		for _, name := range order {
			line(name, cases[name])
		}
		if m.RuleDigest != "" && len(r.Rules) > 0 {
			fmt.Fprintf(w, "\nRule i has `match_digest='%s'` and fast-routing entry i is for schema `nomatch_i`: none matches, so every query is checked against all of them.\n",
				strings.ReplaceAll(m.RuleDigest, "%d", "i"))
		}
	}
	if len(r.Monitor) > 0 {
		var parts []string
		for _, x := range r.Monitor {
			parts = append(parts, fmt.Sprintf("%.1f %% of a core at %d ms checks", x.CPUPercent, x.IntervalMs))
		}
		fmt.Fprintf(w, "\nsqlgate's monitor with %d backends: %s.\n", r.Monitor[0].Backends, strings.Join(parts, ", "))
	}
	if len(r.Cluster) > 0 {
		var parts []string
		for _, x := range r.Cluster {
			c := append([]float64(nil), x.ConvergeMs...)
			sort.Float64s(c)
			if len(c) > 0 {
				parts = append(parts, fmt.Sprintf("%.1f s at %d ms", c[len(c)/2]/1000, x.IntervalMs))
			}
		}
		fmt.Fprintf(w, "Cluster of 2 cores + %d satellites (sqlgate): a rule change reaches every node in %s (median).\n", r.Cluster[0].Nodes-2, strings.Join(parts, ", "))
	}
}

// SysbenchRow is one (workload, threads, protocol, target) run.
type SysbenchRow struct {
	Workload   string  `json:"workload"`
	Threads    int     `json:"threads"`
	Protocol   string  `json:"protocol"` // text or ps
	Target     string  `json:"target"`
	Seconds    float64 `json:"seconds"` // measured
	QPS        float64 `json:"qps"`
	TPS        float64 `json:"tps"`
	Queries    int64   `json:"queries"`
	P50ms      float64 `json:"p50_ms"` // per sysbench event (a query for point_select, a transaction otherwise)
	P95ms      float64 `json:"p95_ms"`
	P99ms      float64 `json:"p99_ms"`
	Errors     int     `json:"errors"`
	Reconnects int     `json:"reconnects"`
	CPUusPerQ  float64 `json:"proxy_cpu_us_per_query,omitempty"`
	SysUsPerQ  float64 `json:"proxy_sys_us_per_query,omitempty"` // the kernel's part of CPUusPerQ (/proc stime)
	RSSMB      float64 `json:"proxy_rss_mb,omitempty"`
	// MovesPerQ: how often per query the kernel moved one of the proxy's
	// threads to another CPU (se.nr_migrations in /proc/<pid>/task/*/sched,
	// summed), nil where the kernel does not expose it. A thread moved at
	// each wake-up runs on a cold cache: at one client thread this is
	// where sqlgate's CPU per query differs from ProxySQL's on some kernels.
	MovesPerQ *float64 `json:"proxy_cpu_moves_per_query,omitempty"`
	Load1     float64  `json:"load1"`      // 1-minute load average when the run started
	OtherCPU  float64  `json:"other_cpus"` // CPUs busy outside sysbench, MariaDB and the proxies during the run
	Failed    string   `json:"failed,omitempty"`
	// Filled in by evaluate: this row against ProxySQL's and HAProxy's.
	QPSvsProxySQL float64  `json:"qps_vs_proxysql,omitempty"`
	CPUvsProxySQL float64  `json:"cpu_vs_proxysql,omitempty"`
	QPSvsHAProxy  float64  `json:"qps_vs_haproxy,omitempty"`
	CPUvsHAProxy  float64  `json:"cpu_vs_haproxy,omitempty"`
	AddedP50us    *float64 `json:"added_p50_us_over_direct,omitempty"`
}

// IdleRow: RSS of a proxy holding n logged-in, idle client connections.
type IdleRow struct {
	Target      string  `json:"target"`
	Wanted      int     `json:"wanted"`
	Conns       int     `json:"conns"`
	OpenSeconds float64 `json:"open_seconds"`
	RSSBeforeMB float64 `json:"rss_before_mb"`
	RSSAfterMB  float64 `json:"rss_after_mb"`
	KiBPerConn  float64 `json:"kib_per_conn"`
	CPUusPerCon float64 `json:"cpu_us_per_login"`
	Error       string  `json:"error,omitempty"`
}

// StormRow: connect, one query, quit, as fast as possible.
type StormRow struct {
	Target       string  `json:"target"`
	Workers      int     `json:"workers"`
	Seconds      float64 `json:"seconds"`
	Conns        int64   `json:"conns"`
	ConnsPerS    float64 `json:"conns_per_s"`
	P50ms        float64 `json:"p50_ms"`
	P99ms        float64 `json:"p99_ms"`
	CPUusPerConn float64 `json:"proxy_cpu_us_per_conn,omitempty"`
	Errors       int64   `json:"errors"`
	FirstError   string  `json:"first_error,omitempty"`
	Load1        float64 `json:"load1"`
}

// RulesRow is point_select through a proxy with some query rules or
// fast-routing entries loaded, none of which matches sysbench's queries.
type RulesRow struct {
	Target      string  `json:"target"`
	Threads     int     `json:"threads"`
	Rules       int     `json:"query_rules"`
	FastRouting int     `json:"fast_routing"`
	QPS         float64 `json:"qps"`
	P50ms       float64 `json:"p50_ms"`
	CPUusPerQ   float64 `json:"proxy_cpu_us_per_query"`
	// VsNoRules is QPS against the mean of the two 0-rule runs (for the
	// second 0-rule run, against the first: the drift during the section).
	VsNoRules float64 `json:"qps_vs_no_rules,omitempty"`
	Again     bool    `json:"again,omitempty"` // the second 0-rule run, after the others
	Failed    string  `json:"failed,omitempty"`
}

// MonitorRow is the monitor's own CPU at one check interval.
type MonitorRow struct {
	Backends    int     `json:"backends"`
	IntervalMs  int     `json:"interval_ms"` // ping, read_only and replication lag
	ChecksPerS  float64 `json:"checks_per_s"`
	CPUPercent  float64 `json:"cpu_percent_of_one_core"` // above the idle baseline
	CPUusPerChk float64 `json:"cpu_us_per_check"`
}

// ClusterRow is one convergence measurement.
type ClusterRow struct {
	Nodes         int       `json:"nodes"`
	IntervalMs    int       `json:"cluster_check_interval_ms"`
	Diffs         int       `json:"diffs_before_sync"`
	ConvergeMs    []float64 `json:"converge_ms"` // per trial: LOAD on core A to the last node's matching checksum
	CoreCPUPct    float64   `json:"core_cpu_percent_idle"`
	CoreCPUPctLd  float64   `json:"core_cpu_percent_during_sync"`
	PollsPerSec   float64   `json:"polls_per_s_served_by_core"`
	CoreCPUusPoll float64   `json:"core_cpu_us_per_poll"`
}

func PrintMonitor(w io.Writer, rs []MonitorRow, window time.Duration) {
	fmt.Fprintf(w, "\nMonitor CPU, %d backends (ping + read_only + replication lag checks each), %v per measurement, above an idle baseline:\n\n",
		rs[0].Backends, window)
	fmt.Fprintf(w, "%12s %10s %16s %14s\n", "interval", "checks/s", "CPU % of 1 core", "CPU us/check")
	for _, r := range rs {
		fmt.Fprintf(w, "%10dms %10.0f %16.2f %14.1f\n", r.IntervalMs, r.ChecksPerS, r.CPUPercent, r.CPUusPerChk)
	}
}

func PrintCluster(w io.Writer, rs []ClusterRow) {
	fmt.Fprintf(w, "\nCluster convergence: 2 cores + %d satellites (sqlgate processes on this machine), LOAD MYSQL QUERY RULES on core A\n\n", rs[0].Nodes-2)
	fmt.Fprintf(w, "%12s %6s %28s %16s %18s %14s\n", "interval", "diffs", "to last node: min/med/max ms", "core CPU % idle", "core CPU % in sync", "us per poll")
	for _, r := range rs {
		c := slices.Clone(r.ConvergeMs)
		slices.Sort(c)
		fmt.Fprintf(w, "%10dms %6d %28s %16.2f %18.2f %14.1f\n", r.IntervalMs, r.Diffs,
			fmt.Sprintf("%.0f / %.0f / %.0f", c[0], c[len(c)/2], c[len(c)-1]), r.CoreCPUPct, r.CoreCPUPctLd, r.CoreCPUusPoll)
	}
	fmt.Fprintln(w, "\nExpected by the protocol: about interval x (diffs_before_sync + 1). "+
		strings.TrimSpace("Each satellite polls both cores every interval."))
}

// hasAny reports whether xs holds any of want.
func hasAny(xs []string, want ...string) bool {
	for _, w := range want {
		if slices.Contains(xs, w) {
			return true
		}
	}
	return false
}
