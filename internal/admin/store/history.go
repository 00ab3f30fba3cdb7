package store

import (
	"context"
	"time"
)

// Revision is one entry of the configuration history (HistoryDDL).
type Revision struct {
	Module           string
	Version          uint64
	Epoch            int64
	Checksum, Source string
	Content          []byte // JSON
}

// AddRevision appends r, stamped now, and drops the revisions older than
// the last limit.
func (s *Store) AddRevision(ctx context.Context, r Revision, limit int) error {
	return s.Tx(ctx, func() error {
		if _, err := s.Conn.ExecContext(ctx, "INSERT INTO disk.sqlgate_config_history (time, module, version, epoch, checksum, source, content) VALUES (?, ?, ?, ?, ?, ?, ?)",
			time.Now().Unix(), r.Module, r.Version, r.Epoch, r.Checksum, r.Source, string(r.Content)); err != nil {
			return err
		}
		_, err := s.Conn.ExecContext(ctx, "DELETE FROM disk.sqlgate_config_history WHERE revision <= (SELECT MAX(revision) FROM disk.sqlgate_config_history) - ?", limit)
		return err
	})
}

// LastRevisions returns each module's checksum at its last revision.
func (s *Store) LastRevisions(ctx context.Context) (map[string]string, error) {
	r, err := s.Query(ctx, "SELECT module, checksum FROM disk.sqlgate_config_history WHERE revision IN (SELECT MAX(revision) FROM disk.sqlgate_config_history GROUP BY module)")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, row := range r.Rows {
		out[Deref(row[0])] = Deref(row[1])
	}
	return out, nil
}

// Revision reads revision rev's module and content.
func (s *Store) Revision(ctx context.Context, rev int64) (Revision, error) {
	var r Revision
	var content string
	err := s.Conn.QueryRowContext(ctx, "SELECT module, version, epoch, checksum, source, content FROM disk.sqlgate_config_history WHERE revision = ?", rev).
		Scan(&r.Module, &r.Version, &r.Epoch, &r.Checksum, &r.Source, &content)
	r.Content = []byte(content)
	return r, err
}
