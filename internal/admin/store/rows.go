package store

import (
	"context"
	"fmt"
	"strings"
)

// QuoteIdents quotes column names as SQLite identifiers: the admin tables
// have columns such as "Queries" and "Bytes_data_sent" that must keep
// their case, and a pulled column name is never trusted as SQL.
func QuoteIdents(cols []string) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = `"` + strings.ReplaceAll(c, `"`, `""`) + `"`
	}
	return out
}

// Insert writes r's rows into table by column name. verb is the statement
// ("INSERT", "INSERT OR REPLACE", "REPLACE").
func (s *Store) Insert(ctx context.Context, table string, r *Result, verb string) error {
	if r == nil || len(r.Rows) == 0 {
		return nil
	}
	q := verb + " INTO " + table + " (" + strings.Join(QuoteIdents(r.Cols), ", ") + ") VALUES (" +
		strings.TrimSuffix(strings.Repeat("?, ", len(r.Cols)), ", ") + ")"
	args := make([]any, len(r.Cols))
	for _, row := range r.Rows {
		for i, v := range row {
			if v == nil {
				args[i] = nil
			} else {
				args[i] = *v
			}
		}
		if _, err := s.Conn.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
	}
	return nil
}

// Replace rewrites table with rows (values in cols order) in one
// transaction: the stats and runtime tables are views of live state,
// regenerated whole before a query reads them.
func (s *Store) Replace(ctx context.Context, table string, cols []string, rows [][]any) error {
	return s.Tx(ctx, func() error {
		if _, err := s.Conn.ExecContext(ctx, "DELETE FROM "+table); err != nil {
			return err
		}
		// Multi-row INSERTs: the monitor logs can hold tens of thousands of
		// rows, and one statement per row would make reading them slow.
		return s.insertBatches(ctx, "INSERT INTO "+table+" ("+strings.Join(QuoteIdents(cols), ", ")+") VALUES ", len(cols), 50, rows)
	})
}

// InsertBatches appends rows to table (all columns, in order) with
// multi-row INSERTs of batch rows, inside one transaction.
func (s *Store) InsertBatches(ctx context.Context, table string, batch int, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	return s.Tx(ctx, func() error {
		return s.insertBatches(ctx, "INSERT INTO "+table+" VALUES ", len(rows[0]), batch, rows)
	})
}

func (s *Store) insertBatches(ctx context.Context, head string, ncols, batch int, rows [][]any) error {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", ncols), ", ") + ")"
	for len(rows) > 0 {
		n := min(batch, len(rows))
		q := head + strings.TrimSuffix(strings.Repeat(one+", ", n), ", ")
		args := make([]any, 0, n*ncols)
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		if _, err := s.Conn.ExecContext(ctx, q, args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}
