package runtime

import (
	"path/filepath"
	"strings"
	"testing"

	"sqlgate/internal/config"
)

// The defaults ProxySQL 2.7.2 reports in runtime_global_variables for the
// variables whose value is derived at LOAD time.
func TestMySQLVarDefaultsDerived(t *testing.T) {
	v, _, err := ParseMySQLVars(nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"server_capabilities": "569867", "default_charset": "utf8", "default_collation_connection": "utf8_general_ci",
		"enable_load_data_local_infile": "false",
	} {
		if got := v.Raw[name]; got != want {
			t.Errorf("mysql-%s = %q, want %q", name, got, want)
		}
	}
	if _, ok := v.Raw["session_debug"]; ok {
		t.Error("mysql-session_debug exists only in ProxySQL's debug builds")
	}
	if v.EnableLoadDataLocalInfile {
		t.Error("LOAD DATA LOCAL INFILE must be off by default")
	}
}

// ProxySQL applies have_compress/have_ssl as bits of server_capabilities
// in row order: a row after server_capabilities changes it.
func TestServerCapabilitiesRowOrder(t *testing.T) {
	raw := map[string]string{"have_compress": "1", "have_ssl": "true", "server_capabilities": "569867"}
	cases := []struct {
		order []string
		want  string
	}{
		{nil, "569867"},
		{[]string{"have_ssl", "have_compress", "server_capabilities"}, "569867"},
		{[]string{"have_ssl", "server_capabilities", "have_compress"}, "569899"},
		{[]string{"server_capabilities", "have_compress", "have_ssl"}, "571947"},
	}
	for _, c := range cases {
		v, _, err := ParseMySQLVarsInOrder(raw, c.order)
		if err != nil {
			t.Fatal(err)
		}
		if got := v.Raw["server_capabilities"]; got != c.want {
			t.Errorf("order %v: server_capabilities %s, want %s", c.order, got, c.want)
		}
	}
	v, _, _ := ParseMySQLVarsInOrder(map[string]string{"have_compress": "false", "server_capabilities": "569899"},
		[]string{"server_capabilities", "have_compress"})
	if got := v.Raw["server_capabilities"]; got != "569867" {
		t.Errorf("have_compress=false after server_capabilities: %s, want 569867", got)
	}
}

// The charset/collation pair is repaired as ProxySQL 2.7.2 does (the
// expected values were read from the real binary started with each
// setting in its config file).
func TestDefaultCharsetRepair(t *testing.T) {
	cases := []struct {
		cs, coll         string
		wantCS, wantColl string
	}{
		{"latin1", "", "latin1", "latin1_swedish_ci"},
		{"", "latin1_swedish_ci", "latin1", "latin1_swedish_ci"},
		{"nosuch", "", "utf8", "utf8_general_ci"},
		{"utf8mb4", "utf8mb4_unicode_ci", "utf8mb4", "utf8mb4_unicode_ci"},
		{"utf8mb4", "", "utf8mb4", "utf8mb4_general_ci"},
		{"latin1", "utf8mb4_bin", "utf8mb4", "utf8mb4_bin"},
		{"nosuch", "nosuch_ci", "utf8", "utf8_general_ci"},
		{"utf8mb4", "nosuch_ci", "utf8mb4", "utf8mb4_general_ci"},
	}
	for _, c := range cases {
		raw := map[string]string{}
		if c.cs != "" {
			raw["default_charset"] = c.cs
		}
		if c.coll != "" {
			raw["default_collation_connection"] = c.coll
		}
		v, warnings, err := ParseMySQLVars(raw)
		if err != nil {
			t.Fatal(err)
		}
		if v.Raw["default_charset"] != c.wantCS || v.Raw["default_collation_connection"] != c.wantColl {
			t.Errorf("%q/%q: got %q/%q, want %q/%q", c.cs, c.coll, v.Raw["default_charset"], v.Raw["default_collation_connection"], c.wantCS, c.wantColl)
		}
		if c.wantCS != c.cs && c.cs != "" && !strings.Contains(strings.Join(warnings, "\n"), "mysql-default_charset") {
			t.Errorf("%q/%q: no warning about the replaced charset: %q", c.cs, c.coll, warnings)
		}
	}
}

// The mysql-ssl_p2s_* variables keep ProxySQL's names and empty defaults
// (the variables checksum depends on them); their files are read when
// they are loaded, and a bad one fails the load naming the variable and
// the file. mysql_servers_ssl_params rows are read the same way.
func TestBackendTLSVariables(t *testing.T) {
	v, warnings, err := ParseMySQLVars(map[string]string{"ssl_p2s_cipher": "ECDHE-RSA-AES128-GCM-SHA256"})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"ca", "capath", "cert", "key", "crl", "crlpath"} {
		if val, ok := v.Raw["ssl_p2s_"+n]; !ok || val != "" {
			t.Errorf("mysql-ssl_p2s_%s = %q (present %v), want ProxySQL's empty default", n, val, ok)
		}
	}
	if v.Raw["ssl_p2s_cipher"] != "ECDHE-RSA-AES128-GCM-SHA256" || v.SSLP2SConfig == nil || len(v.SSLP2SConfig.CipherSuites) != 1 {
		t.Errorf("mysql-ssl_p2s_cipher not applied: raw %q, config %v", v.Raw["ssl_p2s_cipher"], v.SSLP2SConfig)
	}
	if len(warnings) != 0 {
		t.Errorf("implemented variables must not warn: %q", warnings)
	}
	if v, _, _ := ParseMySQLVars(nil); v.SSLP2SConfig != nil {
		t.Error("no ssl_p2s variable set: the backend TLS configuration must be nil (encrypt without verifying)")
	}
	missing := filepath.Join(t.TempDir(), "ca.pem")
	_, _, err = ParseMySQLVars(map[string]string{"ssl_p2s_ca": missing})
	if err == nil || !strings.Contains(err.Error(), "mysql-ssl_p2s_ca") || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing CA file: %v, want an error naming mysql-ssl_p2s_ca and %s", err, missing)
	}
	_, _, err = Build(&config.Config{MySQLServersSSLParams: []config.ServerSSLParams{{Hostname: "db1", Port: 3306, SSLCA: missing}}})
	if err == nil || !strings.Contains(err.Error(), `mysql_servers_ssl_params row (hostname=db1, port=3306, username="")`) ||
		!strings.Contains(err.Error(), "column ssl_ca") || !strings.Contains(err.Error(), missing) {
		t.Errorf("mysql_servers_ssl_params row with a missing CA file: %v", err)
	}
	snap, warnings, err := Build(&config.Config{MySQLServersSSLParams: []config.ServerSSLParams{{Hostname: "db1", Port: 3306, TLSVersion: "TLSv1.3"}}})
	if err != nil || snap.PoolOptions().TLS == nil || len(warnings) != 1 || !strings.Contains(warnings[0], "tls_version has no effect") {
		t.Errorf("mysql_servers_ssl_params row: err %v, warnings %q", err, warnings)
	}
}
