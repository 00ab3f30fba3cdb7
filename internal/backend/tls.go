package backend

import (
	"crypto/tls"

	"sqlgate/internal/tlsfiles"
)

// TLSSettings choose the TLS configuration of a backend connection: the
// mysql_servers_ssl_params row of (host, port, user), else the one of
// (host, port) with an empty username, else the mysql-ssl_p2s_* variables,
// as ProxySQL does. A row replaces the variables as a whole: a setting
// left empty in it is unset.
type TLSSettings struct {
	Default *tls.Config
	servers map[tlsKey]*tls.Config
	files   map[tlsKey]tlsfiles.Files
	def     tlsfiles.Files
}

type tlsKey struct {
	host string
	port int
	user string
}

// NewTLSSettings returns settings with the variables' configuration.
func NewTLSSettings(def tlsfiles.Files, cfg *tls.Config) *TLSSettings {
	return &TLSSettings{Default: cfg, def: def, servers: map[tlsKey]*tls.Config{}, files: map[tlsKey]tlsfiles.Files{}}
}

// AddServer sets the configuration of (host, port, user); user "" applies
// to every user without a row of its own.
func (t *TLSSettings) AddServer(host string, port int, user string, f tlsfiles.Files, cfg *tls.Config) {
	k := tlsKey{host, port, user}
	t.servers[k], t.files[k] = cfg, f
}

func (t *TLSSettings) lookup(host string, port int, user string) (tlsKey, bool) {
	if t == nil {
		return tlsKey{}, false
	}
	for _, k := range []tlsKey{{host, port, user}, {host, port, ""}} {
		if _, ok := t.servers[k]; ok {
			return k, true
		}
	}
	return tlsKey{}, false
}

// For returns the configuration of a connection as user to host:port.
// Nil settings (none configured) encrypt without verifying.
func (t *TLSSettings) For(host string, port int, user string) *tls.Config {
	if k, ok := t.lookup(host, port, user); ok {
		return t.servers[k]
	}
	if t == nil || t.Default == nil {
		return plainTLS
	}
	return t.Default
}

// Files returns the settings in force for user to host:port: what a
// connection made with them must be compared by (a monitor connection
// is re-made when they change).
func (t *TLSSettings) Files(host string, port int, user string) tlsfiles.Files {
	if k, ok := t.lookup(host, port, user); ok {
		return t.files[k]
	}
	if t == nil {
		return tlsfiles.Files{}
	}
	return t.def
}

// plainTLS encrypts and verifies nothing: use_ssl=1 with nothing
// configured.
var plainTLS = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}

// UsesTLS reports whether connections to a mysql_servers entry use TLS:
// use_ssl=1 and a TCP port (ProxySQL never uses TLS on a unix socket).
func UsesTLS(useSSL bool, port int) bool { return useSSL && port != 0 }
