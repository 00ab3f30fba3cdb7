// Package certs is the TLS certificate in the data directory that the
// client and admin listeners offer: ProxySQL's file names, and a
// self-signed CA and server certificate created on first start, as
// ProxySQL creates them, so that TLS works before an operator installs a
// real certificate.
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// Certificate file names in the data directory, as ProxySQL names them, so
// operators can drop in their own certificates the same way.
const (
	caFile   = "proxysql-ca.pem"
	certFile = "proxysql-cert.pem"
	keyFile  = "proxysql-key.pem"
)

// LoadOrCreate loads the listeners' certificate from dir, generating a
// self-signed CA and server certificate there first if none exist (ProxySQL
// does the same on first start).
func LoadOrCreate(dir string) (*tls.Config, error) {
	cert, key := filepath.Join(dir, certFile), filepath.Join(dir, keyFile)
	if _, err := os.Stat(cert); errors.Is(err, os.ErrNotExist) {
		if err := generateCerts(dir); err != nil {
			return nil, fmt.Errorf("generating TLS certificates in %s: %w", dir, err)
		}
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return nil, fmt.Errorf("loading TLS certificate %s: %w (delete the three proxysql-*.pem files to regenerate them)", cert, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

func generateCerts(dir string) error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sqlgate auto-generated CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "sqlgate"},
		DNSNames:     []string{"localhost", "sqlgate"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caTmpl, &srvKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		return err
	}
	files := []struct {
		name, typ string
		der       []byte
		mode      os.FileMode
	}{
		{caFile, "CERTIFICATE", caDER, 0o644},
		{certFile, "CERTIFICATE", srvDER, 0o644},
		{keyFile, "EC PRIVATE KEY", keyDER, 0o600},
	}
	for _, f := range files {
		data := pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der})
		if err := os.WriteFile(filepath.Join(dir, f.name), data, f.mode); err != nil {
			return err
		}
	}
	return nil
}
