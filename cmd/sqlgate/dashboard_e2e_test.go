package main

import (
	"crypto/md5"
	"crypto/tls"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"sqlgate/internal/testbed"
)

// dashboardCluster starts three cores with the dashboard on and a MariaDB
// primary as their backend (monitored), and returns the nodes and each
// node's web port. The cluster checks every 200 ms.
func dashboardCluster(t *testing.T) ([]*clusterNode, []int) {
	t.Helper()
	bed := testbed.ForTest(t, testbed.Options{})
	bin := buildBinary(t)
	const count = 3
	admins, apps, webPorts := make([]int, count), make([]int, count), make([]int, count)
	for i := range count {
		admins[i], apps[i], webPorts[i] = freePort(t), freePort(t), freePort(t)
	}
	var nodes []*clusterNode
	for i, name := range []string{"a", "b", "c"} {
		p := &proxy{t: t, bin: bin, dir: t.TempDir(), admin: admins[i], app: apps[i]}
		p.cnf = filepath.Join(p.dir, "proxysql.cnf")
		s := clusterCnf(p.dir, admins[i], apps[i], admins, "")
		s = strings.Replace(s, "cluster_check_status_frequency=5 }", fmt.Sprintf(
			`cluster_check_status_frequency=5 web_enabled=true web_port=%d stats_credentials="stats:stats;viewer:viewerpw" }`, webPorts[i]), 1)
		s = strings.Replace(s, `{ address="127.0.0.1", port=3306, hostgroup=0 }`, fmt.Sprintf(`{ address="127.0.0.1", port=%d, hostgroup=0 }`, bed.Primary.Port), 1)
		s = strings.Replace(s, "monitor_enabled=false", fmt.Sprintf(`monitor_username="%s" monitor_password="%s" monitor_ping_interval=500 monitor_connect_interval=1000`,
			testbed.MonitorUser, testbed.MonitorPassword), 1)
		if err := os.WriteFile(p.cnf, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, &clusterNode{proxy: p, name: name})
	}
	for i, n := range nodes {
		n.start()
		t.Cleanup(n.kill)
		n.openDB(t)
		n.waitListening(webPorts[i], time.Now().Add(10*time.Second))
	}
	return nodes, webPorts
}

// TestDashboard: the page loads in a real headless Chromium with digest
// authentication and no console errors, shows every node, and shows a
// killed peer as down within 2 s; a screenshot is kept as an artifact.
func TestDashboard(t *testing.T) {
	chromiumPath(t)
	nodes, webPorts := dashboardCluster(t)
	a, c := nodes[0], nodes[2]

	// Some traffic, for the digests and the sparklines.
	db, err := sql.Open("mysql", fmt.Sprintf("app:app@tcp(127.0.0.1:%d)/?timeout=5s", a.app))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := range 50 {
		if _, err := db.Exec("SELECT ?", i); err != nil {
			t.Fatalf("a statement through node a: %v", err)
		}
	}
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() { // a steady trickle while the page is open
		defer close(stopped)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			db.Exec("SELECT ? + 1, SLEEP(0.001)", i)
			if i%5 == 0 {
				db.Exec("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ?", "mysql")
			}
		}
	}()
	defer func() { close(stop); <-stopped }()

	br := startBrowser(t, "admin", "admin")
	url := fmt.Sprintf("https://127.0.0.1:%d/", webPorts[0])
	br.navigate(url)
	nodeState := func(n *clusterNode) string {
		return strings.Trim(br.eval(fmt.Sprintf(`(document.querySelector('[data-node="127.0.0.1:%d"]') || {dataset: {}}).dataset.state || ""`, n.admin)), `"`)
	}
	waitFor(t, "every node shown up on the page", 20*time.Second, func() bool {
		for _, n := range nodes {
			if nodeState(n) != "up" {
				return false
			}
		}
		return true
	})
	// Every module of every node in the matrix, the backend, the digests,
	// and the history (an admin user).
	if got := br.eval(`document.querySelectorAll('#cluster-modules td.cell').length`); got != "21" {
		t.Errorf("module cells on the page: %s, want 3 nodes × 7 modules", got)
	}
	waitFor(t, "the backend and the digest on the page", 10*time.Second, func() bool {
		return br.eval(`document.querySelector('#backend-table tbody').textContent.includes('ONLINE')`) == "true" &&
			br.eval(`document.querySelector('#digest-table tbody').textContent.includes('SELECT ?')`) == "true"
	})
	if got := br.eval(`document.querySelectorAll('#history-table tbody tr').length > 0 && document.querySelector('#history-table').textContent.includes('boot from')`); got != "true" {
		t.Errorf("the configuration history is not on an admin's page")
	}

	// Kill peer c; the page must say so within 2 s.
	start := time.Now()
	c.kill()
	var took time.Duration
	for {
		if nodeState(c) == "down" {
			took = time.Since(start)
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("node c not shown down 5 s after it was killed; page state %q", nodeState(c))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("node c killed: shown down on the page after %v", took.Round(time.Millisecond))
	if took > 2*time.Second {
		t.Errorf("node c shown down after %v, want within 2 s", took)
	}
	waitFor(t, "c's modules shown unreachable", 5*time.Second, func() bool {
		return br.eval(`document.querySelector('#cluster-drift').textContent.includes('unreachable')`) == "true"
	})
	if nodeState(a) != "up" || nodeState(nodes[1]) != "up" {
		t.Errorf("a and b not shown up after c was killed: %s, %s", nodeState(a), nodeState(nodes[1]))
	}
	// A change on this node reaches the history panel without a reload.
	a.must("SET admin-refresh_interval=2500; LOAD ADMIN VARIABLES TO RUNTIME")
	waitFor(t, "the LOAD in the page's history", 5*time.Second, func() bool {
		return br.eval(`document.querySelector('#history-table').textContent.includes('LOAD ADMIN VARIABLES TO RUNTIME by admin@')`) == "true"
	})
	time.Sleep(2 * time.Second) // a few more polls, for the sparklines and any late error

	dir := os.Getenv("SQLGATE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "build", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot, _ := filepath.Abs(filepath.Join(dir, "dashboard.png"))
	br.screenshot(shot)
	t.Logf("screenshot: %s", shot)
	for _, p := range br.Problems() {
		t.Errorf("page: %s", p)
	}
}

// TestDashboardAttacks: wrong passwords, a stats user asking for the
// history, huge headers and bodies, a port in use, LOAD ADMIN VARIABLES
// twice, and turning the dashboard off and on.
func TestDashboardAttacks(t *testing.T) {
	p := newProxy(t, buildBinary(t), "")
	port := freePort(t)
	p.must(fmt.Sprintf(`SET admin-stats_credentials='stats:stats;viewer:viewerpw'; SET admin-web_port=%d; SET admin-web_enabled='true'; LOAD ADMIN VARIABLES TO RUNTIME`, port))
	base := fmt.Sprintf("https://127.0.0.1:%d", port)

	for _, c := range []struct {
		user, password, path string
		want                 int
	}{
		{"admin", "admin", "/", 200},
		{"radmin", "radmin", "/api/state", 200},
		{"stats", "stats", "/", 200},
		{"viewer", "viewerpw", "/api/state", 200},
		{"admin", "wrong", "/", 401},
		{"viewer", "", "/", 401},
		{"nobody", "x", "/", 401},
		{"admin", "admin", "/no/such/page", 404},
	} {
		if code, _ := digestGet(t, base+c.path, c.user, c.password, nil); code != c.want {
			t.Errorf("%s:%s GET %s: %d, want %d", c.user, c.password, c.path, code, c.want)
		}
	}
	// A stats user gets no history, neither in the JSON nor on the page.
	_, body := digestGet(t, base+"/api/state", "viewer", "viewerpw", nil)
	var st struct {
		Node    struct{ Admin bool }
		History []any `json:"history"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("state: %v\n%s", err, body)
	}
	if st.Node.Admin || st.History != nil {
		t.Errorf("a stats user's state has admin=%v history=%v", st.Node.Admin, st.History)
	}
	if _, page := digestGet(t, base+"/", "viewer", "viewerpw", nil); strings.Contains(string(page), "history-table") {
		t.Error("a stats user's page has the configuration history")
	}
	_, body = digestGet(t, base+"/api/state", "radmin", "radmin", nil)
	if !strings.Contains(string(body), `"history":[{`) {
		t.Errorf("an admin's state has no history:\n%s", body)
	}
	// Replayed and malformed Authorization headers.
	if code, _ := rawGet(t, base+"/", map[string]string{"Authorization": `Digest username="admin", realm="x", nonce="AAAA", uri="/", response="00", qop=auth, nc=00000001, cnonce="c"`}); code != 401 {
		t.Errorf("a forged nonce: %d, want 401", code)
	}
	for _, h := range []string{"Digest", "Digest ,,,", `Digest username="unterminated`, "Basic YWRtaW46YWRtaW4=", strings.Repeat("Digest a=b, ", 2000)} {
		if code, _ := rawGet(t, base+"/", map[string]string{"Authorization": h}); code != 401 && code != 431 {
			t.Errorf("Authorization %.40q: %d, want 401", h, code)
		}
	}
	auth := digestAuthorization(t, base+"/", "admin", "admin")
	if code, _ := rawGet(t, base+"/", map[string]string{"Authorization": auth}); code != 200 {
		t.Errorf("first use of a digest response: %d, want 200", code)
	}
	if code, _ := rawGet(t, base+"/", map[string]string{"Authorization": auth}); code != 401 {
		t.Errorf("the same digest response replayed: %d, want 401", code)
	}
	// Huge headers and a body.
	if code, _ := rawGet(t, base+"/", map[string]string{"X-Big": strings.Repeat("x", 64<<10)}); code != 431 {
		t.Errorf("64 KiB of headers: %d, want 431", code)
	}
	if code := postBody(t, base+"/api/state", auth); code != 405 && code != 413 && code != 401 {
		t.Errorf("a POST with a body: %d, want 405, 413 or 401", code)
	}

	// A port in use: the LOAD fails naming it, the variables in force and
	// the dashboard stay as they were.
	busy, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	p.mustFail(fmt.Sprintf("SET admin-web_port=%d; SET admin-refresh_interval=3000; LOAD ADMIN VARIABLES TO RUNTIME", busyPort), "admin-web_port: cannot listen on port "+strconv.Itoa(busyPort))
	if got := p.must("SELECT variable_value FROM runtime_global_variables WHERE variable_name IN ('admin-web_port', 'admin-refresh_interval') ORDER BY variable_name"); got != "2000\n"+strconv.Itoa(port) {
		t.Errorf("runtime variables after the failed LOAD: %q, want the old ones", got)
	}
	if code, _ := digestGet(t, base+"/api/state", "admin", "admin", nil); code != 200 {
		t.Errorf("the dashboard after a failed move: %d", code)
	}
	p.must(fmt.Sprintf("SET admin-web_port=%d; SET admin-refresh_interval=2000", port))

	// LOAD twice: nothing moves, the dashboard keeps serving.
	p.must("LOAD ADMIN VARIABLES TO RUNTIME; LOAD ADMIN VARIABLES TO RUNTIME")
	if code, _ := digestGet(t, base+"/", "admin", "admin", nil); code != 200 {
		t.Errorf("after LOAD twice: %d", code)
	}
	// Moved to another port: the old one is closed.
	port2 := freePort(t)
	p.must(fmt.Sprintf("SET admin-web_port=%d; LOAD ADMIN VARIABLES TO RUNTIME", port2))
	if code, _ := digestGet(t, fmt.Sprintf("https://127.0.0.1:%d/", port2), "admin", "admin", nil); code != 200 {
		t.Errorf("on the new port: %d", code)
	}
	if _, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
		t.Error("the old port still accepts connections after the move")
	}
	// Off, then on again.
	p.must("SET admin-web_enabled='false'; LOAD ADMIN VARIABLES TO RUNTIME")
	if _, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port2), time.Second); err == nil {
		t.Error("the dashboard still accepts connections with admin-web_enabled=false")
	}
	p.must("SET admin-web_enabled='true'; LOAD ADMIN VARIABLES TO RUNTIME")
	if code, _ := digestGet(t, fmt.Sprintf("https://127.0.0.1:%d/", port2), "admin", "admin", nil); code != 200 {
		t.Errorf("after turning it on again: %d", code)
	}
	if strings.Contains(p.logs.String(), "panic") {
		t.Errorf("the node logged a panic:\n%s", tail(p.logs.String(), 40))
	}
}

var insecure = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}

// rawGet sends a GET with the given headers and no digest handling.
func rawGet(t *testing.T, url string, headers map[string]string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := insecure.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func postBody(t *testing.T, url, auth string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(strings.Repeat("x", 1<<20)))
	req.Header.Set("Authorization", auth)
	resp, err := insecure.Do(req)
	if err != nil {
		return 0 // the server may close the connection on the body
	}
	resp.Body.Close()
	return resp.StatusCode
}

// digestAuthorization fetches a challenge for url and answers it (RFC
// 7616, MD5, qop=auth, nc=1).
func digestAuthorization(t *testing.T, url, user, password string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	resp, err := insecure.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("GET %s without credentials: %d, want 401", url, resp.StatusCode)
	}
	ch := resp.Header.Get("WWW-Authenticate")
	param := func(k string) string {
		i := strings.Index(ch, k+`="`)
		if i < 0 {
			t.Fatalf("challenge %q has no %s", ch, k)
		}
		rest := ch[i+len(k)+2:]
		return rest[:strings.IndexByte(rest, '"')]
	}
	realm, nonce, opaque := param("realm"), param("nonce"), param("opaque")
	uri := req.URL.RequestURI()
	h := func(s string) string { sum := md5.Sum([]byte(s)); return hex.EncodeToString(sum[:]) }
	ha1, ha2 := h(user+":"+realm+":"+password), h("GET:"+uri)
	resp2 := h(ha1 + ":" + nonce + ":00000001:c0ffee:auth:" + ha2)
	return fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", qop=auth, nc=00000001, cnonce="c0ffee", response="%s", opaque="%s", algorithm=MD5`,
		user, realm, nonce, uri, resp2, opaque)
}

// digestGet GETs url as user with a fresh digest exchange.
func digestGet(t *testing.T, url, user, password string, headers map[string]string) (int, []byte) {
	t.Helper()
	h := map[string]string{"Authorization": digestAuthorization(t, url, user, password)}
	for k, v := range headers {
		h[k] = v
	}
	return rawGet(t, url, h)
}
