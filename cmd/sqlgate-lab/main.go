// Command sqlgate-lab builds and drives sqlgate's lab: the whole
// architecture (MariaDB primary and replicas, two core sqlgate nodes
// behind a keepalived VIP, a satellite, a client) in network namespaces
// on this machine. `make lab` and its siblings run it; see internal/lab.
//
//	sqlgate-lab up|status|failover|promote|down [-dir DIR] [-prefix P]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"sqlgate/internal/lab"
)

const usage = `usage: sqlgate-lab COMMAND [-dir DIR] [-prefix P] [-sqlgate BIN] [-advert D] [-loopback]

commands:
  up        build the lab (as root: network namespaces, keepalived, VIP;
            otherwise on loopback) and print its status and how to connect
  status    who holds the VIP, each node's health, cluster checksums, backends
  failover  SIGKILL the VIP holder's sqlgate under load; print the client
            downtime and lost writes; bring the node back
  promote   SIGKILL the MariaDB primary under load, promote a replica, print
            the time to the first write on the new primary
  down      stop and remove everything the lab made
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd := args[0]
	fs := flag.NewFlagSet("sqlgate-lab "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", lab.DefaultDir, "lab directory (state, configuration, logs, data)")
	prefix := fs.String("prefix", lab.DefaultPrefix, "prefix of the network namespaces' names (up)")
	bin := fs.String("sqlgate", defaultSqlgate(), "the sqlgate binary (up)")
	advert := fs.Duration("advert", lab.DefaultAdvert, "VRRP advert interval (up)")
	loopback := fs.Bool("loopback", false, "run on loopback even as root (up)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sqlgate-lab %s: unexpected argument %q\n%s", cmd, fs.Arg(0), usage)
		return 2
	}
	// Ctrl-C stops a step at its next check; up then removes what it made.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch cmd {
	case "up":
		return up(ctx, lab.Options{Dir: *dir, Prefix: *prefix, SqlgateBin: *bin, Advert: *advert, Loopback: *loopback, Log: stdout}, stdout, stderr)
	case "status":
		return withLab(*dir, stderr, func(l *lab.Lab) int {
			s := l.Status(ctx)
			s.Print(stdout)
			if len(s.Problems()) > 0 {
				return 1
			}
			return 0
		})
	case "failover":
		return withLab(*dir, stderr, func(l *lab.Lab) int {
			r, err := l.Failover(ctx, stdout)
			if err != nil {
				fmt.Fprintf(stderr, "sqlgate-lab failover: %v\n", err)
				return 1
			}
			r.Print(stdout)
			if r.Missing > 0 || len(r.HoldersAfter) != 1 {
				return 1
			}
			return 0
		})
	case "promote":
		return withLab(*dir, stderr, func(l *lab.Lab) int {
			r, err := l.Promote(ctx, stdout)
			if err != nil {
				fmt.Fprintf(stderr, "sqlgate-lab promote: %v\n", err)
				return 1
			}
			r.Print(stdout)
			if r.Missing > 0 {
				return 1
			}
			return 0
		})
	case "down":
		l, err := lab.Open(*dir)
		if err != nil {
			if _, serr := os.Stat(filepath.Join(*dir, "lab.json")); errors.Is(serr, os.ErrNotExist) {
				fmt.Fprintf(stdout, "no lab in %s: nothing to remove\n", *dir)
				return 0
			}
			fmt.Fprintf(stderr, "sqlgate-lab down: %v\n", err)
			return 1
		}
		t := time.Now()
		if err := l.Down(); err != nil {
			fmt.Fprintf(stderr, "sqlgate-lab down: %v\n", err)
			return 1
		}
		what := "processes stopped, namespaces deleted, directory removed"
		if !l.NetNS() {
			what = "processes stopped, directory removed"
		}
		fmt.Fprintf(stdout, "lab in %s down: %s (%v)\n", l.Dir, what, time.Since(t).Round(time.Millisecond))
		return 0
	default:
		fmt.Fprintf(stderr, "sqlgate-lab: unknown command %q\n%s", cmd, usage)
		return 2
	}
}

func up(ctx context.Context, o lab.Options, stdout, stderr io.Writer) int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(stdout, "not root: the lab runs on loopback, without network namespaces, keepalived or VIP (run as root for the full lab)")
	}
	l, err := lab.Up(ctx, o)
	if errors.Is(err, lab.ErrAlreadyUp) {
		fmt.Fprintf(stdout, "the lab in %s is already up:\n\n", l.Dir)
		err = nil
	} else if err != nil {
		fmt.Fprintf(stderr, "sqlgate-lab up: %v\n", err)
		return 1
	} else {
		fmt.Fprintln(stdout)
	}
	if !l.NetNS() {
		fmt.Fprintf(stdout, "NOTE: loopback mode (%s): no keepalived and no VIP; `failover` needs root\n\n", l.LoopbackReason())
	}
	l.Status(ctx).Print(stdout)
	l.PrintConnect(stdout)
	return 0
}

func withLab(dir string, stderr io.Writer, f func(*lab.Lab) int) int {
	l, err := lab.Open(dir)
	if err != nil {
		fmt.Fprintf(stderr, "sqlgate-lab: %v\n", err)
		return 1
	}
	return f(l)
}

// defaultSqlgate is the sqlgate next to this binary (make puts both in
// bin/).
func defaultSqlgate() string {
	exe, err := os.Executable()
	if err != nil {
		return "bin/sqlgate"
	}
	return filepath.Join(filepath.Dir(exe), "sqlgate")
}
