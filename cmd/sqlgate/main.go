// Command sqlgate is a ProxySQL-compatible MySQL proxy.
//
//	sqlgate -f -c proxysql.cnf -D DATADIR [--initial] [--reload]
//
// It reads ProxySQL's configuration file unchanged and serves MySQL clients
// on mysql-interfaces (default 0.0.0.0:6033).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"sync/atomic"
	"syscall"
	"time"

	"sqlgate/internal/admin"
	"sqlgate/internal/backend"
	"sqlgate/internal/certs"
	"sqlgate/internal/config"
	"sqlgate/internal/frontend"
	"sqlgate/internal/health"
	"sqlgate/internal/logfile"
	"sqlgate/internal/monitor"
	"sqlgate/internal/runtime"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) > 0 {
		if cmd, ok := subcommands[args[0]]; ok {
			return cmd(args[1:])
		}
	}
	// stopped logs the end of a shutdown after every deferred Close ran.
	var stopped func()
	defer func() {
		if stopped != nil {
			stopped()
		}
	}()
	fs := flag.NewFlagSet("sqlgate", flag.ContinueOnError)
	var (
		foreground = fs.Bool("f", false, "log to stderr; otherwise the log goes to errorlog from the config file, by default DATADIR/proxysql.log (sqlgate never forks)")
		cnf        = fs.String("c", "/etc/proxysql.cnf", "configuration file (ProxySQL's proxysql.cnf format)")
		datadir    = fs.String("D", "", "data directory (overrides datadir in the configuration file)")
		initial    = fs.Bool("initial", false, "ignore the saved configuration database and start from the configuration file")
		reload     = fs.Bool("reload", false, "merge the configuration file into the saved configuration database")
		showVer    = fs.Bool("version", false, "print the version and exit")
		logLevel   = fs.String("log-level", "info", "log level: debug, info, warn, error")
		cpuProfile = fs.String("cpuprofile", "", "write a CPU profile to this file until shutdown")
		psVersion  = fs.String("proxysql-version", "", "report this version as @@version and admin-version on the admin interface; ProxySQL peers cluster only with nodes of their own version string (e.g. 2.7.1-16-g2726c27)")
		bootV1     = fs.Bool("proxysql-boot-versions", false, "start every module at checksum version 1 as ProxySQL does; this reproduces ProxySQL's version-1 trap and is for comparison only")
		healthFile = fs.String("health-file", "", "keep this file at 0 while the node serves and 1 otherwise, for keepalived's track_file (see `sqlgate keepalived-config`); a guardian process writes 1 the moment sqlgate dies")
		needWriter = fs.Bool("health-require-writer", false, "with -health-file: report unhealthy while no server in a writer hostgroup is ONLINE")
		drain      = fs.Duration("drain-timeout", time.Second, "on stop, how long statements in flight may run before their sessions are cut")
		maxDigests = fs.Int("max-query-digests", 200000, "bound of stats_mysql_query_digest: new digests beyond it are counted in Digest_entries_dropped, not stored (a flag, not a mysql-* variable, so the variable checksum stays ProxySQL's)")
	)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *maxDigests < 1 {
		fmt.Fprintf(os.Stderr, "sqlgate: -max-query-digests must be at least 1, got %d\n", *maxDigests)
		return 2
	}
	if *drain < 0 || *drain > time.Minute {
		fmt.Fprintf(os.Stderr, "sqlgate: -drain-timeout must be 0..1m, got %v\n", *drain)
		return 2
	}
	if err := health.CheckPath(*healthFile); err != nil {
		fmt.Fprintf(os.Stderr, "sqlgate: %v\n", err)
		return 2
	}
	if *showVer {
		fmt.Println("sqlgate", version)
		return 0
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "sqlgate: -log-level: %v\n", err)
		return 2
	}
	log := slog.New(logfile.NewHandler(os.Stderr, lvl))
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "sqlgate: -cpuprofile: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(os.Stderr, "sqlgate: -cpuprofile: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}

	cfg, warnings, err := config.Load(*cnf)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sqlgate: %v\n", err)
		return 1
	}
	dir := cfg.Datadir
	if *datadir != "" {
		dir = *datadir
	}
	if dir == "" {
		dir = "/var/lib/proxysql"
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		fmt.Fprintf(os.Stderr, "sqlgate: data directory: %v\n", err)
		return 1
	}
	// As ProxySQL: in the foreground the log is stderr, otherwise errorlog
	// or DATADIR/proxysql.log, reopened by PROXYSQL FLUSH LOGS and SIGHUP.
	var logFile *logfile.File
	if !*foreground {
		path := cfg.Errorlog
		if path == "" {
			path = filepath.Join(dir, "proxysql.log")
		}
		if logFile, err = logfile.Open(path); err != nil {
			fmt.Fprintf(os.Stderr, "sqlgate: %v\n", err)
			return 1
		}
		log = slog.New(logfile.NewHandler(logFile, lvl))
	}
	for _, w := range warnings {
		log.Warn("config: " + w.String())
	}
	tlsConf, err := certs.LoadOrCreate(dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sqlgate: %v\n", err)
		return 1
	}
	adminVersion := version
	if *psVersion != "" {
		adminVersion = *psVersion
	}
	var store runtime.Store
	pool := backend.NewPool(log.With(logfile.ModuleKey, "backend"))
	defer pool.Close()
	srv := frontend.NewServer(&store, pool, tlsConf, log.With(logfile.ModuleKey, "frontend"))
	ctl := controller{Server: srv, logFile: logFile}
	srv.Datadir = dir
	srv.Stats.MaxDigests.Store(int64(*maxDigests))
	defer srv.Events.Close()

	// The monitor's history exists first, so the admin that shows it and
	// the monitor that fills it are built in one pass.
	monLogs := monitor.NewLogs(&store)

	// The admin store decides what runs: proxysql.db when it exists, the
	// config file otherwise (or with --initial/--reload), as ProxySQL does.
	adm, err := admin.Open(admin.Options{
		Datadir: dir, ConfigPath: *cnf, Config: cfg, Initial: *initial, Reload: *reload, Version: adminVersion,
		ProxySQLBootVersions: *bootV1,
		Runtime:              &store, Pool: pool, Stats: srv, Control: ctl, MonitorLogs: monLogs, TLS: tlsConf, Log: log.With(logfile.ModuleKey, "admin"),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "sqlgate: %v\n", err)
		return 1
	}
	defer adm.Close()
	// The monitor follows the runtime configuration and reports read_only
	// results to the admin, which owns the runtime server list.
	mon := monitor.New(&store, pool, adm, monLogs, log.With(logfile.ModuleKey, "monitor"))
	mon.Start()
	defer mon.Close()
	if err := adm.Listen(); err != nil {
		fmt.Fprintf(os.Stderr, "sqlgate: %v\n", err)
		return 1
	}
	snap := store.Load()

	if err := srv.Start(snap.Vars.Interfaces); err != nil {
		fmt.Fprintf(os.Stderr, "sqlgate: %v\n", err)
		return 1
	}
	var stopping atomic.Bool
	if *healthFile != "" {
		exe, err := os.Executable()
		if err != nil {
			fmt.Fprintf(os.Stderr, "sqlgate: -health-file: %v\n", err)
			return 1
		}
		h := &nodeHealth{srv: srv, store: &store, pool: pool, requireWriter: *needWriter, stopping: stopping.Load}
		rep, err := health.StartReporter(*healthFile, exe, h.check, log.With(logfile.ModuleKey, "health"))
		if err != nil {
			fmt.Fprintf(os.Stderr, "sqlgate: %v\n", err)
			return 1
		}
		defer rep.Close()
	}
	log.Info("sqlgate started", "version", version, "config", *cnf, "datadir", dir,
		"servers", len(snap.Servers), "users", len(snap.Users), "rules", snap.Rules.Len())

	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			// logrotate's postrotate: the same as PROXYSQL FLUSH LOGS.
			if err := ctl.FlushLogs(); err != nil {
				log.Error("SIGHUP: cannot reopen the logs", "err", err)
				continue
			}
			log.Info("SIGHUP: logs reopened")
		}
	}()
	// Ready once both listeners serve and the signal handlers are in
	// place, so a stop right after the start drains as any other.
	notifyManager(log, "READY=1\nSTATUS=serving: admin and client listeners up")
	code := 0
	select {
	case s := <-sig:
		log.Info("shutting down", "signal", s.String())
	case <-adm.Done():
		log.Info("shutting down: PROXYSQL SHUTDOWN on the admin interface")
	case err := <-srv.Failed():
		log.Error("listener failed", "err", err)
		code = 1
	}
	notifyManager(log, "STOPPING=1")
	// A stop must never hang: whatever is still running after the limit
	// (or at a second signal) is abandoned. Everything already committed
	// to proxysql.db is safe; SQLite's journal covers the rest.
	start := time.Now()
	limit := *drain + shutdownSlack
	timer := time.AfterFunc(limit, func() {
		log.Error("shutdown did not finish in time: exiting now", "limit", limit)
		os.Exit(1)
	})
	go func() {
		s := <-sig
		log.Warn("second signal during shutdown: exiting now", "signal", s.String())
		os.Exit(1)
	}()
	stopped = func() {
		timer.Stop()
		log.Info("stopped", "took", time.Since(start).Round(time.Millisecond))
	}
	// The order is what makes a planned switchover lose nothing. The node
	// stops accepting and ends its sessions while it still holds the VIP:
	// a reply sent after the VIP moved would never arrive, because the
	// client's packets then go to the other node, which resets them. Only
	// then does the status file say 1, and keepalived moves the VIP.
	ctx, cancel := context.WithTimeout(context.Background(), *drain)
	defer cancel()
	srv.Shutdown(ctx)
	stopping.Store(true)
	return code
}

// controller is the data path as admin commands switch it, with
// PROXYSQL FLUSH LOGS reopening the process log file as well as starting a
// new events log file, as it does in ProxySQL.
type controller struct {
	*frontend.Server
	logFile *logfile.File // nil in the foreground (stderr)
}

func (c controller) FlushLogs() error {
	err := c.Server.FlushLogs()
	if c.logFile != nil {
		err = errors.Join(err, c.logFile.Reopen())
	}
	return err
}

// shutdownSlack bounds the part of a stop that follows the drain: cutting
// the sessions still busy, closing the cluster, monitor, pool and admin.
const shutdownSlack = 1500 * time.Millisecond
