// Package packaging holds the Debian package of sqlgate (make deb) and its
// test: the .deb is built, its contents checked, and, as root, installed
// into this system, run as the unit runs it, removed and purged, twice.
package packaging

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
)

// run runs a command with a deadline and returns its combined output.
func run(t *testing.T, limit time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s %v: no end after %v", name, args, limit)
	}
	return string(out), err
}

// pkgStatus is dpkg's status of the sqlgate package: "" when dpkg never
// heard of it, "not-installed", "config-files", "installed".
func pkgStatus(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "dpkg-query", "-W", "-f=${db:Status-Status}", "sqlgate").Output()
	return strings.TrimSpace(string(out))
}

func mustRun(t *testing.T, limit time.Duration, name string, args ...string) string {
	t.Helper()
	out, err := run(t, limit, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// skipOrFail skips, except under CI=true, where what cannot run is a
// failure: CI runs as root on a machine that has dpkg.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true: "+format, args...)
	}
	t.Skipf(format, args...)
}

func TestDebVersion(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"v1.2.0", "1.2.0"},
		{"1.2.0", "1.2.0"},
		{"v1.2.0-3-gabc1234", "1.2.0+3.gabc1234"},
		{"v1.2.0-3-gabc1234-dirty", "1.2.0+3.gabc1234.dirty"},
		{"6da9ce1-dirty", "0.0~git6da9ce1.dirty"},
		{"0660450", "0.0~git0660450"}, // a commit, though it starts with a digit
		{"dev", "0.0~gitdev"},
	} {
		out, err := run(t, 10*time.Second, "./build-deb.sh", "-debversion", tc.in)
		if got := strings.TrimSpace(out); err != nil || got != tc.want {
			t.Errorf("build-deb.sh -debversion %s = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if out, err := run(t, 10*time.Second, "./build-deb.sh", "-debversion", "not a version"); err == nil {
		t.Errorf("build-deb.sh accepted %q: %s", "not a version", out)
	}
}

// buildDeb runs `make deb` into a temporary directory.
func buildDeb(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("dpkg-deb not found: make deb needs it (apt-get install dpkg)")
	}
	dir := t.TempDir()
	out := mustRun(t, 5*time.Minute, "make", "-C", "..", "--no-print-directory", "deb", "DEB_DIR="+dir)
	deb := strings.TrimSpace(out)
	if !strings.HasPrefix(deb, dir+"/sqlgate_") || !strings.HasSuffix(deb, ".deb") {
		t.Fatalf("make deb printed %q, want %s/sqlgate_<version>_<arch>.deb", out, dir)
	}
	return deb
}

// installed is what the package puts on the system, with owner and mode.
var installed = []struct {
	path, mode string
}{
	{"./usr/bin/sqlgate", "-rwxr-xr-x"},
	{"./usr/lib/systemd/system/sqlgate.service", "-rw-r--r--"},
	{"./usr/lib/systemd/system/sqlgate-initial.service", "-rw-r--r--"},
	{"./usr/share/man/man8/sqlgate.8.gz", "-rw-r--r--"},
	{"./etc/sqlgate/proxysql.cnf", "-rw-r--r--"},
	{"./etc/default/sqlgate", "-rw-r--r--"},
	{"./etc/logrotate.d/sqlgate", "-rw-r--r--"},
	{"./usr/share/doc/sqlgate/examples/single.cnf", "-rw-r--r--"},
	{"./usr/share/doc/sqlgate/examples/core.cnf", "-rw-r--r--"},
	{"./usr/share/doc/sqlgate/examples/satellite.cnf", "-rw-r--r--"},
}

// TestDeb builds the package and checks it; as root it installs it into
// this system and runs the service as its unit does (see installCycle).
func TestDeb(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: building the .deb takes a while")
	}
	deb := buildDeb(t)

	// Control fields: a Debian version that starts with a digit, this
	// machine's architecture.
	info := mustRun(t, time.Minute, "dpkg-deb", "-f", deb, "Package", "Version", "Architecture", "Depends")
	arch := strings.TrimSpace(mustRun(t, time.Minute, "dpkg", "--print-architecture"))
	for _, want := range []string{"Package: sqlgate\n", "Architecture: " + arch + "\n", "Depends: adduser, procps\n"} {
		if !strings.Contains(info, want) {
			t.Errorf("dpkg-deb -f: no %q in\n%s", want, info)
		}
	}
	if !regexp.MustCompile(`(?m)^Version: [0-9][A-Za-z0-9.+~]*$`).MatchString(info) {
		t.Errorf("dpkg-deb -f: not a Debian version:\n%s", info)
	}
	if !strings.HasSuffix(deb, "_"+arch+".deb") {
		t.Errorf("%s: file name does not end in _%s.deb", deb, arch)
	}
	ctl := mustRun(t, time.Minute, "dpkg-deb", "-I", deb)
	for _, want := range []string{"postinst", "prerm", "postrm", "conffiles", "md5sums"} {
		if !strings.Contains(ctl, want) {
			t.Errorf("dpkg-deb -I: no %s in the control archive:\n%s", want, ctl)
		}
	}

	// Contents: every file root-owned (--root-owner-group) with its mode.
	list := mustRun(t, time.Minute, "dpkg-deb", "-c", deb)
	for _, f := range installed {
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(f.mode) + ` root/root +\d+ \S+ \S+ ` + regexp.QuoteMeta(f.path) + `$`)
		if !re.MatchString(list) {
			t.Errorf("dpkg-deb -c: no %s %s root/root in\n%s", f.mode, f.path, list)
		}
	}
	if strings.Contains(list, "./var/") {
		t.Errorf("dpkg-deb -c: /var/lib/sqlgate is made by postinst, not shipped:\n%s", list)
	}

	// The man page documents every flag of the packaged binary.
	x := t.TempDir()
	mustRun(t, time.Minute, "dpkg-deb", "-x", deb, x)
	page := mustRun(t, time.Minute, "sh", "-c", "gunzip -c "+x+"/usr/share/man/man8/sqlgate.8.gz")
	help, _ := run(t, 10*time.Second, x+"/usr/bin/sqlgate", "-h")
	flags := regexp.MustCompile(`(?m)^  -([a-z][a-z-]*)`).FindAllStringSubmatch(help, -1)
	if len(flags) < 10 {
		t.Fatalf("sqlgate -h lists %d flags:\n%s", len(flags), help)
	}
	for _, f := range flags {
		if want := `\fB\-` + strings.ReplaceAll(f[1], "-", `\-`) + `\fR`; !strings.Contains(page, want) {
			t.Errorf("sqlgate.8: flag -%s missing", f[1])
		}
	}
	for _, want := range []string{".TH SQLGATE 8", ".SS sqlgate healthcheck", "/etc/sqlgate/proxysql.cnf", "SIGHUP"} {
		if !strings.Contains(page, want) {
			t.Errorf("sqlgate.8: no %q", want)
		}
	}
	if _, err := exec.LookPath("groff"); err == nil {
		// -ww: every warning; a malformed page prints something.
		out, err := run(t, time.Minute, "sh", "-c", "gunzip -c "+x+"/usr/share/man/man8/sqlgate.8.gz | groff -man -Tutf8 -ww -z")
		if err != nil || out != "" {
			t.Errorf("groff -ww on sqlgate.8: %v\n%s", err, out)
		}
	}

	if os.Geteuid() != 0 {
		t.Skip("not root: the install test (dpkg -i into this system) needs root")
	}
	if _, err := exec.LookPath("dpkg"); err != nil {
		t.Skip("dpkg not found")
	}
	// Never touch a real installation or a sqlgate user that is not ours.
	if st := pkgStatus(t); st != "" && st != "not-installed" {
		skipOrFail(t, "the sqlgate package is already on this system (%s): dpkg -P sqlgate first", st)
	}
	if _, err := user.Lookup("sqlgate"); err == nil {
		skipOrFail(t, "a user sqlgate exists that the package did not make")
	}
	for _, p := range []string{"/var/lib/sqlgate", "/etc/sqlgate"} {
		if _, err := os.Stat(p); err == nil {
			skipOrFail(t, "%s exists: not made by this test, left alone", p)
		}
	}
	t.Cleanup(func() {
		if out, err := run(t, 2*time.Minute, "dpkg", "-P", "sqlgate"); err != nil {
			t.Errorf("cleanup: dpkg -P sqlgate: %v\n%s", err, out)
		}
	})
	// Twice: the maintainer scripts leave nothing behind that breaks the
	// next install.
	for round := 1; round <= 2; round++ {
		t.Run(fmt.Sprintf("install-run-remove-purge-%d", round), func(t *testing.T) { installCycle(t, deb) })
		if t.Failed() {
			return
		}
	}
}

func installCycle(t *testing.T, deb string) {
	// Installing twice: the second is dpkg's reinstall, postinst configure
	// with the old version, which must change nothing.
	for i := 0; i < 2; i++ {
		mustRun(t, 2*time.Minute, "dpkg", "-i", deb)
	}
	if st := pkgStatus(t); st != "installed" {
		t.Fatalf("after dpkg -i: status %q, want installed", st)
	}
	u, err := user.Lookup("sqlgate")
	if err != nil {
		t.Fatalf("postinst made no user sqlgate: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if g, err := user.LookupGroupId(u.Gid); err != nil || g.Name != "sqlgate" {
		t.Errorf("user sqlgate's group: %v %v, want sqlgate", g, err)
	}
	if pw := mustRun(t, time.Minute, "getent", "passwd", "sqlgate"); !strings.HasSuffix(strings.TrimSpace(pw), ":/var/lib/sqlgate:/usr/sbin/nologin") || uid >= 1000 {
		t.Errorf("user sqlgate: %s, want a system user, home /var/lib/sqlgate, no shell", pw)
	}
	checkOwner := func(path string, uid, gid int, perm os.FileMode) {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			return
		}
		st := fi.Sys().(*syscall.Stat_t)
		if int(st.Uid) != uid || int(st.Gid) != gid || fi.Mode().Perm() != perm {
			t.Errorf("%s: %d:%d %v, want %d:%d %v", path, st.Uid, st.Gid, fi.Mode().Perm(), uid, gid, perm)
		}
	}
	checkOwner("/var/lib/sqlgate", uid, gid, 0o750)
	checkOwner("/etc/sqlgate/proxysql.cnf", 0, gid, 0o640) // passwords: not world-readable
	for _, f := range installed {
		if _, err := os.Stat(strings.TrimPrefix(f.path, ".")); err != nil {
			t.Errorf("installed file: %v", err)
		}
	}

	if _, err := exec.LookPath("systemd-analyze"); err == nil {
		// --man=no: the man page is checked above, and man(1) may be absent.
		out, err := run(t, time.Minute, "systemd-analyze", "verify", "--man=no",
			"/usr/lib/systemd/system/sqlgate.service", "/usr/lib/systemd/system/sqlgate-initial.service")
		if err != nil || strings.Contains(out, "sqlgate") {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
	} else {
		skipOrFail(t, "systemd-analyze not found (apt-get install systemd): the unit cannot be verified")
	}
	if _, err := exec.LookPath("logrotate"); err == nil {
		out, err := run(t, time.Minute, "logrotate", "-d", "-s", filepath.Join(t.TempDir(), "state"), "/etc/logrotate.d/sqlgate")
		if err != nil || strings.Contains(strings.ToLower(out), "error") {
			t.Errorf("logrotate -d /etc/logrotate.d/sqlgate: %v\n%s", err, out)
		}
	}

	runAsUnit(t, uid)

	// remove: the program goes, configuration, data and user stay.
	mustRun(t, 2*time.Minute, "dpkg", "-r", "sqlgate")
	if st := pkgStatus(t); st != "config-files" {
		t.Errorf("after dpkg -r: status %q, want config-files", st)
	}
	for _, p := range []string{"/usr/bin/sqlgate", "/usr/lib/systemd/system/sqlgate.service", "/usr/share/man/man8/sqlgate.8.gz"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("after dpkg -r: %s still there", p)
		}
	}
	for _, p := range []string{"/etc/sqlgate/proxysql.cnf", "/etc/logrotate.d/sqlgate", "/var/lib/sqlgate/proxysql.log"} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("after dpkg -r: %v (kept until purge)", err)
		}
	}
	if _, err := user.Lookup("sqlgate"); err != nil {
		t.Errorf("after dpkg -r: user sqlgate gone before purge: %v", err)
	}
	// purge: everything goes; a second purge is a no-op.
	for i := 0; i < 2; i++ {
		mustRun(t, 2*time.Minute, "dpkg", "-P", "sqlgate")
	}
	for _, p := range []string{"/etc/sqlgate", "/etc/default/sqlgate", "/etc/logrotate.d/sqlgate", "/var/lib/sqlgate"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("after dpkg -P: %s still there", p)
		}
	}
	if _, err := user.Lookup("sqlgate"); err == nil {
		t.Errorf("after dpkg -P: user sqlgate still there")
	}
	if _, err := user.LookupGroup("sqlgate"); err == nil {
		t.Errorf("after dpkg -P: group sqlgate still there")
	}
	if st := pkgStatus(t); st != "" && st != "not-installed" {
		t.Errorf("after dpkg -P: package status %q", st)
	}
}

// execStart is the installed unit's ExecStart, split into words, without
// the SQLGATE_OPTS that are unset by default.
func execStart(t *testing.T) []string {
	t.Helper()
	unit, err := os.ReadFile("/usr/lib/systemd/system/sqlgate.service")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^ExecStart=(.*)$`).FindSubmatch(unit)
	if m == nil {
		t.Fatal("sqlgate.service: no ExecStart")
	}
	var args []string
	for _, w := range strings.Fields(string(m[1])) {
		if w != "$SQLGATE_OPTS" {
			args = append(args, w)
		}
	}
	if !regexp.MustCompile(`(?m)^Type=notify$`).Match(unit) || !regexp.MustCompile(`(?m)^User=sqlgate$`).Match(unit) {
		t.Fatal("sqlgate.service: not Type=notify with User=sqlgate")
	}
	return args
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// runAsUnit starts the installed binary as sqlgate.service would (its
// ExecStart, as the user sqlgate, UMask 0027, a NOTIFY_SOCKET): systemd is
// not PID 1 where this runs, so the test is the service manager. The
// packaged cnf is used with free ports instead of 6032/6033 (the second -c
// wins), so the datadir and log are the packaged /var/lib/sqlgate.
func runAsUnit(t *testing.T, uid int) {
	cnf, err := os.ReadFile("/etc/sqlgate/proxysql.cnf")
	if err != nil {
		t.Fatal(err)
	}
	adminPort, mysqlPort := freePort(t), freePort(t)
	text := strings.Replace(string(cnf), `mysql_ifaces="127.0.0.1:6032"`, fmt.Sprintf(`mysql_ifaces="127.0.0.1:%d"`, adminPort), 1)
	text = strings.Replace(text, `interfaces="0.0.0.0:6033"`, fmt.Sprintf(`interfaces="127.0.0.1:%d"`, mysqlPort), 1)
	if text == string(cnf) || !strings.Contains(text, strconv.Itoa(mysqlPort)) {
		t.Fatal("the packaged proxysql.cnf no longer has admin 127.0.0.1:6032 and clients 0.0.0.0:6033")
	}
	// Not t.TempDir: its parent is 0700, and the user sqlgate reads this.
	dir, err := os.MkdirTemp("", "sqlgate-deb-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "proxysql.cnf")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}

	sock := fmt.Sprintf("@sqlgate-deb-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	notes := make(chan string, 16)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := l.ReadFromUnix(buf)
			if err != nil {
				close(notes)
				return
			}
			notes <- string(buf[:n])
		}
	}()

	args := append(execStart(t), "-c", path)
	cmd := exec.Command("sh", "-c", `umask 0027; exec setpriv --reuid=sqlgate --regid=sqlgate --init-groups --no-new-privs -- "$@"`, "sh")
	cmd.Args = append(cmd.Args, args...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "NOTIFY_SOCKET=" + sock}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// exited is closed once the process is gone; waitErr is then its
	// status. Whatever fails, the process is killed and reaped.
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	defer func() {
		cmd.Process.Kill()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Errorf("pid %d not reaped 10s after SIGKILL", cmd.Process.Pid)
		}
	}()
	t.Logf("started %v (pid %d)", args, cmd.Process.Pid)

	// READY=1 arrives only when both listeners accept: dial them the
	// moment it does.
	select {
	case n := <-notes:
		if !strings.Contains(n, "READY=1") {
			t.Fatalf("first notification %q, want READY=1", n)
		}
		for _, port := range []int{adminPort, mysqlPort} {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
			if err != nil {
				t.Fatalf("READY=1 sent but port %d does not accept: %v", port, err)
			}
			c.Close()
		}
		t.Logf("notification: %q", n)
	case <-exited:
		t.Fatalf("sqlgate exited before READY=1: %v\n%s", waitErr, stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("no READY=1 within 20s\n%s", stderr.String())
	}
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)); err != nil || !regexp.MustCompile(`(?m)^Uid:\s+`+strconv.Itoa(uid)+`\s`).Match(st) {
		t.Errorf("sqlgate does not run as the user sqlgate (uid %d): %v", uid, err)
	}

	// The packaged configuration is what runs: ask the admin interface.
	db, err := sql.Open("mysql", fmt.Sprintf("admin:admin@tcp(127.0.0.1:%d)/?timeout=5s&readTimeout=5s", adminPort))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var host string
	var port int
	if err := db.QueryRow("SELECT hostname, port FROM runtime_mysql_servers").Scan(&host, &port); err != nil || host != "127.0.0.1" || port != 3306 {
		t.Errorf("admin: runtime_mysql_servers = %s:%d, %v; want the sample's 127.0.0.1:3306", host, port, err)
	}

	// The log is /var/lib/sqlgate/proxysql.log, owned by sqlgate; logrotate
	// moves it and the HUP its postrotate sends makes sqlgate reopen it.
	const logPath = "/var/lib/sqlgate/proxysql.log"
	waitLog := func(path, want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			b, _ := os.ReadFile(path)
			if strings.Contains(string(b), want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no %q within 10s:\n%s", path, want, b)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitLog(logPath, "sqlgate started")
	checkOwned := func(path string, perm os.FileMode) {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != uid || fi.Mode().Perm() != perm {
			t.Errorf("%s: uid %d %v, want the sqlgate user's and %v", path, st.Uid, fi.Mode().Perm(), perm)
		}
	}
	checkOwned(logPath, 0o640)
	if _, err := exec.LookPath("logrotate"); err == nil {
		// -f: rotate now. The postrotate's systemctl finds no systemd
		// here and is ignored (|| true); the test sends the HUP instead.
		mustRun(t, time.Minute, "logrotate", "-f", "-s", filepath.Join(dir, "state"), "/etc/logrotate.d/sqlgate")
	} else if err := os.Rename(logPath, logPath+".1"); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog(logPath, "SIGHUP: logs reopened")
	checkOwned(logPath, 0o640)
	waitLog(logPath+".1", "sqlgate started")

	// A stop: STOPPING=1, then a clean exit.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	stopping, stopped := false, false
	timeout := time.After(15 * time.Second)
	for !stopped {
		select {
		case n, ok := <-notes:
			if ok && strings.Contains(n, "STOPPING=1") {
				stopping = true
			}
		case <-exited:
			stopped = true
			if waitErr != nil {
				t.Errorf("sqlgate exited with %v after SIGTERM\n%s", waitErr, stderr.String())
			}
		case <-timeout:
			t.Fatalf("sqlgate still running 15s after SIGTERM")
		}
	}
	// STOPPING=1 was sent before the exit; drain what is queued.
	for !stopping {
		select {
		case n := <-notes:
			stopping = strings.Contains(n, "STOPPING=1")
		case <-time.After(time.Second):
			t.Fatalf("no STOPPING=1 before the exit")
		}
	}
	if stderr.Len() > 0 {
		t.Logf("sqlgate's stderr (the journal under systemd): %s", stderr.String())
	}
}
