package main

// A headless Chromium driven over the DevTools protocol, for the dashboard
// tests, without a Go dependency: Chromium reads commands from fd 3 and
// writes replies and events to fd 4 (--remote-debugging-pipe), each
// message one JSON object followed by a NUL byte.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// chromiumPath returns Debian's chromium. Without it the test is skipped,
// except under CI, where the dashboard test must run.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found: the dashboard test needs it under CI (apt-get install chromium)")
	}
	t.Skip("chromium not found: apt-get install chromium (scripts/deps.sh installs it as root)")
	return ""
}

// cdpMsg is a DevTools message: a reply (ID set) or an event (Method set).
type cdpMsg struct {
	ID        int             `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *cdpError       `json:"error,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
}

type cdpError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// browser is one Chromium process and one page in it.
type browser struct {
	t       *testing.T
	cmd     *exec.Cmd
	out     *os.File // commands: Chromium's fd 3
	session string   // the page's flat session

	// user and password answer the page's digest challenges.
	user, password string

	mu       sync.Mutex
	nextID   int
	pending  map[int]chan cdpMsg
	problems []string // console errors, uncaught exceptions, error log entries
	auths    int      // digest challenges answered
	exited   chan struct{}
}

// startBrowser starts a headless Chromium with a page that answers digest
// challenges with user and password and records every console error,
// uncaught exception and error log entry. Cleanup kills its process group.
func startBrowser(t *testing.T, user, password string) *browser {
	t.Helper()
	bin := chromiumPath(t)
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	evR, evW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, out: cmdW, user: user, password: password, pending: map[int]chan cdpMsg{}, exited: make(chan struct{})}
	b.cmd = exec.Command(bin, "--headless=new", "--no-sandbox", "--ignore-certificate-errors", "--user-data-dir="+t.TempDir(),
		"--remote-debugging-pipe", "--no-first-run", "--no-default-browser-check", "--disable-gpu", "--disable-extensions",
		"--disable-background-networking", "--disable-sync", "--disable-component-update", "--mute-audio",
		"--window-size=1400,1500", "about:blank")
	b.cmd.ExtraFiles = []*os.File{cmdR, evW} // fd 3, fd 4
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr := &syncBuffer{}
	b.cmd.Stderr = stderr
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmdR.Close()
	evW.Close()
	pid := b.cmd.Process.Pid
	go func() {
		b.cmd.Wait()
		close(b.exited)
	}()
	t.Cleanup(func() {
		b.send("Browser.close", nil, "") // the polite way first
		select {
		case <-b.exited:
		case <-time.After(3 * time.Second):
		}
		syscall.Kill(-pid, syscall.SIGKILL) // the browser and its renderers: the group we started
		<-b.exited
		cmdW.Close()
		evR.Close()
		if t.Failed() {
			t.Logf("chromium stderr:\n%s", tail(stderr.String(), 30))
		}
	})
	go b.read(evR)

	var target struct {
		TargetID string `json:"targetId"`
	}
	b.call("Target.createTarget", map[string]any{"url": "about:blank"}, "", &target)
	var att struct {
		SessionID string `json:"sessionId"`
	}
	b.call("Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, "", &att)
	b.session = att.SessionID
	for _, m := range []string{"Runtime.enable", "Log.enable", "Page.enable"} {
		b.call(m, nil, b.session, nil)
	}
	b.call("Fetch.enable", map[string]any{"handleAuthRequests": true, "patterns": []map[string]any{{"urlPattern": "*"}}}, b.session, nil)
	return b
}

// syncBuffer is a bytes.Buffer for a process's output read by the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = append(s.buf, p...)
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.buf)
}

// read dispatches Chromium's messages: replies to their callers, events
// to onEvent, until the pipe closes.
func (b *browser) read(r *os.File) {
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		raw, err := br.ReadBytes(0)
		if err != nil {
			b.mu.Lock()
			for id, ch := range b.pending {
				close(ch)
				delete(b.pending, id)
			}
			b.mu.Unlock()
			return
		}
		var m cdpMsg
		if err := json.Unmarshal(raw[:len(raw)-1], &m); err != nil {
			continue
		}
		if m.ID != 0 {
			b.mu.Lock()
			ch := b.pending[m.ID]
			delete(b.pending, m.ID)
			b.mu.Unlock()
			if ch != nil {
				ch <- m
			}
			continue
		}
		b.onEvent(m)
	}
}

// onEvent answers paused requests and digest challenges, and records the
// problems the test asserts there are none of.
func (b *browser) onEvent(m cdpMsg) {
	var p struct {
		RequestID string `json:"requestId"`
		Type      string `json:"type"`
		Args      []struct {
			Value       any    `json:"value"`
			Description string `json:"description"`
		} `json:"args"`
		ExceptionDetails struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
		Entry struct {
			Level, Text, URL, Source string
		} `json:"entry"`
	}
	json.Unmarshal(m.Params, &p)
	switch m.Method {
	case "Fetch.requestPaused":
		b.send("Fetch.continueRequest", map[string]any{"requestId": p.RequestID}, m.SessionID)
	case "Fetch.authRequired":
		b.mu.Lock()
		b.auths++
		n := b.auths
		b.mu.Unlock()
		resp := map[string]any{"response": "ProvideCredentials", "username": b.user, "password": b.password}
		if n > 20 {
			resp = map[string]any{"response": "CancelAuth"} // wrong credentials: no endless loop
		}
		b.send("Fetch.continueWithAuth", map[string]any{"requestId": p.RequestID, "authChallengeResponse": resp}, m.SessionID)
	case "Runtime.exceptionThrown":
		b.problem("uncaught exception: " + p.ExceptionDetails.Text + " " + p.ExceptionDetails.Exception.Description)
	case "Runtime.consoleAPICalled":
		if p.Type == "error" {
			s := "console.error:"
			for _, a := range p.Args {
				s += fmt.Sprintf(" %v%s", a.Value, a.Description)
			}
			b.problem(s)
		}
	case "Log.entryAdded":
		if p.Entry.Level == "error" {
			b.problem(fmt.Sprintf("log error (%s): %s %s", p.Entry.Source, p.Entry.Text, p.Entry.URL))
		}
	}
}

func (b *browser) problem(s string) {
	b.mu.Lock()
	b.problems = append(b.problems, s)
	b.mu.Unlock()
}

// Problems returns what went wrong in the page so far.
func (b *browser) Problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
}

// send writes a command without waiting for its reply.
func (b *browser) send(method string, params any, session string) chan cdpMsg {
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan cdpMsg, 1)
	b.pending[id] = ch
	b.mu.Unlock()
	msg, _ := json.Marshal(cdpMsg{ID: id, Method: method, Params: mustJSON(params), SessionID: session})
	b.mu.Lock() // one writer at a time: messages must not interleave
	_, err := b.out.Write(append(msg, 0))
	b.mu.Unlock()
	if err != nil {
		b.mu.Lock()
		delete(b.pending, id)
		b.mu.Unlock()
		close(ch)
	}
	return ch
}

func mustJSON(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, _ := json.Marshal(v)
	return b
}

// call sends a command and decodes its result into out (may be nil).
func (b *browser) call(method string, params any, session string, out any) {
	b.t.Helper()
	select {
	case m, ok := <-b.send(method, params, session):
		if !ok {
			b.t.Fatalf("chromium: %s: the browser went away", method)
		}
		if m.Error != nil {
			b.t.Fatalf("chromium: %s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		if out != nil {
			if err := json.Unmarshal(m.Result, out); err != nil {
				b.t.Fatalf("chromium: %s: %v", method, err)
			}
		}
	case <-time.After(30 * time.Second):
		b.t.Fatalf("chromium: %s: no reply in 30 s", method)
	}
}

// navigate opens url in the page.
func (b *browser) navigate(url string) {
	b.t.Helper()
	var r struct {
		ErrorText string `json:"errorText"`
	}
	b.call("Page.navigate", map[string]any{"url": url}, b.session, &r)
	if r.ErrorText != "" {
		b.t.Fatalf("chromium: navigating to %s: %s", url, r.ErrorText)
	}
}

// eval evaluates a JavaScript expression in the page and returns its
// value as JSON text ("" for undefined).
func (b *browser) eval(expr string) string {
	b.t.Helper()
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	b.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, b.session, &r)
	if r.ExceptionDetails != nil {
		b.t.Fatalf("chromium: evaluating %q: %s", expr, r.ExceptionDetails.Text)
	}
	return string(r.Result.Value)
}

// screenshot writes the page as a PNG to path.
func (b *browser) screenshot(path string) {
	b.t.Helper()
	var r struct {
		Data []byte `json:"data"` // base64 in JSON, decoded by encoding/json
	}
	b.call("Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true}, b.session, &r)
	if err := os.WriteFile(path, r.Data, 0o644); err != nil {
		b.t.Fatal(err)
	}
}
