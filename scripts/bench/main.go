// Command bench compares four targets in one run on one machine: MariaDB
// directly, HAProxy (TCP mode), ProxySQL (the reference binary) and
// sqlgate, ProxySQL and sqlgate started from the same proxysql.cnf. It
// measures
//
//   - sysbench point_select, read_only and read_write at 1, 4, 32 and 128
//     threads, text and prepared-statement protocol: QPS, p50/p95/p99, proxy
//     CPU µs per query (from /proc) and RSS;
//   - 10,000 idle client connections: RSS per connection;
//   - a connection storm: connect, one query, quit, as fast as possible;
//   - point_select with 1,000 query rules and with 10,000 fast-routing
//     entries (none matching) against 0 rules;
//   - sqlgate's monitor CPU with 100 backends and a 22-node cluster's
//     convergence (sqlgate only; -only to leave them out);
//
// prints one table with the ratios to ProxySQL and HAProxy, the machine's
// load and the issue-14 targets with pass/miss, and writes
// bench/results/<date>.json. `-readme` rewrites README.md's Performance
// table from the newest results file.
//
//	go run ./scripts/bench [-duration 6] [-only sysbench,idle,storm,rules,monitor,cluster] [-threads 1,4] ...
//	go run ./scripts/bench -readme
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"sqlgate/internal/testbed"
	"sqlgate/scripts/bench/report"
)

// Target names, in table order.
const (
	tDirect   = report.Direct
	tHAProxy  = report.HAProxy
	tProxySQL = report.ProxySQL
	tSqlgate  = report.Sqlgate
	// The design check's bare relays (scripts/bench/relay), not in the
	// default targets: the CPU a goroutine design, an epoll design and an
	// io_uring design cost with no MySQL work at all.
	tGoRelay    = report.GoRelay
	tEpollRelay = report.EpollRelay
	tURingRelay = report.URingRelay
)

var allSections = []string{"sysbench", "idle", "storm", "rules", "monitor", "cluster"}

type options struct {
	duration, warmup   int
	rounds             int // sysbench rounds per row (see -rounds)
	workloads, threads []string
	protocols          []string
	targets            []string
	sections           []string
	bin, proxysqlBin   string
	relayBin           string // built into the run's temp dir when a relay is a target
	proxyThreads       int
	gomaxprocs         int
	idleConns          int
	stormTime          time.Duration
	stormWorkers       int
	rules, fastRouting int
	rulesThreads       int
	rulePattern        string
	out, readme        string
	verbose            bool
	args               []string
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func defaultProxySQL() string {
	if p := os.Getenv("SQLGATE_PROXYSQL_BIN"); p != "" {
		return p
	}
	wd, _ := os.Getwd()
	return filepath.Join(filepath.Dir(wd), "shared", "proxysql", "proxysql")
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func run() error {
	var o options
	flag.IntVar(&o.duration, "duration", 6, "seconds measured per sysbench run (after -warmup)")
	flag.IntVar(&o.duration, "time", 6, "alias of -duration")
	flag.IntVar(&o.rounds, "rounds", 2, "sysbench rows are measured in this many rounds of -duration/rounds seconds, the targets in order, then in reverse")
	flag.IntVar(&o.warmup, "warmup", 1, "seconds of each sysbench run before the measurement (sysbench --report-checkpoints)")
	design := flag.Bool("design", false, "design check: point_select text at 1, 4, 32 threads through direct, HAProxy, ProxySQL, sqlgate and three bare relays (goroutines, epoll, io_uring), 4 rounds of 3 s, into bench/results/design, unless given")
	quick := flag.Bool("quick", false, "smoke test: -duration 1 -warmup 0 -rounds 1 -threads 1,4 -idle-conns 1000 -storm-time 1s unless given, 2 s monitor windows, 2 cluster trials")
	workloads := flag.String("workloads", "point_select,read_only,read_write", "sysbench workloads (oltp_ prefix optional)")
	threads := flag.String("threads", "1,4,32,128", "client thread counts")
	protocols := flag.String("protocols", "text,ps", "text (--db-ps-mode=disable) and/or ps (server-side prepared statements)")
	targets := flag.String("targets", "direct,haproxy,proxysql,sqlgate", "targets (a missing ProxySQL binary drops its column with a message)")
	only := flag.String("only", strings.Join(allSections, ","), "sections to run: "+strings.Join(allSections, ","))
	flag.StringVar(&o.bin, "bin", "bin/sqlgate", "sqlgate binary")
	flag.StringVar(&o.proxysqlBin, "proxysql", defaultProxySQL(), "ProxySQL binary: $SQLGATE_PROXYSQL_BIN, else ../shared/proxysql/proxysql beside the repository")
	flag.IntVar(&o.proxyThreads, "proxy-threads", 2, "mysql-threads in the proxysql.cnf both ProxySQL and sqlgate run")
	flag.IntVar(&o.gomaxprocs, "gomaxprocs", 2, "GOMAXPROCS of sqlgate")
	flag.IntVar(&o.idleConns, "idle-conns", 10000, "idle client connections held open per proxy")
	flag.DurationVar(&o.stormTime, "storm-time", 3*time.Second, "connection storm length per target")
	flag.IntVar(&o.stormWorkers, "storm-workers", 16, "concurrent clients in the connection storm")
	flag.IntVar(&o.rules, "rules", 1000, "query rules (none matching) in the rules section")
	flag.IntVar(&o.fastRouting, "fast-routing", 10000, "fast-routing entries (none matching) in the rules section")
	flag.StringVar(&o.rulePattern, "rule-digest", `^SELECT c FROM nomatch_%d WHERE`, "match_digest `pattern` of query rule %d (printf; no sysbench query may match it; '^SELECT .* FROM nomatch_%d WHERE' makes every rule scan the whole query)")
	flag.IntVar(&o.rulesThreads, "rules-threads", 4, "sysbench threads of the rules section (point_select, text)")
	flag.StringVar(&o.out, "out", "bench/results", "directory of the results file <date>.json")
	readme := flag.Bool("readme", false, "only rewrite README.md's Performance table from the newest results file in -out")
	updateReadme := flag.Bool("update-readme", false, "after the run, rewrite README.md's Performance table from the newest results file in -out (make bench)")
	flag.StringVar(&o.readme, "readme-file", "README.md", "README to rewrite with -readme")
	flag.BoolVar(&o.verbose, "v", false, "print sysbench's output")
	flag.Parse()
	for _, a := range os.Args[1:] {
		if strings.TrimLeft(a, "-") != "update-readme" {
			o.args = append(o.args, a)
		}
	}
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *design { // flags given explicitly win
		defaults := map[string]func(){
			"only": func() { *only = "sysbench" },
			"targets": func() {
				*targets = strings.Join([]string{tDirect, tHAProxy, tGoRelay, tEpollRelay, tURingRelay, tProxySQL, tSqlgate}, ",")
			},
			"workloads": func() { *workloads = "point_select" },
			"protocols": func() { *protocols = "text" },
			"threads":   func() { *threads = "1,4,32" },
			"rounds":    func() { o.rounds = 4 },
			"duration":  func() { o.duration = 12 },
			"out":       func() { o.out = "bench/results/design" },
		}
		for name, set1 := range defaults {
			if !set[name] && !(name == "duration" && set["time"]) {
				set1()
			}
		}
	}
	if *readme {
		return report.WriteReadme(o.out, o.readme)
	}
	if *quick { // flags given explicitly win
		if !set["duration"] && !set["time"] {
			o.duration = 1
		}
		if !set["warmup"] {
			o.warmup = 0
		}
		if !set["rounds"] {
			o.rounds = 1
		}
		if !set["threads"] {
			*threads = "1,4"
		}
		if !set["idle-conns"] {
			o.idleConns = 1000
		}
		if !set["storm-time"] {
			o.stormTime = time.Second
		}
	}
	o.workloads, o.threads, o.protocols = splitList(*workloads), splitList(*threads), splitList(*protocols)
	o.targets, o.sections = splitList(*targets), splitList(*only)
	for i, w := range o.workloads {
		o.workloads[i] = strings.TrimPrefix(w, "oltp_")
	}
	for _, s := range o.sections {
		if !contains(allSections, s) {
			return fmt.Errorf("-only: unknown section %q (want %s)", s, strings.Join(allSections, ","))
		}
	}
	for _, t := range o.targets {
		if !contains([]string{tDirect, tHAProxy, tProxySQL, tSqlgate, tGoRelay, tEpollRelay, tURingRelay}, t) {
			return fmt.Errorf("-targets: unknown target %q", t)
		}
	}
	for _, p := range o.protocols {
		if p != "text" && p != "ps" {
			return fmt.Errorf("-protocols: unknown protocol %q (text, ps)", p)
		}
	}
	for _, t := range o.threads {
		if n, err := strconv.Atoi(t); err != nil || n < 1 {
			return fmt.Errorf("-threads: %q is not a positive number", t)
		}
	}
	if strings.Count(o.rulePattern, "%d") != 1 || strings.Count(o.rulePattern, "%") != 1 {
		return errors.New("-rule-digest: the pattern needs exactly one %d (the rule's number) and no other %")
	}
	if o.duration < 1 || o.warmup < 0 {
		return errors.New("-duration must be at least 1 and -warmup at least 0")
	}
	if _, err := lookPath("sysbench"); err != nil {
		return errors.New("sysbench not found: run scripts/deps.sh (apt-get install -y sysbench)")
	}
	if contains(o.targets, tHAProxy) {
		if _, err := lookPath("haproxy"); err != nil {
			return errors.New("haproxy not found: run scripts/deps.sh (apt-get install -y haproxy)")
		}
	}
	if contains(o.targets, tProxySQL) {
		if err := checkProxySQL(o.proxysqlBin); err != nil {
			fmt.Fprintf(os.Stderr, "\n*** ProxySQL column skipped: %v\n*** set -proxysql or SQLGATE_PROXYSQL_BIN to the ProxySQL 2.7 binary to compare with it\n\n", err)
			o.targets = remove(o.targets, tProxySQL)
		}
	}
	// The proxies run in their data directories.
	o.bin, _ = filepath.Abs(o.bin)
	o.proxysqlBin, _ = filepath.Abs(o.proxysqlBin)
	if _, err := os.Stat(o.bin); err != nil && (contains(o.targets, tSqlgate) || has(o.sections, "monitor", "cluster")) {
		return fmt.Errorf("%s not found: run make build", o.bin)
	}
	fmt.Fprintf(os.Stderr, "bench: targets %s; sections %s; about %s\n", strings.Join(o.targets, ","), strings.Join(o.sections, ","), estimate(o).Round(time.Second))

	// Ctrl-C, kill, a closed terminal or a closed pipe (| head) end the run
	// through the deferred stops, which kill exactly what it started.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	started := time.Now()
	res := &report.Results{Meta: report.Meta{Date: started.UTC().Format(time.RFC3339), Args: o.args,
		SecondsPerRun: o.duration, WarmupSeconds: o.warmup, Rounds: max(1, o.rounds), Tables: 4, TableSize: 10000,
		ProxyThreads: o.proxyThreads, GOMAXPROCS: o.gomaxprocs, Targets: o.targets, Sections: o.sections,
		RuleDigest: o.rulePattern}}
	res.Meta.Machine = machineInfo()
	res.Meta.Machine.LoadBefore = loadavg()

	// 10,000 client connections need that many descriptors here and as
	// many in the proxy, which inherits this limit.
	if err := raiseNoFile(uint64(o.idleConns) + 4096); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
	}

	fmt.Fprintln(os.Stderr, "starting MariaDB...")
	bed, err := testbed.Start(ctx, testbed.Options{ServerArgs: []string{"--max_connections=2000", "--innodb_buffer_pool_size=128M"}})
	if err != nil {
		return err
	}
	defer bed.Stop()
	tmp, err := os.MkdirTemp("", "sqlgate-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if contains(o.targets, tGoRelay) || contains(o.targets, tEpollRelay) || contains(o.targets, tURingRelay) {
		o.relayBin = filepath.Join(tmp, "relay")
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", o.relayBin, "./scripts/bench/relay").CombinedOutput(); err != nil {
			return fmt.Errorf("building the relay (run the bench from the repository): %v\n%s", err, out)
		}
	}

	tg := map[string]*target{tDirect: {name: tDirect, port: bed.Primary.Port}}
	needProxies := has(o.sections, "sysbench", "idle", "storm", "rules")
	for _, name := range o.targets {
		if name == tDirect || !needProxies {
			continue
		}
		t, err := startTarget(ctx, name, o, filepath.Join(tmp, name), bed.Primary.Port)
		if err != nil {
			return err
		}
		defer t.stop()
		tg[name] = t
	}
	res.Meta.Versions = versions(ctx, o, bed)

	sb := &sysbencher{o: o, mariadbPID: bed.Primary.PID(), targets: tg}
	if has(o.sections, "sysbench", "rules") {
		fmt.Fprintln(os.Stderr, "preparing sbtest (4 x 10000 rows)...")
		if err := sb.prepare(ctx, bed.Primary.Port); err != nil {
			return err
		}
	}
	section := started
	lap := func(name string) {
		res.Meta.SectionSeconds[name] = time.Since(section).Round(time.Second).Seconds()
		section = time.Now()
	}
	res.Meta.SectionSeconds = map[string]float64{}
	lap("setup")
	if has(o.sections, "sysbench") {
		for _, w := range o.workloads {
			for _, th := range o.threads {
				n, _ := strconv.Atoi(th)
				for _, p := range o.protocols {
					// The targets run in order, then in reverse, and so
					// on: a drift of the machine during the row weighs on
					// each target alike.
					runs := map[string][]report.SysbenchRow{}
					secs := report.RoundSeconds(o.duration, o.rounds)
					for r := range max(1, o.rounds) {
						order := slices.Clone(o.targets)
						if r%2 == 1 {
							slices.Reverse(order)
						}
						for _, name := range order {
							if ctx.Err() != nil {
								return ctx.Err()
							}
							fmt.Fprintf(os.Stderr, "%s %d threads %s via %s (round %d)...\n", w, n, p, name, r+1)
							runs[name] = append(runs[name], sb.run(ctx, tg[name], w, n, p, secs))
						}
					}
					for _, name := range o.targets {
						res.Sysbench = append(res.Sysbench, report.MergeRounds(runs[name]))
					}
				}
			}
		}
	}
	if has(o.sections, "sysbench") {
		lap("sysbench")
	}
	if has(o.sections, "idle") {
		for _, name := range o.targets {
			if name == tDirect || name == tHAProxy || name == tGoRelay || name == tEpollRelay || name == tURingRelay {
				continue // no multiplexing: each client is a MariaDB connection
			}
			fmt.Fprintf(os.Stderr, "%d idle connections to %s...\n", o.idleConns, name)
			res.Idle = append(res.Idle, idleBench(ctx, tg[name], o.idleConns))
		}
	}
	if has(o.sections, "idle") {
		lap("idle")
	}
	if has(o.sections, "storm") {
		for _, name := range o.targets {
			fmt.Fprintf(os.Stderr, "connection storm via %s...\n", name)
			res.Storm = append(res.Storm, stormBench(ctx, tg[name], o.stormTime, o.stormWorkers))
			// Let TIME_WAIT sockets and the backend's threads settle.
			sleep(ctx, time.Second)
		}
	}
	if has(o.sections, "storm") {
		lap("storm")
	}
	if has(o.sections, "rules") {
		for _, name := range o.targets {
			if name != tProxySQL && name != tSqlgate {
				continue
			}
			r, err := rulesBench(ctx, sb, tg[name], o)
			if err != nil {
				fmt.Fprintf(os.Stderr, "rules via %s: %v\n", name, err)
			}
			res.Rules = append(res.Rules, r...)
		}
	}
	if has(o.sections, "sysbench", "rules") {
		sb.cleanup(ctx, bed.Primary.Port)
	}
	if has(o.sections, "rules") {
		lap("rules")
	}
	// The proxies stop before the sqlgate-only sections.
	for _, t := range tg {
		t.stop()
	}
	if has(o.sections, "monitor") && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, "monitor CPU with 100 backends...")
		window := 10 * time.Second
		if *quick {
			window = 2 * time.Second
		}
		mon, err := monitorBench(ctx, o.bin, tmp, bed, window, []int{1000, 100})
		if err != nil {
			fmt.Fprintln(os.Stderr, "monitor bench:", err)
		}
		res.Monitor = mon
		res.Meta.MonitorWindowS = window.Seconds()
		lap("monitor")
	}
	if has(o.sections, "cluster") && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, "cluster convergence with 22 nodes...")
		trials, idle := 5, 10*time.Second
		if *quick {
			trials, idle = 2, 2*time.Second
		}
		for _, iv := range []time.Duration{time.Second, 200 * time.Millisecond} {
			var r report.ClusterRow
			var err error
			for try := 1; try <= 3; try++ {
				r, err = clusterBench(ctx, o.bin, filepath.Join(tmp, fmt.Sprintf("cluster%d-%d", iv.Milliseconds(), try)), 20, trials, iv, idle)
				if !errors.Is(err, errStartRace) {
					break
				}
				fmt.Fprintf(os.Stderr, "cluster bench: %v; again with other ports\n", err)
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "cluster bench:", err)
				break
			}
			res.Cluster = append(res.Cluster, r)
		}
		lap("cluster")
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	res.Meta.Machine.LoadAfter = loadavg()
	res.Meta.WallSeconds = time.Since(started).Round(time.Second).Seconds()
	res.Targets = report.Evaluate(res)
	report.PrintAll(os.Stdout, res)
	path, err := res.Write(o.out, started)
	if err != nil {
		return err
	}
	fmt.Println("\nresults written to", path)
	if *updateReadme {
		return report.WriteReadme(o.out, o.readme)
	}
	return nil
}

// estimate is the expected wall time of a run with these options.
func estimate(o options) time.Duration {
	var d time.Duration
	per := time.Duration(o.duration+o.warmup)*time.Second + 300*time.Millisecond
	if has(o.sections, "sysbench") {
		rounds := max(1, o.rounds)
		round := time.Duration(report.RoundSeconds(o.duration, rounds)+o.warmup)*time.Second + 300*time.Millisecond
		d += time.Duration(len(o.workloads)*len(o.threads)*len(o.protocols)*len(o.targets)*rounds) * round
	}
	proxies := 0
	for _, t := range o.targets {
		if t == tProxySQL || t == tSqlgate {
			proxies++
		}
	}
	if has(o.sections, "idle") {
		d += time.Duration(proxies) * (time.Duration(o.idleConns/1000)*time.Second + 5*time.Second)
	}
	if has(o.sections, "storm") {
		d += time.Duration(len(o.targets)) * (o.stormTime + 2*time.Second)
	}
	if has(o.sections, "rules") {
		d += time.Duration(proxies) * (3*per + 3*time.Second)
	}
	if has(o.sections, "monitor") {
		d += 35 * time.Second
	}
	if has(o.sections, "cluster") {
		d += 55 * time.Second
	}
	return d + 20*time.Second // MariaDB, prepare
}

func checkProxySQL(bin string) error {
	fi, err := os.Stat(bin)
	if err != nil {
		return fmt.Errorf("no ProxySQL binary at %s", bin)
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable", bin)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--version").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s --version: %v (missing shared libraries? run ldd %s): %s", bin, err, bin, tailLines(string(out), 3))
	}
	return nil
}

// raiseNoFile raises RLIMIT_NOFILE to at least n, or to the hard limit
// when raising that needs CAP_SYS_RESOURCE. Calling Setrlimit also makes
// the children (the proxies) inherit it, where Go would otherwise restore
// the limit it found at start for them.
func raiseNoFile(n uint64) error {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return err
	}
	want := rl
	want.Cur = max(want.Cur, n)
	want.Max = max(want.Max, want.Cur)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err == nil {
		return nil
	}
	rl.Cur = rl.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return err
	}
	if rl.Cur < n-2048 {
		return fmt.Errorf("RLIMIT_NOFILE is %d and cannot be raised to %d here (CAP_SYS_RESOURCE): the idle section will stop early; lower -idle-conns", rl.Cur, n)
	}
	return nil
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

func has(xs []string, any ...string) bool {
	for _, a := range any {
		if contains(xs, a) {
			return true
		}
	}
	return false
}

func remove(xs []string, x string) []string {
	var out []string
	for _, s := range xs {
		if s != x {
			out = append(out, s)
		}
	}
	return out
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func tailLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	p := "/usr/sbin/" + name
	if _, err := os.Stat(p); err != nil {
		return "", err
	}
	return p, nil
}

func versions(ctx context.Context, o options, bed *testbed.Bed) map[string]string {
	v := map[string]string{"go": runtime.Version()}
	first := func(name string, args ...string) string {
		p, err := lookPath(name)
		if err != nil {
			p = name
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		out, _ := exec.CommandContext(ctx, p, args...).CombinedOutput()
		for _, l := range strings.Split(string(out), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.Contains(l, "[INFO]") {
				return l
			}
		}
		return ""
	}
	// Short forms: "sqlgate 1a2b3c4", "ProxySQL 2.7.2-14-g5cc418b",
	// "HAProxy 2.6.12-1+deb12u4", "sysbench 1.0.20".
	short := func(s string, words int) string {
		f := strings.Fields(strings.ReplaceAll(s, ",", ""))
		var out []string
		for _, w := range f {
			if w != "version" && len(out) < words {
				out = append(out, w)
			}
		}
		return strings.Join(out, " ")
	}
	v["sqlgate"] = short(first(o.bin, "--version"), 2)
	v["sysbench"] = short(first("sysbench", "--version"), 2)
	v["haproxy"] = short(first("haproxy", "-v"), 2)
	if contains(o.targets, tProxySQL) {
		v["proxysql"] = short(first(o.proxysqlBin, "--version"), 2)
	}
	if db, err := bed.DB(bed.Primary, "app", "app", ""); err == nil {
		var s string
		db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&s)
		v["mariadb"] = "MariaDB " + strings.TrimSuffix(s, "-log")
		db.Close()
	}
	return v
}
