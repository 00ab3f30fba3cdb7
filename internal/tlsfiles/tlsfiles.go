// Package tlsfiles turns ProxySQL's backend TLS settings (the
// mysql-ssl_p2s_* variables and mysql_servers_ssl_params rows: CA, CA
// directory, client certificate and key, ciphers, CRLs) into a client
// tls.Config that verifies what ProxySQL's client library verifies.
package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Files are the settings of backend TLS as ProxySQL has them: the
// mysql-ssl_p2s_* variables, or one mysql_servers_ssl_params row. They are
// paths (files or directories) and a cipher list, "" when unset.
//
// They mean what they mean to ProxySQL's client library (MariaDB
// Connector/C with OpenSSL): without CA nor CAPath the connection is
// encrypted and the server's certificate is not checked; with either, the
// certificate chain must lead to one of those CAs (the host name is not
// compared with the certificate, as in ProxySQL); CRL and CRLPath add a
// revocation check of every certificate of the chain; Cert and Key are the
// client certificate (either alone names a file holding both); Cipher
// restricts the TLS 1.2 cipher suites.
type Files struct {
	CA, CAPath, Cert, Key, Cipher, CRL, CRLPath string
}

// Config reads the files and returns the client configuration. Errors
// name the setting with name(field), field being "ca", "capath", "cert",
// "key", "cipher", "crl" or "crlpath", and the file; where, if not empty,
// says where the settings come from in a failed verification's error.
func (f Files) Config(name func(field string) string, where string) (*tls.Config, error) {
	cfg := &tls.Config{
		// Verification is done by VerifyConnection below, when a CA is
		// configured: the chain only, never the host name (ProxySQL
		// verifies the same way; servers are often listed by address).
		InsecureSkipVerify: true,
		MinVersion:         tls.VersionTLS12,
	}
	if f.Cipher != "" {
		suites, err := parseCiphers(f.Cipher)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name("cipher"), err)
		}
		cfg.CipherSuites = suites
	}
	if f.Cert != "" || f.Key != "" {
		cert, key := f.Cert, f.Key
		if cert == "" {
			cert = key
		}
		if key == "" {
			key = cert
		}
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("%s, %s: cannot load the client certificate %s with the key %s: %w", name("cert"), name("key"), cert, key, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	if f.CA == "" && f.CAPath == "" {
		return cfg, nil
	}
	roots := x509.NewCertPool()
	var source []string
	if f.CA != "" {
		b, err := os.ReadFile(f.CA)
		if err != nil {
			return nil, fmt.Errorf("%s: cannot read the CA file: %w", name("ca"), err)
		}
		if !roots.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("%s: %s holds no PEM certificate", name("ca"), f.CA)
		}
		source = append(source, name("ca")+"="+f.CA)
	}
	if f.CAPath != "" {
		n, err := readDir(f.CAPath, func(b []byte) int {
			if roots.AppendCertsFromPEM(b) {
				return 1
			}
			return 0
		})
		if err != nil {
			return nil, fmt.Errorf("%s: cannot read the CA directory: %w", name("capath"), err)
		}
		if n == 0 {
			return nil, fmt.Errorf("%s: directory %s holds no PEM certificate", name("capath"), f.CAPath)
		}
		source = append(source, name("capath")+"="+f.CAPath)
	}
	var crls []*x509.RevocationList
	if f.CRL != "" {
		b, err := os.ReadFile(f.CRL)
		if err != nil {
			return nil, fmt.Errorf("%s: cannot read the CRL file: %w", name("crl"), err)
		}
		l, err := parseCRLs(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", name("crl"), f.CRL, err)
		}
		if len(l) == 0 {
			return nil, fmt.Errorf("%s: %s holds no CRL", name("crl"), f.CRL)
		}
		crls = append(crls, l...)
	}
	if f.CRLPath != "" {
		var perr error
		n, err := readDir(f.CRLPath, func(b []byte) int {
			l, err := parseCRLs(b)
			if err != nil && perr == nil {
				perr = err
			}
			crls = append(crls, l...)
			return len(l)
		})
		if err == nil && n == 0 {
			err = errors.New("no CRL in it")
			if perr != nil {
				err = perr
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: directory %s: %w", name("crlpath"), f.CRLPath, err)
		}
	}
	trusted := strings.Join(source, ", ")
	if where != "" {
		trusted = where + " " + trusted
	}
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		return verifyChain(cs.PeerCertificates, roots, crls, trusted)
	}
	return cfg, nil
}

// readDir calls add with the contents of every regular file of dir (an
// OpenSSL hashed directory, or any directory of PEM files) and returns
// the sum of what add returned.
func readDir(dir string, add func([]byte) int) (int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		st, err := os.Stat(p) // follows the hash links
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return 0, err
		}
		n += add(b)
	}
	return n, nil
}

// parseCRLs returns the CRLs of a PEM file ("X509 CRL" blocks) or a DER
// file. A file with other PEM blocks only returns none.
func parseCRLs(b []byte) ([]*x509.RevocationList, error) {
	if !strings.Contains(string(b), "-----BEGIN") {
		l, err := x509.ParseRevocationList(b)
		if err != nil {
			return nil, err
		}
		return []*x509.RevocationList{l}, nil
	}
	var out []*x509.RevocationList
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return out, nil
		}
		if blk.Type != "X509 CRL" {
			continue
		}
		l, err := x509.ParseRevocationList(blk.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
}

// verifyChain checks the server's certificates against the CAs and, when
// CRLs are configured, every certificate of the chain against a CRL of its
// issuer (OpenSSL's X509_V_FLAG_CRL_CHECK_ALL, which ProxySQL's client
// library sets with a CRL).
func verifyChain(peer []*x509.Certificate, roots *x509.CertPool, crls []*x509.RevocationList, trusted string) error {
	if len(peer) == 0 {
		return errors.New("the server sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range peer[1:] {
		inter.AddCert(c)
	}
	chains, err := peer[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
	if err != nil {
		return fmt.Errorf("the server's certificate (subject %q) is not trusted by %s: %w", peer[0].Subject.String(), trusted, err)
	}
	if len(crls) == 0 {
		return nil
	}
	var first error
	for _, chain := range chains {
		err := checkRevocation(chain, crls)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	return first
}

func checkRevocation(chain []*x509.Certificate, crls []*x509.RevocationList) error {
	now := time.Now()
	for i, c := range chain {
		issuer := c
		if i+1 < len(chain) {
			issuer = chain[i+1]
		}
		var crl *x509.RevocationList
		for _, l := range crls {
			if string(l.RawIssuer) == string(issuer.RawSubject) && l.CheckSignatureFrom(issuer) == nil {
				crl = l
				break
			}
		}
		if crl == nil {
			return fmt.Errorf("no CRL from %q to check the certificate of %q", issuer.Subject.String(), c.Subject.String())
		}
		if now.Before(crl.ThisUpdate) {
			return fmt.Errorf("the CRL of %q is not yet valid (thisUpdate %s)", issuer.Subject.String(), crl.ThisUpdate.Format(time.RFC3339))
		}
		if !crl.NextUpdate.IsZero() && now.After(crl.NextUpdate) {
			return fmt.Errorf("the CRL of %q has expired (nextUpdate %s)", issuer.Subject.String(), crl.NextUpdate.Format(time.RFC3339))
		}
		for _, r := range crl.RevokedCertificateEntries {
			if r.SerialNumber.Cmp(c.SerialNumber) == 0 {
				return fmt.Errorf("the certificate of %q (serial %s) is revoked by the CRL of %q", c.Subject.String(), c.SerialNumber, issuer.Subject.String())
			}
		}
	}
	return nil
}

// opensslCiphers maps OpenSSL's names of the TLS 1.2 (and older) cipher
// suites Go implements to their IANA names.
var opensslCiphers = map[string]string{
	"ECDHE-ECDSA-AES128-SHA":        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
	"ECDHE-ECDSA-AES256-SHA":        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
	"ECDHE-RSA-AES128-SHA":          "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
	"ECDHE-RSA-AES256-SHA":          "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
	"ECDHE-ECDSA-AES128-GCM-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
	"ECDHE-ECDSA-AES256-GCM-SHA384": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
	"ECDHE-RSA-AES128-GCM-SHA256":   "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
	"ECDHE-RSA-AES256-GCM-SHA384":   "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
	"ECDHE-RSA-CHACHA20-POLY1305":   "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
	"ECDHE-ECDSA-CHACHA20-POLY1305": "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
	"ECDHE-ECDSA-AES128-SHA256":     "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
	"ECDHE-RSA-AES128-SHA256":       "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
	"AES128-SHA":                    "TLS_RSA_WITH_AES_128_CBC_SHA",
	"AES256-SHA":                    "TLS_RSA_WITH_AES_256_CBC_SHA",
	"AES128-SHA256":                 "TLS_RSA_WITH_AES_128_CBC_SHA256",
	"AES128-GCM-SHA256":             "TLS_RSA_WITH_AES_128_GCM_SHA256",
	"AES256-GCM-SHA384":             "TLS_RSA_WITH_AES_256_GCM_SHA384",
	"DES-CBC3-SHA":                  "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
	"ECDHE-RSA-DES-CBC3-SHA":        "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
	"RC4-SHA":                       "TLS_RSA_WITH_RC4_128_SHA",
	"ECDHE-RSA-RC4-SHA":             "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
	"ECDHE-ECDSA-RC4-SHA":           "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
}

// parseCiphers reads a cipher list: names separated by colons, commas or
// spaces, in OpenSSL's spelling (ECDHE-RSA-AES256-GCM-SHA384) or IANA's
// (TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384). As with OpenSSL's cipher list,
// it applies to TLS 1.2: TLS 1.3, when the server offers it, uses its own
// suites, which Go does not let choose, so naming them is an error.
// OpenSSL's keywords (HIGH, !aNULL, ...) are not supported.
func parseCiphers(list string) ([]uint16, error) {
	ids := map[string]uint16{}
	tls13 := map[string]bool{}
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		ids[cs.Name] = cs.ID
		if len(cs.SupportedVersions) == 1 && cs.SupportedVersions[0] == tls.VersionTLS13 {
			tls13[cs.Name] = true
		}
	}
	var out []uint16
	for _, n := range strings.FieldsFunc(list, func(r rune) bool { return r == ':' || r == ',' || r == ' ' }) {
		iana := n
		if m, ok := opensslCiphers[strings.ToUpper(n)]; ok {
			iana = m
		}
		iana = strings.ToUpper(iana)
		if tls13[iana] {
			return nil, fmt.Errorf("%s is a TLS 1.3 cipher suite: sqlgate cannot restrict those (TLS 1.3 always offers %s); list TLS 1.2 ciphers only, or leave the setting empty",
				n, "TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384 and TLS_CHACHA20_POLY1305_SHA256")
		}
		id, ok := ids[iana]
		if !ok {
			known := slices.Sorted(maps.Keys(opensslCiphers))
			return nil, fmt.Errorf("unknown or unsupported cipher %q: name ciphers one by one (OpenSSL keywords such as HIGH or !aNULL are not supported), from: %s",
				n, strings.Join(known, ":"))
		}
		out = append(out, id)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no cipher in %q", list)
	}
	return out, nil
}
