package web

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"net"
	"net/http"
	"sync"
	"time"
)

// assets are the page, its script and its style: written for this
// package, served from the binary.
//
//go:embed assets
var assets embed.FS

var pageTmpl = template.Must(template.ParseFS(assets, "assets/dashboard.html"))

// user is who a request authenticated as.
type user struct {
	name  string
	admin bool // admin-admin_credentials; else admin-stats_credentials
}

type userKey struct{}

// Handler is the dashboard's HTTP handler, authentication included, as
// the listener serves it.
func (s *Server) Handler() http.Handler { return s.handler() }

func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.servePage)
	mux.HandleFunc("GET /api/state", s.serveState)
	mux.HandleFunc("GET /assets/dashboard.js", serveAsset("assets/dashboard.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /assets/dashboard.css", serveAsset("assets/dashboard.css", "text/css; charset=utf-8"))
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	return s.authenticate(mux)
}

// authenticate admits a request with a valid digest Authorization for an
// admin or stats user, and answers 401 with a fresh challenge otherwise.
// ProxySQL admits only admin-stats_credentials users; sqlgate also admits
// admin users, who see the configuration history as well. The users
// literally named admin and stats are admitted only from loopback, as on
// the admin SQL interface, so the default passwords are no use remotely.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		h.Set("Strict-Transport-Security", "max-age=31536000")
		if r.ContentLength != 0 || len(r.TransferEncoding) > 0 {
			// Every route is a GET: a body is never read, so never accepted.
			http.Error(w, "request bodies are not accepted", http.StatusRequestEntityTooLarge)
			return
		}
		local := isLoopback(r.RemoteAddr)
		var who user
		name, err := s.auth.verify(r.Header.Get("Authorization"), r.Method, r.RequestURI, func(name string) (string, bool) {
			pw, admin, stats := s.adm.Login(name)
			who = user{name: name, admin: admin}
			if (name == "admin" && admin || name == "stats" && stats) && !local {
				return "", false
			}
			return pw, admin || stats
		})
		if err != nil {
			switch {
			case errors.Is(err, errDenied):
				s.log.Warn("dashboard login refused", "user", who.name, "client", r.RemoteAddr, "err", err)
				if (who.name == "admin" || who.name == "stats") && !local {
					s.log.Warn("dashboard: user '" + who.name + "' can only log in locally; add another user to admin-stats_credentials or admin-admin_credentials for remote access")
				}
			case errors.Is(err, errNoAuth), errors.Is(err, errStale):
				// A browser's first request, or an old nonce: not worth a line.
			default:
				s.log.Debug("dashboard request refused", "client", r.RemoteAddr, "err", err)
			}
			// A nonce count at or below one already accepted is a replay,
			// or a browser's parallel requests arriving out of order (the
			// page, its script and style sheet over one HTTP/2
			// connection): stale=true makes the browser retry with a fresh
			// nonce instead of asking its user. A replayer gains nothing
			// from a new nonce without the password.
			h.Set("WWW-Authenticate", s.auth.challenge(errors.Is(err, errStale) || errors.Is(err, errReplay)))
			h.Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte("<html><head><title>ProxySQL status page</title></head><body>Access denied</body></html>"))
			return
		}
		who.name = name
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, who)))
	})
}

func isLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func serveAsset(name, ctype string) http.HandlerFunc {
	b, err := assets.ReadFile(name)
	if err != nil {
		panic("web: missing embedded asset " + name) // a build error, caught by any test
	}
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ctype)
		w.Write(b)
	}
}

// servePage renders the page with the current state in it, so the first
// paint needs no second round trip.
func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	who := r.Context().Value(userKey{}).(user)
	st, err := s.state(r.Context(), who)
	if err != nil {
		s.log.Warn("dashboard: cannot read the state", "err", err)
		st = &State{Node: NodeInfo{Version: s.adm.Version(), User: who.name, Admin: who.admin}, Error: err.Error()}
	}
	page, err := renderPage(st)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(page)
}

// renderPage is the page with st in it as JSON.
func renderPage(st *State) ([]byte, error) {
	data, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	// template.JS inserts data as it is: safe because json.Marshal escapes
	// <, > and &, so no value (a digest text, an error message) can close
	// the script element it sits in.
	if err := pageTmpl.Execute(&buf, map[string]any{"State": st, "JSON": template.JS(data)}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// serveState is the JSON the page polls.
func (s *Server) serveState(w http.ResponseWriter, r *http.Request) {
	who := r.Context().Value(userKey{}).(user)
	st, err := s.state(r.Context(), who)
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		s.log.Warn("dashboard: cannot read the state", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	json.NewEncoder(w).Encode(st)
}

// stateCache shares one reading of the state among the requests of one
// kind of user that arrive within cacheFor, and makes requests that
// arrive while it is read wait for that reading: however many pages are
// open, the admin reads the tables a few times a second at most.
type stateCache struct {
	mu  sync.Mutex
	at  time.Time
	val *State
}

const cacheFor = 250 * time.Millisecond

func (s *Server) state(ctx context.Context, who user) (*State, error) {
	c := &s.states[0]
	if who.admin {
		c = &s.states[1]
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.val == nil || time.Since(c.at) >= cacheFor {
		ctx, cancel := context.WithTimeout(ctx, buildTimeout)
		defer cancel()
		st, err := s.build(ctx, who.admin)
		if err != nil {
			return nil, err
		}
		c.val, c.at = st, time.Now()
	}
	st := *c.val
	st.Node.User = who.name
	return &st, nil
}
