package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"

	"sqlgate/scripts/bench/report"
)

// rulesBench measures point_select (text protocol) through t with 0 rules,
// with o.rules query rules and with o.fastRouting fast-routing entries,
// loaded through the admin interface as ProxySQL admin SQL. Each rule
// has a match_digest that no sysbench query matches, so every query is
// tested against all of them; the fast-routing entries are for other
// schemas. The 0-rule run comes first and again last. Everything is
// removed again at the end.
func rulesBench(ctx context.Context, sb *sysbencher, t *target, o options) (out []report.RulesRow, err error) {
	admin, err := t.admin()
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	exec := func(q string) error {
		_, err := admin.ExecContext(ctx, q)
		if err != nil {
			return fmt.Errorf("%s: %.80s: %w", t.name, q, err)
		}
		return nil
	}
	clear := func() error {
		for _, q := range []string{"DELETE FROM mysql_query_rules", "DELETE FROM mysql_query_rules_fast_routing", "LOAD MYSQL QUERY RULES TO RUNTIME"} {
			if err := exec(q); err != nil {
				return err
			}
		}
		return nil
	}
	defer clear()
	measure := func(rules, fast int) {
		fmt.Fprintf(os.Stderr, "point_select %d threads via %s with %d rules, %d fast-routing entries...\n", o.rulesThreads, t.name, rules, fast)
		r := sb.run(ctx, t, "point_select", o.rulesThreads, "text", o.duration)
		out = append(out, report.RulesRow{Target: t.name, Threads: o.rulesThreads, Rules: rules, FastRouting: fast,
			QPS: r.QPS, P50ms: r.P50ms, CPUusPerQ: r.CPUusPerQ, Failed: r.Failed})
	}
	// The 0-rule baseline is measured first and again last, and the
	// others are compared with the mean of the two: on a shared machine
	// the QPS drifts by more than 1,000 rules cost (65 ns a statement in
	// BenchmarkEvaluate), and one baseline made the ratio that drift. The
	// ratios are filled in on every return, an early error's included.
	defer func() {
		if len(out) < 2 || out[0].QPS == 0 {
			return
		}
		base := out[0].QPS
		if last := out[len(out)-1]; last.Again && last.QPS > 0 {
			base = (base + last.QPS) / 2
		}
		for i := range out[1:] {
			x := &out[i+1]
			if x.Again {
				x.VsNoRules = report.Round2(x.QPS / out[0].QPS)
			} else {
				x.VsNoRules = report.Round2(x.QPS / base)
			}
		}
	}()
	if err := clear(); err != nil {
		return out, err
	}
	measure(0, 0)
	if o.rules > 0 {
		if err := insertRows(ctx, admin, "INSERT INTO mysql_query_rules (rule_id, active, match_digest, destination_hostgroup, apply) VALUES ",
			o.rules, func(i int) string {
				return fmt.Sprintf("(%d, 1, '%s', 0, 1)", i+1, strings.ReplaceAll(fmt.Sprintf(o.rulePattern, i), "'", "''"))
			}); err != nil {
			return out, fmt.Errorf("%s: %w", t.name, err)
		}
		if err := exec("LOAD MYSQL QUERY RULES TO RUNTIME"); err != nil {
			return out, err
		}
		if err := checkCount(ctx, admin, "runtime_mysql_query_rules", o.rules); err != nil {
			return out, fmt.Errorf("%s: %w", t.name, err)
		}
		measure(o.rules, 0)
	}
	if o.fastRouting > 0 {
		if err := exec("DELETE FROM mysql_query_rules"); err != nil {
			return out, err
		}
		if err := insertRows(ctx, admin, "INSERT INTO mysql_query_rules_fast_routing (username, schemaname, flagIN, destination_hostgroup, comment) VALUES ",
			o.fastRouting, func(i int) string {
				return fmt.Sprintf("('app', 'nomatch_%d', 0, 0, '')", i)
			}); err != nil {
			return out, fmt.Errorf("%s: %w", t.name, err)
		}
		if err := exec("LOAD MYSQL QUERY RULES TO RUNTIME"); err != nil {
			return out, err
		}
		if err := checkCount(ctx, admin, "runtime_mysql_query_rules_fast_routing", o.fastRouting); err != nil {
			return out, fmt.Errorf("%s: %w", t.name, err)
		}
		measure(0, o.fastRouting)
	}
	if len(out) > 1 {
		if err := clear(); err != nil {
			return out, err
		}
		measure(0, 0)
		out[len(out)-1].Again = true
	}
	return out, nil
}

// insertRows inserts n rows, 200 to a statement.
func insertRows(ctx context.Context, db *sql.DB, head string, n int, row func(int) string) error {
	for i := 0; i < n; i += 200 {
		var vals []string
		for j := i; j < n && j < i+200; j++ {
			vals = append(vals, row(j))
		}
		if _, err := db.ExecContext(ctx, head+strings.Join(vals, ", ")); err != nil {
			return fmt.Errorf("%.100s...: %w", head, err)
		}
	}
	return nil
}

func checkCount(ctx context.Context, db *sql.DB, table string, want int) error {
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		return err
	}
	if n != want {
		return fmt.Errorf("%s has %d rows after LOAD, want %d", table, n, want)
	}
	return nil
}
