package frontend_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"sqlgate/internal/backend"
	"sqlgate/internal/certs"
	"sqlgate/internal/config"
	"sqlgate/internal/frontend"
	"sqlgate/internal/runtime"
	"sqlgate/internal/testbed"
)

// Hostgroups of the test topology: the primary is the writer, replicas
// read.
const (
	writerHG = 0
	readerHG = 1
)

// bedOnce shares one MariaDB bed (primary + 1 replica) between the tests of
// this package: starting one takes seconds.
var (
	bedOnce sync.Once
	bed     *testbed.Bed
	bedErr  error
)

func sharedBed(t *testing.T) *testbed.Bed {
	t.Helper()
	if _, err := exec_LookPath("mariadbd"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("mariadbd not found; CI must install mariadb-server")
		}
		t.Skip("mariadbd not found: apt-get install mariadb-server mariadb-client")
	}
	bedOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		bed, bedErr = testbed.Start(ctx, testbed.Options{
			Replicas:   1,
			ServerArgs: []string{"--max_allowed_packet=128M", "--max_connections=2000"},
		})
	})
	if bedErr != nil {
		t.Fatalf("starting MariaDB testbed: %v", bedErr)
	}
	return bed
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bed != nil {
		bed.Stop()
	}
	os.Exit(code)
}

// proxy is an in-process sqlgate in front of the shared bed.
type proxy struct {
	Addr  string
	Srv   *frontend.Server
	Pool  *backend.Pool
	Store *runtime.Store
	Cfg   *config.Config
}

func port(n *testbed.Node) int { return n.Port }

// baseConfig routes user app to the writer by default, with the replica in
// the reader hostgroup.
func baseConfig(b *testbed.Bed) *config.Config {
	cfg := &config.Config{
		MySQLVariables: map[string]string{"have_ssl": "false"},
		MySQLServers: []config.MySQLServer{
			{HostgroupID: writerHG, Hostname: "127.0.0.1", Port: port(b.Primary), Status: "ONLINE", Weight: 1, MaxConnections: 1000},
		},
		MySQLUsers: []config.MySQLUser{
			{Username: testbed.AppUser, Password: testbed.AppPassword, Active: true, DefaultHostgroup: writerHG,
				TransactionPersistent: true, Backend: true, Frontend: true, MaxConnections: 10000},
		},
	}
	for _, r := range b.Replicas {
		cfg.MySQLServers = append(cfg.MySQLServers, config.MySQLServer{HostgroupID: readerHG, Hostname: "127.0.0.1",
			Port: port(r), Status: "ONLINE", Weight: 1, MaxConnections: 1000})
	}
	return cfg
}

func startProxy(t *testing.T, cfg *config.Config) *proxy {
	t.Helper()
	snap, _, err := runtime.Build(cfg)
	if err != nil {
		t.Fatalf("runtime.Build: %v", err)
	}
	store := &runtime.Store{}
	store.Publish(snap)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	pool := backend.NewPool(log)
	pool.Configure(snap.Servers, snap.PoolOptions())
	var srv *frontend.Server
	if snap.Vars.HaveSSL {
		tc, err := certs.LoadOrCreate(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		srv = frontend.NewServer(store, pool, tc, log)
	} else {
		srv = frontend.NewServer(store, pool, nil, log)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		pool.Close()
	})
	return &proxy{Addr: ln.Addr().String(), Srv: srv, Pool: pool, Store: store, Cfg: cfg}
}

// dsn returns a go-sql-driver DSN for the proxy.
func (p *proxy) dsn(user, pass, db string, params string) string {
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr, c.DBName = user, pass, "tcp", p.Addr, db
	c.Timeout = 15 * time.Second
	s := c.FormatDSN()
	if params != "" {
		if containsQ(s) {
			s += "&" + params
		} else {
			s += "?" + params
		}
	}
	return s
}

func containsQ(s string) bool {
	for i := range s {
		if s[i] == '?' {
			return true
		}
	}
	return false
}

func (p *proxy) db(t *testing.T, params string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", p.dsn(testbed.AppUser, testbed.AppPassword, "test", params))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// sum adds up a counter over the servers of hostgroup hg.
func (p *proxy) sum(hg int, counter func(*backend.Server) int64) int64 {
	var n int64
	for _, h := range p.Pool.Hostgroups() {
		if h.ID == hg {
			for _, s := range h.Servers() {
				n += counter(s)
			}
		}
	}
	return n
}

// maxConnUsed is the most backend connections hostgroup hg had in use.
func (p *proxy) maxConnUsed(hg int) int64 {
	return p.sum(hg, func(s *backend.Server) int64 { return s.MaxConnUsed.Load() })
}

// queries is the number of statements sent to hostgroup hg.
func (p *proxy) queries(hg int) int64 {
	return p.sum(hg, func(s *backend.Server) int64 { return s.Queries.Load() })
}

// rootExec runs a statement as root on node n.
func rootExec(t *testing.T, b *testbed.Bed, n *testbed.Node, q string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Exec(ctx, n, q); err != nil {
		t.Fatalf("%s on %s: %v", q, n.Name, err)
	}
}

func mustExec(t *testing.T, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, q string, args ...any) sql.Result {
	t.Helper()
	r, err := db.ExecContext(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return r
}

func queryString(t *testing.T, db interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, q string, args ...any) string {
	t.Helper()
	var s sql.NullString
	if err := db.QueryRowContext(context.Background(), q, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s.String
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

var _ = fmt.Sprintf

type configServer = config.MySQLServer
type configUser = config.MySQLUser
