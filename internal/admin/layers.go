package admin

import (
	"context"
	"fmt"
	"strings"
	"time"

	"sqlgate/internal/admin/codec"
	"sqlgate/internal/config"
)

// loadSave runs LOAD|SAVE <module> TO|FROM <layer> for who (user@host,
// for the configuration history). It returns
// the rows affected ProxySQL reports: the variable rows copied between
// memory and disk (ProxySQL runs an INSERT ... SELECT for those), the rows
// read from the config file.
func (a *Admin) loadSave(ctx context.Context, who, verb, modName, dir, layer string) (uint64, string, error) {
	switch layer {
	case "MEM":
		layer = "MEMORY"
	case "RUN":
		layer = "RUNTIME"
	}
	action := verb + " " + dir + " " + layer
	if modName == "MYSQL DIGEST" && action == "SAVE TO DISK" {
		start := time.Now()
		n, err := a.tables.FlushDigests(ctx, start.Unix())
		if err != nil {
			return 0, "", adminErr("SAVE MYSQL DIGEST TO DISK: %v", err)
		}
		a.log.Info(fmt.Sprintf("Saved stats_mysql_query_digest to disk: %dms to write %d entries", time.Since(start).Milliseconds(), n))
		return uint64(n), "", nil
	}
	if modName == "COREDUMP" {
		// The filters name C++ source lines of ProxySQL, which sqlgate does
		// not have: they are kept and shown, and select nothing.
		if action != "LOAD FROM MEMORY" && action != "LOAD TO RUNTIME" {
			return 0, "", adminErr("%s COREDUMP %s %s is not a ProxySQL command; see LOAD COREDUMP TO RUNTIME", verb, dir, layer)
		}
		return 0, "", a.st.Tx(ctx, func() error {
			return a.st.Exec(ctx, "DELETE FROM main.runtime_coredump_filters",
				"INSERT INTO main.runtime_coredump_filters SELECT * FROM main.coredump_filters")
		})
	}
	m := moduleByName(modName)
	if m == nil {
		switch modName {
		case "LDAP VARIABLES", "SQLITESERVER VARIABLES", "CLICKHOUSE VARIABLES", "CLICKHOUSE USERS", "DEBUG", "PGSQL SERVERS", "PGSQL USERS", "PGSQL QUERY RULES", "PGSQL VARIABLES":
			return 0, "", adminErr("%s are not supported by sqlgate", strings.ToLower(modName))
		}
		return 0, "", adminErr("unknown module %q in %s %s %s %s; modules: MYSQL SERVERS, MYSQL USERS, MYSQL QUERY RULES, MYSQL VARIABLES, ADMIN VARIABLES, PROXYSQL SERVERS, SCHEDULER, RESTAPI, MYSQL FIREWALL, COREDUMP", modName, verb, modName, dir, layer)
	}
	// varRows counts the variable rows a copy from schema moves.
	varRows := func(schema string) uint64 {
		if m.prefix == "" {
			return 0
		}
		var n uint64
		a.st.Conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+schema+".global_variables WHERE variable_name LIKE '"+m.prefix+"-%'").Scan(&n)
		return n
	}
	switch action {
	case "LOAD TO MEMORY", "LOAD FROM DISK": // disk → memory
		return varRows("disk"), "", a.copyLayer(ctx, m, "disk", "main", false)
	case "SAVE FROM MEMORY", "SAVE TO DISK": // memory → disk, atomically
		if err := a.copyLayer(ctx, m, "main", "disk", false); err != nil {
			return 0, "", adminErr("SAVE %s TO DISK: %v; the disk configuration is unchanged", m.name, err)
		}
		a.persistEpochs(ctx, m)
		return varRows("main"), "", nil
	case "LOAD FROM MEMORY", "LOAD TO RUNTIME": // memory → runtime
		if err := m.toRuntime(a, ctx); err != nil {
			return 0, "", adminErr("LOAD %s TO RUNTIME: %v; the running configuration is unchanged", m.name, err)
		}
		a.log.Info("configuration loaded to runtime", "module", m.name)
		a.record(ctx, fmt.Sprintf("LOAD %s TO RUNTIME by %s", m.name, who), moduleChecksums(m)...)
		return 0, "", nil
	case "SAVE TO MEMORY", "SAVE FROM RUNTIME": // runtime → memory
		if m.name == "MYSQL USERS" {
			return 0, "", a.saveUsersToMemory(ctx)
		}
		return 0, "", m.toMemory(a, ctx)
	case "LOAD FROM CONFIG":
		if !m.fromConfig {
			return 0, "", adminErr("%s cannot be loaded from the config file", m.name)
		}
		if a.cnfPath == "" {
			return 0, "", adminErr("Config file unknown")
		}
		cfg, _, err := config.Load(a.cnfPath)
		if err != nil {
			return 0, "", adminErr("Unable to open or parse config file %s: %v", a.cnfPath, err)
		}
		var n int
		err = a.st.Tx(ctx, func() error {
			var err error
			n, err = codec.Import(ctx, a.st, cfg, m.name, a.log.Warn)
			return err
		})
		if err != nil {
			return 0, "", adminErr("%v", err)
		}
		return uint64(n), "", nil
	}
	return 0, "", adminErr("%s %s %s %s is not a valid command; see LOAD|SAVE <module> TO|FROM MEMORY|RUNTIME|DISK|CONFIG", verb, m.name, dir, layer)
}

// saveUsersToMemory is SAVE MYSQL USERS TO MEMORY as ProxySQL runs it:
// every user in memory becomes inactive, then each runtime account is
// written back active, a frontend row (frontend=1, backend=0) and a backend
// row (backend=1, frontend=0) per user, replacing the rows they collide
// with.
func (a *Admin) saveUsersToMemory(ctx context.Context) error {
	return a.st.Tx(ctx, func() error {
		if _, err := a.st.Conn.ExecContext(ctx, "UPDATE main.mysql_users SET active=0"); err != nil {
			return err
		}
		return a.st.Insert(ctx, "main.mysql_users", codec.SplitUsers(a.rtRows["mysql_users"]), "REPLACE")
	})
}

// loadOrRevert loads module m's MEMORY tables, just rewritten (by a pull,
// a restore), to RUNTIME. If that fails, MEMORY is put back from RUNTIME,
// so nothing is left half-applied; failing that too is logged as
// revertFailed.
func (a *Admin) loadOrRevert(ctx context.Context, m *module, revertFailed string) error {
	err := m.toRuntime(a, ctx)
	if err != nil {
		if rerr := m.toMemory(a, ctx); rerr != nil {
			a.log.Error(revertFailed, "module", m.name, "err", rerr)
		}
	}
	return err
}
