package main

import (
	"path/filepath"
	"testing"

	"sqlgate/internal/config"
)

// TestExamplesParse keeps the README's example files true: each parses
// without a warning, the core lists itself among the cores, the satellite
// carries nothing but what it needs to reach them, and single.cnf is one
// node.
func TestExamplesParse(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "*.cnf"))
	if err != nil || len(files) < 3 {
		t.Fatalf("examples/*.cnf: %v %v", files, err)
	}
	for _, f := range files {
		cfg, warnings, err := config.Load(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		for _, w := range warnings {
			t.Errorf("%s: %s", f, w)
		}
		if filepath.Base(f) == "single.cnf" {
			// The quick start and the .deb's /etc/sqlgate/proxysql.cnf:
			// one node, one backend, no cluster.
			if len(cfg.ProxySQLServers) != 0 || len(cfg.MySQLServers) != 1 || len(cfg.MySQLUsers) != 1 || cfg.Datadir != "/var/lib/sqlgate" {
				t.Errorf("%s: want one server, one user, no proxysql_servers, datadir /var/lib/sqlgate", f)
			}
			continue
		}
		if len(cfg.ProxySQLServers) != 2 {
			t.Errorf("%s: %d proxysql_servers, want the 2 cores", f, len(cfg.ProxySQLServers))
		}
		if filepath.Base(f) == "satellite.cnf" && (len(cfg.MySQLServers) != 0 || len(cfg.MySQLUsers) != 0 || len(cfg.MySQLQueryRules) != 0) {
			t.Errorf("%s: a satellite takes servers, users and rules from the cores", f)
		}
	}
}
