package testbed

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// CA is a throw-away certificate authority: a self-signed certificate and
// its key, written as PEM files, that issues server and client
// certificates and CRLs for TLS tests.
type CA struct {
	Cert, Key string // PEM files

	mu     sync.Mutex
	cert   *x509.Certificate
	key    *rsa.PrivateKey
	serial int64
}

// NewCA creates a CA named name in dir (dir/name-ca.pem, dir/name-ca-key.pem).
func NewCA(dir, name string) (*CA, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sqlgate testbed CA " + name},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(1, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	ca := &CA{Cert: filepath.Join(dir, name+"-ca.pem"), Key: filepath.Join(dir, name+"-ca-key.pem"), cert: cert, key: key, serial: 1}
	if err := writePEM(ca.Cert, "CERTIFICATE", der); err != nil {
		return nil, err
	}
	if err := writePEM(ca.Key, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)); err != nil {
		return nil, err
	}
	return ca, nil
}

// Issue writes a certificate for name (dir/name-cert.pem and
// dir/name-key.pem) valid for the hosts (names or addresses), usable by a
// server and a client. It returns the files and the serial number.
func (ca *CA) Issue(dir, name string, hosts ...string) (cert, key string, serial *big.Int, err error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", nil, err
	}
	ca.mu.Lock()
	ca.serial++
	serial = big.NewInt(ca.serial)
	ca.mu.Unlock()
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &k.PublicKey, ca.key)
	if err != nil {
		return "", "", nil, err
	}
	cert, key = filepath.Join(dir, name+"-cert.pem"), filepath.Join(dir, name+"-key.pem")
	if err := writePEM(cert, "CERTIFICATE", der); err != nil {
		return "", "", nil, err
	}
	if err := writePEM(key, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k)); err != nil {
		return "", "", nil, err
	}
	return cert, key, serial, nil
}

// WriteCRL writes a CRL of the CA, valid for a day, revoking the serials.
func (ca *CA) WriteCRL(path string, revoked ...*big.Int) error {
	now := time.Now()
	tmpl := &x509.RevocationList{Number: big.NewInt(now.UnixNano()), ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(24 * time.Hour)}
	for _, s := range revoked {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: now.Add(-time.Minute)})
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca.cert, ca.key)
	if err != nil {
		return err
	}
	return writePEM(path, "X509 CRL", der)
}

func writePEM(path, typ string, der []byte) error {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// setupTLS creates the bed's CA and the servers' certificate (valid for
// 127.0.0.1 and localhost) in Dir/tls.
func (b *Bed) setupTLS() error {
	dir := filepath.Join(b.Dir, "tls")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ca, err := NewCA(dir, "bed")
	if err != nil {
		return err
	}
	cert, key, serial, err := ca.Issue(dir, "server", "127.0.0.1", "localhost")
	if err != nil {
		return err
	}
	b.CA, b.ServerCert, b.ServerKey, b.ServerSerial = ca, cert, key, serial
	return nil
}
