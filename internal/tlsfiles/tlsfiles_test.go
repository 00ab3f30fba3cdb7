package tlsfiles

import (
	"crypto/tls"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sqlgate/internal/testbed"
)

func varName(f string) string { return "mysql-ssl_p2s_" + f }

func TestParseCiphers(t *testing.T) {
	got, err := parseCiphers("ECDHE-RSA-AES128-GCM-SHA256:TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, ecdhe-rsa-chacha20-poly1305")
	want := []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("parseCiphers = %v, %v; want %v", got, err, want)
	}
	for in, msg := range map[string]string{
		"TLS_AES_256_GCM_SHA384":         "TLS 1.3 cipher suite",
		"HIGH:!aNULL":                    `unknown or unsupported cipher "HIGH"`,
		"ECDHE-RSA-AES128-GCM-SHA256:X1": `unknown or unsupported cipher "X1"`,
		"::":                             "no cipher",
	} {
		if _, err := parseCiphers(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("parseCiphers(%q) = %v, want an error containing %q", in, err, msg)
		}
	}
}

// pki is a CA, a server certificate it issued, and a CA that issued nothing
// the server has.
type pki struct {
	dir          string
	ca, other    *testbed.CA
	cert, key    string
	serverSerial *big.Int
	server       tls.Certificate
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	dir := t.TempDir()
	ca, err := testbed.NewCA(dir, "right")
	if err != nil {
		t.Fatal(err)
	}
	other, err := testbed.NewCA(dir, "other")
	if err != nil {
		t.Fatal(err)
	}
	cert, key, serial, err := ca.Issue(dir, "server", "db.example")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	return &pki{dir: dir, ca: ca, other: other, cert: cert, key: key, serverSerial: serial, server: pair}
}

// handshake runs a TLS handshake between the client configuration and a
// server presenting the test certificate, and returns the client's error.
func (p *pki) handshake(t *testing.T, cfg *tls.Config) error {
	t.Helper()
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s := tls.Server(c2, &tls.Config{Certificates: []tls.Certificate{p.server}})
		s.Handshake()
		s.Close()
	}()
	err := tls.Client(c1, cfg).Handshake()
	c1.Close()
	<-done
	return err
}

func TestTLSConfigVerification(t *testing.T) {
	p := newPKI(t)
	crlDir := filepath.Join(p.dir, "crls")
	os.Mkdir(crlDir, 0o755)
	capath := filepath.Join(p.dir, "capath")
	os.Mkdir(capath, 0o755)
	b, _ := os.ReadFile(p.ca.Cert)
	os.WriteFile(filepath.Join(capath, "0123abcd.0"), b, 0o644)
	none := filepath.Join(p.dir, "none.crl")
	revoked := filepath.Join(p.dir, "revoked.crl")
	foreign := filepath.Join(p.dir, "foreign.crl")
	if err := p.ca.WriteCRL(none); err != nil {
		t.Fatal(err)
	}
	if err := p.ca.WriteCRL(revoked, p.serverSerial); err != nil {
		t.Fatal(err)
	}
	if err := p.other.WriteCRL(foreign); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(none)
	os.WriteFile(filepath.Join(crlDir, "0123abcd.r0"), b, 0o644)

	for _, tc := range []struct {
		name string
		f    Files
		want string // "" = the handshake succeeds
	}{
		{"no CA: encrypted, not verified", Files{}, ""},
		{"the right CA", Files{CA: p.ca.Cert}, ""},
		{"the right CA in a directory", Files{CAPath: capath}, ""},
		{"another CA", Files{CA: p.other.Cert}, "is not trusted by mysql-ssl_p2s_ca=" + p.other.Cert},
		{"CRL without the server", Files{CA: p.ca.Cert, CRL: none}, ""},
		{"CRL directory", Files{CA: p.ca.Cert, CRLPath: crlDir}, ""},
		{"CRL revoking the server", Files{CA: p.ca.Cert, CRL: revoked}, "is revoked by the CRL"},
		{"CRL of another issuer", Files{CA: p.ca.Cert, CRL: foreign}, "no CRL from"},
		// Without a CA nothing is verified, CRL included (OpenSSL's
		// SSL_VERIFY_NONE in ProxySQL's client library).
		{"CRL without CA", Files{CRL: revoked}, ""},
	} {
		cfg, err := tc.f.Config(varName, "")
		if err != nil {
			t.Errorf("%s: TLSConfig: %v", tc.name, err)
			continue
		}
		err = p.handshake(t, cfg)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: handshake failed: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: handshake error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// A bad file fails when the settings are read, naming the setting and the
// file.
func TestTLSConfigBadFiles(t *testing.T) {
	p := newPKI(t)
	missing := filepath.Join(p.dir, "missing.pem")
	empty := filepath.Join(p.dir, "empty")
	os.Mkdir(empty, 0o755)
	for _, tc := range []struct {
		f    Files
		want []string
	}{
		{Files{CA: missing}, []string{"mysql-ssl_p2s_ca", missing, "no such file"}},
		{Files{CA: p.key}, []string{"mysql-ssl_p2s_ca", p.key, "no PEM certificate"}},
		{Files{CAPath: missing}, []string{"mysql-ssl_p2s_capath", missing}},
		{Files{CAPath: empty}, []string{"mysql-ssl_p2s_capath", empty, "no PEM certificate"}},
		{Files{Cert: p.cert}, []string{"mysql-ssl_p2s_cert", "mysql-ssl_p2s_key", p.cert}},
		{Files{Cert: p.cert, Key: missing}, []string{"mysql-ssl_p2s_key", missing}},
		{Files{CA: p.ca.Cert, CRL: missing}, []string{"mysql-ssl_p2s_crl", missing}},
		{Files{CA: p.ca.Cert, CRL: p.ca.Cert}, []string{"mysql-ssl_p2s_crl", p.ca.Cert, "no CRL"}},
		{Files{CA: p.ca.Cert, CRLPath: empty}, []string{"mysql-ssl_p2s_crlpath", empty}},
		{Files{Cipher: "HIGH"}, []string{"mysql-ssl_p2s_cipher", "HIGH"}},
	} {
		_, err := tc.f.Config(varName, "")
		if err == nil {
			t.Errorf("%+v: no error", tc.f)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: error %q does not mention %q", tc.f, err, w)
			}
		}
	}
	// A client certificate and its key, in two files or one.
	if _, err := (Files{Cert: p.cert, Key: p.key}).Config(varName, ""); err != nil {
		t.Errorf("client certificate: %v", err)
	}
	both := filepath.Join(p.dir, "both.pem")
	c, _ := os.ReadFile(p.cert)
	k, _ := os.ReadFile(p.key)
	os.WriteFile(both, append(c, k...), 0o600)
	if _, err := (Files{Key: both}).Config(varName, ""); err != nil {
		t.Errorf("certificate and key in the key file: %v", err)
	}
}

// mysql_servers_ssl_params rows win over the variables: the user's row,
// else the row for every user; nothing configured still encrypts.
