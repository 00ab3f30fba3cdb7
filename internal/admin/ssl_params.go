package admin

import (
	"fmt"

	"sqlgate/internal/admin/store"
	"sqlgate/internal/config"
)

func sslParamsKey(d *rowDecoder) string {
	return fmt.Sprintf("hostname=%s, port=%s, username=%q", d.text("hostname"), d.text("port"), d.text("username"))
}

// decodeServersSSLParams reads mysql_servers_ssl_params. The files are
// read, and checked, when the runtime is built.
func decodeServersSSLParams(r *store.Result) ([]config.ServerSSLParams, error) {
	var out []config.ServerSSLParams
	for _, d := range newDecoders("mysql_servers_ssl_params", r, sslParamsKey) {
		p := config.ServerSSLParams{
			Hostname: d.text("hostname"), Port: d.integer("port", 0, 65535), Username: d.text("username"),
			SSLCA: d.text("ssl_ca"), SSLCert: d.text("ssl_cert"), SSLKey: d.text("ssl_key"),
			SSLCAPath: d.text("ssl_capath"), SSLCRL: d.text("ssl_crl"), SSLCRLPath: d.text("ssl_crlpath"),
			SSLCipher: d.text("ssl_cipher"), TLSVersion: d.text("tls_version"), Comment: d.text("comment"),
		}
		if p.Hostname == "" {
			d.fail("hostname", "must not be empty")
		}
		if d.err != nil {
			return nil, d.err
		}
		out = append(out, p)
	}
	return out, nil
}
