package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"sqlgate/scripts/bench/report"
)

type sysbencher struct {
	o          options
	mariadbPID int
	targets    map[string]*target
}

func (s *sysbencher) common(port int) []string {
	return []string{"--db-driver=mysql", "--mysql-host=127.0.0.1", fmt.Sprintf("--mysql-port=%d", port),
		"--mysql-user=app", "--mysql-password=app", "--mysql-db=sbtest", "--tables=4", "--table-size=10000"}
}

func (s *sysbencher) prepare(ctx context.Context, port int) error {
	s.cleanup(ctx, port)
	args := append([]string{"oltp_read_write"}, s.common(port)...)
	out, err := sysbenchCmd(ctx, 3*time.Minute, append(args, "--threads=4", "prepare")...)
	if err != nil {
		return fmt.Errorf("sysbench prepare: %v\n%s", err, tailLines(out, 10))
	}
	return nil
}

func (s *sysbencher) cleanup(ctx context.Context, port int) {
	sysbenchCmd(ctx, time.Minute, append(append([]string{"oltp_read_write"}, s.common(port)...), "cleanup")...)
}

// run runs one sysbench measurement through t. The first -warmup seconds
// are cut off with --report-checkpoints (sysbench 1.0 resets its counters
// and histogram there); the proxy's CPU is read at the same moment.
// run runs one sysbench workload through t, measured for dur seconds
// after the warm-up.
func (s *sysbencher) run(ctx context.Context, t *target, workload string, threads int, protocol string, dur int) report.SysbenchRow {
	r := report.SysbenchRow{Workload: workload, Threads: threads, Protocol: protocol, Target: t.name}
	if la := loadavg(); len(la) > 0 {
		r.Load1 = la[0]
	}
	ps := "disable"
	if protocol == "ps" {
		ps = "auto"
	}
	warm := s.o.warmup
	// sysbench's default --mysql-ignore-errors (1213,1020,1205) is kept:
	// oltp_read_write deadlocks on MariaDB itself at high concurrency;
	// they are counted in the errors column.
	args := append([]string{"oltp_" + workload}, s.common(t.port)...)
	args = append(args, "--db-ps-mode="+ps, fmt.Sprintf("--threads=%d", threads), fmt.Sprintf("--time=%d", warm+dur),
		"--report-interval=0", "--histogram=on", "--percentile=99")
	if warm > 0 {
		args = append(args, fmt.Sprintf("--report-checkpoints=%d", warm))
	}
	args = append(args, "run")

	pids := []int{s.mariadbPID}
	for _, x := range s.targets {
		pids = append(pids, x.pid)
	}
	others := func() float64 {
		var c float64
		for _, p := range pids {
			c += cpuSeconds(p)
		}
		return c + cpuSeconds(os.Getpid())
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(warm+dur+90)*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sysbench", args...)
	orphanKill(cmd)
	// The proxy's CPU is read when sysbench's measured interval starts
	// and ends, which its output shows as it goes: "Threads started!"
	// (every thread connected; the clock starts) or, after a warm-up, the
	// checkpoint report; the final report's first line ends it. A timer
	// stands in if the output never shows them.
	var cpu0, cpu1 cpuSample
	var t0, t1 time.Time
	out := &markWriter{checkpoint: warm > 0,
		start: func() { cpu0, t0 = sampleCPU(t.pid), time.Now() },
		end:   func() { cpu1, t1 = sampleCPU(t.pid), time.Now() }}
	cmd.Stdout, cmd.Stderr = out, out
	busy0, _ := machineCPU()
	own0 := others()
	began := time.Now()
	if err := cmd.Start(); err != nil {
		r.Failed = err.Error()
		return r
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var err error
	var timerCPU cpuSample
	var timerT time.Time
	select {
	case err = <-waited:
		waited <- err
	case <-time.After(time.Duration(warm) * time.Second):
		timerCPU, timerT = sampleCPU(t.pid), time.Now()
	}
	err = <-waited
	exitCPU, exitT := sampleCPU(t.pid), time.Now()
	out.mu.Lock()
	if t0.IsZero() || t1.IsZero() {
		cpu0, t0, cpu1, t1 = timerCPU, timerT, exitCPU, exitT
	}
	out.mu.Unlock()
	busy1, _ := machineCPU()
	own1 := others()
	if cmd.ProcessState != nil {
		own1 += cmd.ProcessState.UserTime().Seconds() + cmd.ProcessState.SystemTime().Seconds()
	}
	if s.o.verbose {
		fmt.Fprintf(os.Stderr, "%s\n(measured from %.3f s to %.3f s after the start)\n", out.String(), t0.Sub(began).Seconds(), t1.Sub(began).Seconds())
	}
	parseSysbench(out.String(), &r)
	if el := exitT.Sub(began).Seconds(); el > 0 {
		r.OtherCPU = report.Round2(max(0, (busy1-busy0)-(own1-own0)) / el)
	}
	switch {
	case err != nil:
		r.Failed = fmt.Sprintf("%v: %s", err, tailLines(out.String(), 3))
		fmt.Fprintf(os.Stderr, "sysbench %s via %s failed: %s\n", workload, t.name, r.Failed)
	case r.Queries == 0:
		r.Failed = "no queries: " + tailLines(out.String(), 3)
		fmt.Fprintf(os.Stderr, "sysbench %s via %s: %s\n", workload, t.name, r.Failed)
	}
	if t.pid > 0 && r.Queries > 0 {
		r.CPUusPerQ = report.Round1((cpu1.total() - cpu0.total()) * 1e6 / float64(r.Queries))
		r.SysUsPerQ = report.Round1((cpu1.sys - cpu0.sys) * 1e6 / float64(r.Queries))
		r.RSSMB = report.Round1(rssKiB(t.pid) / 1024)
		if cpu0.movesOK && cpu1.movesOK && cpu1.moves >= cpu0.moves {
			v := report.Round2(float64(cpu1.moves-cpu0.moves) / float64(r.Queries))
			r.MovesPerQ = &v
		}
	}
	return r
}

// cpuSample is a process's user and kernel CPU seconds at one moment, and
// how many times the kernel had moved its threads to another CPU.
type cpuSample struct {
	user, sys float64
	moves     int64
	movesOK   bool
}

func sampleCPU(pid int) cpuSample {
	u, k := cpuTimes(pid)
	m, ok := cpuMoves(pid)
	return cpuSample{u, k, m, ok}
}

func (c cpuSample) total() float64 { return c.user + c.sys }

func sysbenchCmd(ctx context.Context, limit time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sysbench", args...)
	orphanKill(cmd)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

var (
	reQueries = regexp.MustCompile(`queries:\s+(\d+)\s+\(([\d.]+) per sec`)
	reTx      = regexp.MustCompile(`transactions:\s+\d+\s+\(([\d.]+) per sec`)
	reErrors  = regexp.MustCompile(`ignored errors:\s+(\d+)`)
	reReconn  = regexp.MustCompile(`reconnects:\s+(\d+)`)
	reHist    = regexp.MustCompile(`(?m)^\s*([\d.]+)\s+\|[*\s]*(\d+)\s*$`)
)

// parseSysbench reads the final report. With --report-checkpoints the
// checkpoint's report comes first and the final one covers only the time
// after it; the histogram (printed once, before the final report's
// statistics) covers the same interval.
func parseSysbench(out string, r *report.SysbenchRow) {
	hist := ""
	if i := strings.LastIndex(out, "Latency histogram"); i >= 0 {
		hist = out[i:]
		if j := strings.Index(hist, "SQL statistics:"); j >= 0 {
			hist = hist[:j]
		}
	}
	if i := strings.LastIndex(out, "SQL statistics:"); i >= 0 {
		out = out[i:]
	}
	if m := reQueries.FindStringSubmatch(out); m != nil {
		r.Queries, _ = strconv.ParseInt(m[1], 10, 64)
		r.QPS, _ = strconv.ParseFloat(m[2], 64)
		if r.QPS > 0 {
			r.Seconds = report.Round2(float64(r.Queries) / r.QPS)
		}
	}
	if m := reTx.FindStringSubmatch(out); m != nil {
		r.TPS, _ = strconv.ParseFloat(m[1], 64)
	}
	if m := reErrors.FindStringSubmatch(out); m != nil {
		r.Errors, _ = strconv.Atoi(m[1])
	}
	if m := reReconn.FindStringSubmatch(out); m != nil {
		r.Reconnects, _ = strconv.Atoi(m[1])
	}
	type bucket struct {
		v float64
		n int64
	}
	var bs []bucket
	var total int64
	for _, m := range reHist.FindAllStringSubmatch(hist, -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		n, _ := strconv.ParseInt(m[2], 10, 64)
		bs = append(bs, bucket{v, n})
		total += n
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].v < bs[j].v })
	pct := func(p float64) float64 {
		need := int64(p*float64(total) + 0.999999)
		var acc int64
		for _, b := range bs {
			if acc += b.n; acc >= need {
				return b.v
			}
		}
		return 0
	}
	if total > 0 {
		r.P50ms, r.P95ms, r.P99ms = pct(0.50), pct(0.95), pct(0.99)
	}
}

// markWriter collects sysbench's output and calls start when the measured
// interval begins ("Threads started!" without a warm-up, the checkpoint
// report with one) and end when the final report begins.
type markWriter struct {
	mu         sync.Mutex
	buf        strings.Builder
	line       []byte
	checkpoint bool
	state      int // 0 before, 1 in the checkpoint report, 2 measuring, 3 after
	start, end func()
}

func (m *markWriter) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.buf.Write(p)
	for _, b := range p {
		if b != '\n' {
			m.line = append(m.line, b)
			continue
		}
		l := string(m.line)
		m.line = m.line[:0]
		switch m.state {
		case 0:
			if !m.checkpoint && strings.Contains(l, "Threads started!") {
				m.start()
				m.state = 2
			} else if m.checkpoint && strings.Contains(l, "Checkpoint report:") {
				m.start()
				m.state = 1
			}
		case 1:
			if strings.Contains(l, "SQL statistics:") {
				m.state = 2
			}
		case 2:
			if strings.Contains(l, "Latency histogram") || strings.Contains(l, "SQL statistics:") {
				m.end()
				m.state = 3
			}
		}
	}
	return len(p), nil
}

func (m *markWriter) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.buf.String()
}
