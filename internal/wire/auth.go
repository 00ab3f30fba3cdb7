package wire

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
)

// Credential is what sqlgate knows about a user's password: the cleartext
// (from mysql_users or learned during a full authentication), or only the
// SHA1(SHA1(password)) of a "*HEX" entry. After a successful
// mysql_native_password login against a hashed entry, Stage1 holds
// SHA1(password), which is enough to log into backends with the same method.
type Credential struct {
	Cleartext    string
	HasCleartext bool
	Stage2       []byte // SHA1(SHA1(password)); nil for an empty password
	Stage1       []byte // SHA1(password), when known
}

// ParseStoredPassword interprets a mysql_users.password value: "" (no
// password), "*<40 hex>" (native hash), or cleartext. The caching_sha2
// "$A$005$" form is recognised and rejected: it cannot verify a native
// scramble nor log into a backend.
func ParseStoredPassword(pw string) (Credential, bool) {
	if pw == "" {
		return Credential{HasCleartext: true}, true
	}
	if len(pw) == 41 && pw[0] == '*' {
		st2, err := hex.DecodeString(pw[1:])
		if err == nil {
			return Credential{Stage2: st2}, true
		}
	}
	if strings.HasPrefix(pw, "$A$") {
		return Credential{}, false
	}
	s1 := sha1.Sum([]byte(pw))
	s2 := sha1.Sum(s1[:])
	return Credential{Cleartext: pw, HasCleartext: true, Stage1: s1[:], Stage2: s2[:]}, true
}

// CleartextCredential is the credential of a password that ProxySQL
// requires in cleartext (mysql-monitor_password, admin-cluster_password):
// parsed as a stored password, and taken literally when that does not
// yield the cleartext (a "*HEX" or "$A$" string).
func CleartextCredential(pw string) Credential {
	if c, _ := ParseStoredPassword(pw); c.HasCleartext {
		return c
	}
	return Credential{Cleartext: pw, HasCleartext: true}
}

// Empty reports whether the credential is the empty password.
func (c Credential) Empty() bool { return c.HasCleartext && c.Cleartext == "" }

// VerifyNative checks a mysql_native_password scramble response. On success
// it returns SHA1(password) recovered from the response.
func (c Credential) VerifyNative(salt, resp []byte) (stage1 []byte, ok bool) {
	if c.Empty() {
		return nil, len(resp) == 0
	}
	if len(resp) != sha1.Size || len(c.Stage2) != sha1.Size {
		return nil, false
	}
	h := sha1.New()
	h.Write(salt)
	h.Write(c.Stage2)
	mix := h.Sum(nil)
	st1 := make([]byte, sha1.Size)
	for i := range st1 {
		st1[i] = resp[i] ^ mix[i]
	}
	st2 := sha1.Sum(st1)
	if subtle.ConstantTimeCompare(st2[:], c.Stage2) != 1 {
		return nil, false
	}
	return st1, true
}

// VerifyCachingSHA2Fast checks a caching_sha2_password fast-path response,
// which needs the cleartext password.
func (c Credential) VerifyCachingSHA2Fast(salt, resp []byte) bool {
	if !c.HasCleartext {
		return false
	}
	if c.Cleartext == "" {
		return len(resp) == 0
	}
	return subtle.ConstantTimeCompare(ScrambleCachingSHA2([]byte(c.Cleartext), salt), resp) == 1
}

// VerifyCleartext checks a password received in clear (full authentication
// over TLS, or mysql_clear_password).
func (c Credential) VerifyCleartext(pw []byte) bool {
	pw = bytes.TrimRight(pw, "\x00")
	if c.HasCleartext {
		return subtle.ConstantTimeCompare([]byte(c.Cleartext), pw) == 1
	}
	if len(pw) == 0 {
		return false
	}
	s1 := sha1.Sum(pw)
	s2 := sha1.Sum(s1[:])
	return subtle.ConstantTimeCompare(s2[:], c.Stage2) == 1
}

// ScrambleNative computes the mysql_native_password response from
// SHA1(password): stage1 XOR SHA1(salt + SHA1(stage1)).
func ScrambleNative(stage1, salt []byte) []byte {
	if len(stage1) == 0 {
		return nil
	}
	st2 := sha1.Sum(stage1)
	h := sha1.New()
	h.Write(salt)
	h.Write(st2[:])
	mix := h.Sum(nil)
	out := make([]byte, sha1.Size)
	for i := range out {
		out[i] = stage1[i] ^ mix[i]
	}
	return out
}

// ScrambleCachingSHA2 computes the caching_sha2_password fast-auth response:
// SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + salt).
func ScrambleCachingSHA2(pw, salt []byte) []byte {
	if len(pw) == 0 {
		return nil
	}
	m1 := sha256.Sum256(pw)
	m2 := sha256.Sum256(m1[:])
	h := sha256.New()
	h.Write(m2[:])
	h.Write(salt)
	m3 := h.Sum(nil)
	for i := range m3 {
		m3[i] ^= m1[i]
	}
	return m3
}
