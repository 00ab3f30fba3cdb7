package backend

import (
	"crypto/tls"
	"testing"

	"sqlgate/internal/tlsfiles"
)

func TestTLSSettingsLookup(t *testing.T) {
	var none *TLSSettings
	if none.For("h", 1, "u") != plainTLS {
		t.Error("nil settings must encrypt without verifying")
	}
	def, all, user := &tls.Config{}, &tls.Config{}, &tls.Config{}
	ts := NewTLSSettings(tlsfiles.Files{CA: "def"}, def)
	ts.AddServer("h", 1, "", tlsfiles.Files{CA: "all"}, all)
	ts.AddServer("h", 1, "u", tlsfiles.Files{CA: "user"}, user)
	for _, tc := range []struct {
		host string
		port int
		user string
		want *tls.Config
		ca   string
	}{
		{"h", 1, "u", user, "user"},
		{"h", 1, "v", all, "all"},
		{"h", 2, "u", def, "def"},
		{"g", 1, "u", def, "def"},
	} {
		if got := ts.For(tc.host, tc.port, tc.user); got != tc.want {
			t.Errorf("For(%s, %d, %s): wrong configuration", tc.host, tc.port, tc.user)
		}
		if got := ts.Files(tc.host, tc.port, tc.user).CA; got != tc.ca {
			t.Errorf("Files(%s, %d, %s).CA = %q, want %q", tc.host, tc.port, tc.user, got, tc.ca)
		}
	}
	if UsesTLS(true, 0) || !UsesTLS(true, 3306) || UsesTLS(false, 3306) {
		t.Error("UsesTLS: TLS only with use_ssl=1 over TCP")
	}
}
