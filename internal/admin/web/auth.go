package web

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// HTTP digest authentication (RFC 7616, MD5, qop=auth), as ProxySQL's web
// UI asks for it: the password never crosses the wire, even if a proxy in
// front ends TLS. The realm is ProxySQL's, so a browser that saved the
// password for a ProxySQL node offers it here too.

// realm is the protection space ProxySQL 2.7 announces.
const realm = "Access to ProxySQL status page"

// nonceLifetime is how long a nonce is accepted. After it the client is
// told stale=true and retries with a fresh one without asking the user.
const nonceLifetime = 5 * time.Minute

// maxTrackedNonces bounds the replay table. Each nonce the server hands
// out costs nothing until a client uses it; beyond this many in use the
// table is emptied, and clients re-authenticate silently (stale=true).
const maxTrackedNonces = 4096

// digest issues and checks nonces. A nonce is its issue time and an HMAC
// of it under a per-process key, so any nonce this process made can be
// verified without storing it; what is stored is the highest nonce count
// seen per nonce, which makes a captured request useless to replay.
type digest struct {
	key    [32]byte
	opaque string
	now    func() time.Time

	mu   sync.Mutex
	seen map[string]uint64 // nonce → highest nc accepted
	// floor: nonces issued before it are stale. It moves when the replay
	// table is emptied, so an emptied table cannot let a replay through.
	floor time.Time
}

func newDigest() *digest {
	d := &digest{now: time.Now, seen: map[string]uint64{}}
	if _, err := rand.Read(d.key[:]); err != nil {
		panic("web: no random key for digest nonces: " + err.Error()) // crypto/rand does not fail on Linux
	}
	var o [16]byte
	rand.Read(o[:])
	d.opaque = hex.EncodeToString(o[:])
	return d
}

// nonce returns a fresh nonce: 8 bytes of time, 8 random bytes, 16 bytes
// of HMAC over both.
func (d *digest) nonce() string {
	var b [32]byte
	binary.BigEndian.PutUint64(b[:8], uint64(d.now().UnixNano()))
	rand.Read(b[8:16])
	copy(b[16:], d.mac(b[:16]))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (d *digest) mac(b []byte) []byte {
	h := hmac.New(sha256.New, d.key[:])
	h.Write(b)
	return h.Sum(nil)[:16]
}

// challenge is the WWW-Authenticate header value of a 401.
func (d *digest) challenge(stale bool) string {
	s := fmt.Sprintf(`Digest realm="%s", qop="auth", nonce="%s", opaque="%s", algorithm=MD5`, realm, d.nonce(), d.opaque)
	if stale {
		s += ", stale=true"
	}
	return s
}

// Reasons a request is refused; errStale alone lets the client retry
// without asking its user again.
var (
	errNoAuth    = errors.New("no digest Authorization header")
	errMalformed = errors.New("malformed digest Authorization header")
	errStale     = errors.New("nonce expired")
	errReplay    = errors.New("nonce count not above the last one: a replayed request")
	errBadNonce  = errors.New("nonce not issued by this server")
	errWrongURI  = errors.New("digest uri does not match the request")
	errDenied    = errors.New("wrong user or password")
)

// credentials is the parsed Authorization header.
type credentials struct {
	username, realm, nonce, uri, response, algorithm, cnonce, opaque, qop, nc string
}

// maxAuthHeader bounds the Authorization header parsed (the server's
// header limit bounds it too; this keeps the parser's work small).
const maxAuthHeader = 4096

// parseAuthorization parses `Digest k=v, k="v", ...`.
func parseAuthorization(h string) (credentials, error) {
	var c credentials
	if h == "" {
		return c, errNoAuth
	}
	if len(h) > maxAuthHeader {
		return c, errMalformed
	}
	scheme, rest, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Digest") {
		return c, errNoAuth
	}
	seen := map[string]bool{}
	for rest = strings.TrimSpace(rest); rest != ""; {
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 {
			return c, errMalformed
		}
		key := strings.ToLower(strings.TrimSpace(rest[:eq]))
		rest = strings.TrimLeft(rest[eq+1:], " \t")
		var val string
		if strings.HasPrefix(rest, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(rest) && rest[i] != '"'; i++ {
				if rest[i] == '\\' && i+1 < len(rest) {
					i++
				}
				b.WriteByte(rest[i])
			}
			if i >= len(rest) {
				return c, errMalformed // unterminated quoted string
			}
			val, rest = b.String(), rest[i+1:]
		} else {
			end := strings.IndexByte(rest, ',')
			if end < 0 {
				end = len(rest)
			}
			val, rest = strings.TrimSpace(rest[:end]), rest[end:]
		}
		if seen[key] {
			return c, errMalformed // a repeated parameter is ambiguous
		}
		seen[key] = true
		switch key {
		case "username":
			c.username = val
		case "realm":
			c.realm = val
		case "nonce":
			c.nonce = val
		case "uri":
			c.uri = val
		case "response":
			c.response = val
		case "algorithm":
			c.algorithm = val
		case "cnonce":
			c.cnonce = val
		case "opaque":
			c.opaque = val
		case "qop":
			c.qop = val
		case "nc":
			c.nc = val
		}
		rest = strings.TrimLeft(rest, " \t")
		if rest != "" {
			if rest[0] != ',' {
				return c, errMalformed
			}
			rest = strings.TrimLeft(rest[1:], " \t")
		}
	}
	if c.username == "" || c.nonce == "" || c.uri == "" || c.response == "" || c.qop != "auth" || c.cnonce == "" || c.nc == "" {
		return c, errMalformed
	}
	if c.algorithm != "" && !strings.EqualFold(c.algorithm, "MD5") {
		return c, errMalformed
	}
	return c, nil
}

// verify checks the Authorization header h of a request (method, the
// request URI as sent) against lookup, which returns a user's password
// and whether the user may log in at all. It returns the user name.
// The response is compared in constant time, and an unknown user costs
// the same work as a wrong password.
func (d *digest) verify(h, method, requestURI string, lookup func(user string) (string, bool)) (string, error) {
	c, err := parseAuthorization(h)
	if err != nil {
		return "", err
	}
	if c.realm != realm || c.opaque != d.opaque {
		return "", errBadNonce
	}
	if c.uri != requestURI {
		return "", errWrongURI
	}
	issued, err := d.checkNonce(c.nonce)
	if err != nil {
		return "", err
	}
	nc, err := strconv.ParseUint(c.nc, 16, 32)
	if err != nil || len(c.nc) != 8 || nc == 0 {
		return "", errMalformed
	}
	pw, ok := lookup(c.username)
	if !ok {
		pw = "\x00no such user"
	}
	ha1 := md5hex(c.username + ":" + realm + ":" + pw)
	ha2 := md5hex(method + ":" + c.uri)
	want := md5hex(ha1 + ":" + c.nonce + ":" + c.nc + ":" + c.cnonce + ":" + c.qop + ":" + ha2)
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(c.response))) != 1 || !ok {
		return "", errDenied
	}
	// Only a request that proves the password advances the count, so a
	// forged request cannot lock a client's nonce.
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.now().Sub(issued) > nonceLifetime || issued.Before(d.floor) {
		return "", errStale // a right password with an old nonce
	}
	if nc <= d.seen[c.nonce] {
		return "", errReplay
	}
	if len(d.seen) >= maxTrackedNonces {
		d.prune()
	}
	d.seen[c.nonce] = nc
	return c.username, nil
}

// checkNonce returns when nonce was issued, or errBadNonce if this
// process did not issue it.
func (d *digest) checkNonce(nonce string) (time.Time, error) {
	b, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(b) != 32 || !hmac.Equal(b[16:], d.mac(b[:16])) {
		return time.Time{}, errBadNonce
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b[:8]))), nil
}

// prune drops the expired nonces, or all of them if that is not enough:
// clients then get stale=true and continue with a new nonce. d.mu is held.
func (d *digest) prune() {
	now := d.now()
	for n := range d.seen {
		if at, err := d.checkNonce(n); err != nil || now.Sub(at) > nonceLifetime {
			delete(d.seen, n)
		}
	}
	if len(d.seen) >= maxTrackedNonces {
		clear(d.seen)
		d.floor = now
	}
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
