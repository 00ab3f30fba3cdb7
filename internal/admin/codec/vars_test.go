package codec

import (
	"strings"
	"testing"
)

func TestParseAdminVars(t *testing.T) {
	v, err := ParseAdminVars(map[string]string{"admin_credentials": "admin:admin;cluster:secret", "cluster_username": "cluster",
		"cluster_password": "secret", "read_only": "1"}, "1.0")
	if err != nil {
		t.Fatal(err)
	}
	if v.Credentials["cluster"] != "secret" || !v.ReadOnly || v.Raw["read_only"] != "true" || v.Raw["version"] != "1.0" {
		t.Errorf("parsed %+v", v)
	}
	if v, err := ParseAdminVars(map[string]string{"web_enabled": "1", "web_port": "6081"}, "1.0"); err != nil || v.Raw["web_enabled"] != "true" {
		t.Errorf("admin-web_enabled=1: %v, %v", v, err)
	}
	for _, bad := range []map[string]string{
		{"no_such": "1"},
		{"cluster_check_interval_ms": "5"},
		{"refresh_interval": "soon"},
		{"admin_credentials": "nopassword"},
		{"cluster_username": "cluster", "cluster_password": "x"},
		{"stats_credentials": "admin:x"},
		{"read_only": "maybe"},
		{"web_enabled": "maybe"},
		{"web_port": "0"},
		{"web_port": "70000"},
	} {
		if _, err := ParseAdminVars(bad, "1.0"); err == nil {
			t.Errorf("ParseAdminVars(%v) accepted", bad)
		} else if !strings.Contains(err.Error(), "admin-") {
			t.Errorf("error %q does not name the variable", err)
		}
	}
}
