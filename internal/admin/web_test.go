package admin

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"sqlgate/internal/certs"
	"sqlgate/internal/config"
)

// digestHeader answers the challenge of a 401 response for GET uri.
func digestHeader(t *testing.T, challenge, user, password, uri string) string {
	t.Helper()
	param := func(k string) string {
		i := strings.Index(challenge, k+`="`)
		if i < 0 {
			t.Fatalf("challenge %q has no %s", challenge, k)
		}
		rest := challenge[i+len(k)+2:]
		return rest[:strings.IndexByte(rest, '"')]
	}
	h := func(s string) string { sum := md5.Sum([]byte(s)); return hex.EncodeToString(sum[:]) }
	realm, nonce := param("realm"), param("nonce")
	resp := h(h(user+":"+realm+":"+password) + ":" + nonce + ":00000001:abc:auth:" + h("GET:"+uri))
	return fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", qop=auth, nc=00000001, cnonce="abc", response="%s", opaque="%s"`,
		user, realm, nonce, uri, resp, param("opaque"))
}

// openWebAdmin opens an admin in a temporary datadir with the admin
// variables vars, closed when the test ends.
func openWebAdmin(t *testing.T, vars map[string]string) *Admin {
	t.Helper()
	dir := t.TempDir()
	tlsConf, err := certs.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Open(Options{Datadir: dir, TLS: tlsConf, Version: "test", Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Config: &config.Config{AdminVariables: vars}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// TestWebReadsAsTheAdminInterface: the dashboard's reads have the rights
// of the admin SQL interface: a stats user's run in the stats sandbox and
// cannot read the configuration history; the page and the JSON of a stats
// user have no history, an admin's have it; the users named admin and
// stats are refused from a remote address, other users are not.
func TestWebReadsAsTheAdminInterface(t *testing.T) {
	a := openWebAdmin(t, map[string]string{"admin_credentials": "admin:admin;radmin:rpw",
		"stats_credentials": "stats:stats;viewer:vpw", "mysql_ifaces": "127.0.0.1:0"})
	ctx := context.Background()

	r, err := webView{a}.Reader(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Query(ctx, "SELECT COUNT(*) FROM stats_mysql_global"); err != nil {
		t.Errorf("a stats reader cannot read the stats: %v", err)
	}
	if _, err := r.Query(ctx, "SELECT * FROM disk.sqlgate_config_history"); err == nil {
		t.Error("a stats reader read disk.sqlgate_config_history")
	}
	if _, err := r.Query(ctx, "SELECT * FROM runtime_mysql_servers"); err == nil {
		t.Error("a stats reader read runtime_mysql_servers")
	}
	r.Close()
	ar, _ := webView{a}.Reader(ctx, true)
	if res, err := ar.Query(ctx, "SELECT COUNT(*) FROM disk.sqlgate_config_history"); err != nil || *res.Rows[0][0] == "0" {
		t.Errorf("an admin reader and the history: %v", err)
	}
	ar.Close()

	h := a.web.Handler()
	get := func(user, password, uri, remote string) (int, string) {
		req := httptest.NewRequest("GET", uri, nil)
		req.RemoteAddr = remote
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("GET %s without credentials: %d", uri, w.Code)
		}
		req = httptest.NewRequest("GET", uri, nil)
		req.RemoteAddr = remote
		req.Header.Set("Authorization", digestHeader(t, w.Header().Get("WWW-Authenticate"), user, password, uri))
		w = httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code, w.Body.String()
	}
	const local, remote = "127.0.0.1:40000", "192.0.2.7:40000"
	for _, c := range []struct {
		user, password, uri, from string
		code                      int
		has, hasNot               string
	}{
		{"admin", "admin", "/api/state", local, 200, `"history":[{`, ""},
		{"radmin", "rpw", "/", remote, 200, `id="history-table"`, ""},
		{"viewer", "vpw", "/api/state", remote, 200, `"history":null`, "boot from"},
		{"viewer", "vpw", "/", remote, 200, `id="cluster"`, `id="history-table"`},
		{"stats", "stats", "/api/state", local, 200, `"admin":false`, "boot from"},
		{"admin", "admin", "/", remote, 401, "Access denied", ""},
		{"stats", "stats", "/", remote, 401, "Access denied", ""},
		{"viewer", "wrong", "/", local, 401, "Access denied", ""},
	} {
		code, body := get(c.user, c.password, c.uri, c.from)
		if code != c.code || !strings.Contains(body, c.has) || c.hasNot != "" && strings.Contains(body, c.hasNot) {
			t.Errorf("%s from %s GET %s: %d, body has %q: %v, has %q: %v\n%.300s", c.user, c.from, c.uri, code,
				c.has, strings.Contains(body, c.has), c.hasNot, c.hasNot != "" && strings.Contains(body, c.hasNot), body)
		}
	}
}

// TestWebReplayIsStale: a request whose nonce count was already used (a
// replay, or a browser's parallel requests arriving out of order) gets a
// 401 with stale=true, which a browser answers with a fresh nonce instead
// of asking its user for the password again.
func TestWebReplayIsStale(t *testing.T) {
	a := openWebAdmin(t, map[string]string{"mysql_ifaces": "127.0.0.1:0"})
	h := a.web.Handler()
	serve := func(auth string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/api/state", nil)
		req.RemoteAddr = "127.0.0.1:40000"
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	first := serve("")
	if c := first.Header().Get("WWW-Authenticate"); first.Code != http.StatusUnauthorized || strings.Contains(c, "stale=true") {
		t.Fatalf("no credentials: %d %q", first.Code, c)
	}
	auth := digestHeader(t, first.Header().Get("WWW-Authenticate"), "stats", "stats", "/api/state")
	if w := serve(auth); w.Code != http.StatusOK {
		t.Fatalf("first use of the nonce: %d", w.Code)
	}
	w := serve(auth)
	if c := w.Header().Get("WWW-Authenticate"); w.Code != http.StatusUnauthorized || !strings.Contains(c, "stale=true") {
		t.Errorf("the same request again: %d %q, want 401 with stale=true", w.Code, c)
	}
}
