package main

import (
	"os"
	"strings"
	"syscall"
)

// schedTrace is the GODEBUG setting the proxy runs with. It is not about
// tracing: any schedtrace period keeps Go's sysmon thread from its deep
// sleep, and that sleep is what made sqlgate slow for a lone client.
//
// When every P is idle (all sessions waiting for the network, as between
// the statements of one client) sysmon parks on a futex, and the next
// syscall of any goroutine wakes it: a thread wake-up and two context
// switches for each idle-to-busy transition, twice per statement for a
// client that sends one at a time. Measured with sysbench point_select at
// one thread on 2 CPUs: 4.1-4.5 context switches and 67-86 µs of proxy CPU
// per statement, against ProxySQL's 2.0 and 44-56 µs; with this setting
// 2.0 and 45-53 µs, and QPS from 0.85x to 1.1-1.3x ProxySQL's. Without the
// deep sleep sysmon backs off to one wake-up every 10 ms when there is
// nothing to do. The period is the longest the runtime accepts (24.8
// days of uptime), so the scheduler line it prints to stderr ("SCHED ...")
// is rare.
const schedTrace = "schedtrace=2147483647"

// init re-executes the proxy with schedTrace added to GODEBUG, before
// anything else runs (the Go runtime reads GODEBUG only at start). The
// subcommands (healthcheck, the guardian, ...) and test binaries run as
// they are, and so does a process whose GODEBUG already sets schedtrace.
func init() {
	if len(os.Args) > 1 {
		if _, ok := subcommands[os.Args[1]]; ok {
			return
		}
	}
	godebug := os.Getenv("GODEBUG")
	if strings.Contains(godebug, "schedtrace=") || strings.HasSuffix(os.Args[0], ".test") {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return // run without it: slower for lone clients, still correct
	}
	if godebug != "" {
		godebug += ","
	}
	env := []string{"GODEBUG=" + godebug + schedTrace}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GODEBUG=") { // the runtime reads the first one
			env = append(env, kv)
		}
	}
	syscall.Exec(exe, os.Args, env) // returns only on failure: run as is
}
