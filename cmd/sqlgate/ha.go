package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sqlgate/internal/backend"
	"sqlgate/internal/frontend"
	"sqlgate/internal/health"
	"sqlgate/internal/runtime"
)

// subcommands are the sqlgate commands that are not the proxy itself.
var subcommands = map[string]func(args []string) int{
	"healthcheck":          healthcheckCmd,
	"keepalived-config":    keepalivedConfigCmd,
	"keepalived-notify":    keepalivedNotifyCmd,
	health.GuardianCommand: guardianCmd,
}

// healthcheckCmd is `sqlgate healthcheck`, for keepalived's vrrp_script: exit
// 0 when the local node serves, 1 (and why on stderr) when not, 2 on a usage
// error. It never runs longer than -timeout.
func healthcheckCmd(args []string) int {
	fs := flag.NewFlagSet("sqlgate healthcheck", flag.ContinueOnError)
	var o health.ProbeOptions
	fs.StringVar(&o.MySQL, "mysql", "127.0.0.1:6033", "MySQL interface to check")
	fs.StringVar(&o.User, "user", "", "log in as this mysql_users user and ping; without it, check that the server greeting arrives")
	fs.StringVar(&o.Password, "password", "", "password of -user")
	fs.BoolVar(&o.RequireWriter, "require-writer", false, "also require an ONLINE server in a writer hostgroup (asked on -admin)")
	fs.StringVar(&o.Admin, "admin", "127.0.0.1:6032", "admin interface, for -require-writer")
	fs.StringVar(&o.AdminUser, "admin-user", "admin", "admin user, for -require-writer")
	fs.StringVar(&o.AdminPassword, "admin-password", "admin", "admin password, for -require-writer")
	fs.DurationVar(&o.Timeout, "timeout", 500*time.Millisecond, "the whole check's deadline")
	quiet := fs.Bool("q", false, "print nothing")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "sqlgate healthcheck: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := health.Probe(context.Background(), o); err != nil {
		if !*quiet {
			fmt.Fprintf(os.Stderr, "sqlgate healthcheck: unhealthy: %v\n", err)
		}
		return 1
	}
	return 0
}

func keepalivedConfigCmd(args []string) int {
	fs := flag.NewFlagSet("sqlgate keepalived-config", flag.ContinueOnError)
	exe, _ := os.Executable()
	var o health.KeepalivedOptions
	var peers string
	fs.StringVar(&o.VIP, "vip", "", "virtual IP with its prefix length, e.g. 10.0.0.50/24 (required)")
	fs.StringVar(&o.Interface, "interface", "", "interface that carries the VIP, e.g. eth0 (required)")
	fs.IntVar(&o.Priority, "priority", 100, "this core's VRRP priority, 1..254; give the other core a different one")
	fs.IntVar(&o.RouterID, "router-id", 51, "virtual_router_id: the same on both cores, unique on the network segment")
	fs.DurationVar(&o.Advert, "advert", 100*time.Millisecond, "advert interval (VRRPv3); a crashed holder is replaced after about 3.6 of them")
	fs.StringVar(&o.Instance, "instance", "sqlgate_vip", "vrrp_instance name")
	fs.StringVar(&o.Name, "name", "", "this node's name in keepalived's logs (default: the host name)")
	fs.StringVar(&o.HealthFile, "health-file", "/run/sqlgate/health", "the status file sqlgate keeps (start sqlgate with the same -health-file); empty: none")
	fs.StringVar(&o.Sqlgate, "sqlgate", exe, "absolute path of the sqlgate binary keepalived runs")
	fs.BoolVar(&o.Script, "script", true, "add the `sqlgate healthcheck` login check as a backstop (once a second)")
	fs.StringVar(&o.Healthcheck, "healthcheck", "", "extra arguments for `sqlgate healthcheck`, e.g. \"-user monitor -password secret\"")
	fs.StringVar(&o.NotifyLog, "notify-log", "/var/log/sqlgate-vrrp.log", "log of VRRP state changes (empty: no notify hook)")
	fs.StringVar(&o.UnicastSrc, "unicast-src", "", "this node's address, for unicast adverts")
	fs.StringVar(&peers, "unicast-peers", "", "comma-separated addresses of the other cores: unicast instead of multicast adverts")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if peers != "" {
		o.UnicastPeers = strings.Split(peers, ",")
	}
	if o.Sqlgate != "" {
		if abs, err := filepath.Abs(o.Sqlgate); err == nil {
			o.Sqlgate = abs
		}
	}
	conf, err := health.KeepalivedConfig(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sqlgate keepalived-config: %v\n", err)
		return 2
	}
	fmt.Print(conf)
	return 0
}

// keepalivedNotifyCmd is the notify hook: keepalived appends TYPE NAME STATE
// PRIORITY to the command line.
func keepalivedNotifyCmd(args []string) int {
	fs := flag.NewFlagSet("sqlgate keepalived-notify", flag.ContinueOnError)
	logPath := fs.String("log", "", "append the transition to this file (required)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *logPath == "" {
		fmt.Fprintln(os.Stderr, "sqlgate keepalived-notify: -log is required")
		return 2
	}
	if err := health.Notify(*logPath, fs.Args()); err != nil {
		fmt.Fprintf(os.Stderr, "sqlgate keepalived-notify: %v\n", err)
		return 1
	}
	return 0
}

func guardianCmd(args []string) int {
	fs := flag.NewFlagSet("sqlgate "+health.GuardianCommand, flag.ContinueOnError)
	path := fs.String("file", "", "status file")
	if err := fs.Parse(args); err != nil || *path == "" {
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	in, err := health.GuardianPipe()
	if err != nil {
		fmt.Fprintf(os.Stderr, "sqlgate %s: %v\n", health.GuardianCommand, err)
		return 2
	}
	if err := health.RunGuardian(*path, in, log); err != nil {
		log.Error("health guardian: " + err.Error())
		return 1
	}
	return 0
}

// nodeHealth is what sqlgate reports in its status file.
type nodeHealth struct {
	srv           *frontend.Server
	store         *runtime.Store
	pool          *backend.Pool
	requireWriter bool
	// stopping is set once a stop has drained the sessions: from then on
	// the node gives the VIP away.
	stopping func() bool
}

func (h *nodeHealth) check() (bool, string) {
	if h.stopping() {
		return false, "stopping"
	}
	// A draining node keeps the VIP until its sessions have ended (see the
	// stop sequence in run); paused or stopped, it gives it away.
	if st := h.srv.State(); st != frontend.Serving && st != frontend.Draining {
		return false, st.String()
	}
	if h.requireWriter && writersOnline(h.store.Load(), h.pool) == 0 {
		return false, "no ONLINE server in a writer hostgroup"
	}
	return true, ""
}

// writersOnline counts ONLINE servers in writer hostgroups: the
// writer_hostgroup of each mysql_replication_hostgroups row, or without
// any, the users' default hostgroups.
func writersOnline(snap *runtime.Snapshot, pool *backend.Pool) int {
	writers := map[int]bool{}
	for _, r := range snap.Replication {
		writers[r.Writer] = true
	}
	if len(writers) == 0 {
		for _, u := range snap.Users {
			writers[u.DefaultHostgroup] = true
		}
	}
	n := 0
	for _, hg := range pool.Hostgroups() {
		if !writers[hg.ID] {
			continue
		}
		for _, s := range hg.Servers() {
			if s.Status() == backend.Online {
				n++
			}
		}
	}
	return n
}
