package web

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// answer is a client's Authorization header for a challenge's nonce.
func answer(d *digest, user, password, method, uri, nonce, nc string) string {
	ha1 := md5hex(user + ":" + realm + ":" + password)
	ha2 := md5hex(method + ":" + uri)
	resp := md5hex(ha1 + ":" + nonce + ":" + nc + ":cn0nce:auth:" + ha2)
	return fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", algorithm=MD5, response="%s", opaque="%s", qop=auth, nc=%s, cnonce="cn0nce"`,
		user, realm, nonce, uri, resp, d.opaque, nc)
}

func TestDigestVerify(t *testing.T) {
	users := map[string]string{"admin": "admin", "stats": "stats"}
	lookup := func(u string) (string, bool) { pw, ok := users[u]; return pw, ok }
	now := time.Unix(1_800_000_000, 0)
	d := newDigest()
	d.now = func() time.Time { return now }
	nonce := d.nonce()
	other := newDigest() // another process: its nonces are not ours

	for _, c := range []struct {
		name    string
		header  string
		uri     string
		advance time.Duration
		want    error
		user    string
	}{
		{name: "admin", header: answer(d, "admin", "admin", "GET", "/", nonce, "00000001"), uri: "/", user: "admin"},
		{name: "next nonce count", header: answer(d, "admin", "admin", "GET", "/", nonce, "00000002"), uri: "/", user: "admin"},
		{name: "replayed", header: answer(d, "admin", "admin", "GET", "/", nonce, "00000002"), uri: "/", want: errReplay},
		{name: "older count", header: answer(d, "admin", "admin", "GET", "/", nonce, "00000001"), uri: "/", want: errReplay},
		{name: "stats user", header: answer(d, "stats", "stats", "GET", "/api/state", nonce, "00000003"), uri: "/api/state", user: "stats"},
		{name: "wrong password", header: answer(d, "admin", "nope", "GET", "/", nonce, "00000009"), uri: "/", want: errDenied},
		{name: "unknown user", header: answer(d, "mallory", "x", "GET", "/", nonce, "00000009"), uri: "/", want: errDenied},
		{name: "other uri", header: answer(d, "admin", "admin", "GET", "/", nonce, "0000000a"), uri: "/api/state", want: errWrongURI},
		{name: "other method", header: answer(d, "admin", "admin", "POST", "/", nonce, "0000000a"), uri: "/", want: errDenied},
		{name: "foreign nonce", header: answer(d, "admin", "admin", "GET", "/", other.nonce(), "00000001"), uri: "/", want: errBadNonce},
		{name: "tampered nonce", header: answer(d, "admin", "admin", "GET", "/", "A"+nonce[1:], "00000001"), uri: "/", want: errBadNonce},
		{name: "expired nonce", header: answer(d, "admin", "admin", "GET", "/", nonce, "00000010"), uri: "/", advance: nonceLifetime + time.Second, want: errStale},
		{name: "expired nonce, wrong password", header: answer(d, "admin", "x", "GET", "/", nonce, "00000011"), uri: "/", advance: nonceLifetime + time.Second, want: errDenied},
		{name: "none", header: "", uri: "/", want: errNoAuth},
		{name: "basic", header: "Basic YWRtaW46YWRtaW4=", uri: "/", want: errNoAuth},
		{name: "empty digest", header: "Digest", uri: "/", want: errNoAuth},
		{name: "no params", header: "Digest ", uri: "/", want: errMalformed},
		{name: "unterminated", header: `Digest username="admin`, uri: "/", want: errMalformed},
		{name: "garbage", header: "Digest ,,,===", uri: "/", want: errMalformed},
		{name: "repeated param", header: answer(d, "admin", "admin", "GET", "/", nonce, "00000020") + `, username="stats"`, uri: "/", want: errMalformed},
		{name: "no qop", header: strings.Replace(answer(d, "admin", "admin", "GET", "/", nonce, "00000021"), "qop=auth", "qop=none", 1), uri: "/", want: errMalformed},
		{name: "sha-256", header: strings.Replace(answer(d, "admin", "admin", "GET", "/", nonce, "00000022"), "algorithm=MD5", "algorithm=SHA-256", 1), uri: "/", want: errMalformed},
		{name: "short nc", header: answer(d, "admin", "admin", "GET", "/", nonce, "1"), uri: "/", want: errMalformed},
		{name: "zero nc", header: answer(d, "admin", "admin", "GET", "/", nonce, "00000000"), uri: "/", want: errMalformed},
		{name: "huge", header: "Digest username=\"" + strings.Repeat("a", maxAuthHeader) + "\"", uri: "/", want: errMalformed},
	} {
		t.Run(c.name, func(t *testing.T) {
			d.now = func() time.Time { return now.Add(c.advance) }
			user, err := d.verify(c.header, "GET", c.uri, lookup)
			if !errors.Is(err, c.want) || user != c.user {
				t.Errorf("verify = %q, %v; want %q, %v", user, err, c.user, c.want)
			}
		})
	}
}

// TestDigestReplayTableBounded: a full replay table is emptied, and the
// nonces issued before are then stale, so emptying it lets no replay in.
func TestDigestReplayTableBounded(t *testing.T) {
	d := newDigest()
	lookup := func(string) (string, bool) { return "pw", true }
	first := d.nonce()
	h := answer(d, "u", "pw", "GET", "/", first, "00000001")
	if _, err := d.verify(h, "GET", "/", lookup); err != nil {
		t.Fatal(err)
	}
	for i := range maxTrackedNonces {
		if _, err := d.verify(answer(d, "u", "pw", "GET", "/", d.nonce(), "00000001"), "GET", "/", lookup); err != nil {
			t.Fatalf("nonce %d: %v", i, err)
		}
	}
	if n := len(d.seen); n > maxTrackedNonces {
		t.Errorf("replay table holds %d nonces, bound %d", n, maxTrackedNonces)
	}
	if _, err := d.verify(h, "GET", "/", lookup); !errors.Is(err, errStale) {
		t.Errorf("replay after the table was emptied: %v, want %v", err, errStale)
	}
}

func TestChallenge(t *testing.T) {
	d := newDigest()
	for _, stale := range []bool{false, true} {
		c := d.challenge(stale)
		for _, want := range []string{`Digest realm="` + realm + `"`, `qop="auth"`, `algorithm=MD5`, `opaque="` + d.opaque + `"`} {
			if !strings.Contains(c, want) {
				t.Errorf("challenge %q lacks %q", c, want)
			}
		}
		if strings.Contains(c, "stale=true") != stale {
			t.Errorf("challenge %q: stale=%v", c, stale)
		}
	}
}
