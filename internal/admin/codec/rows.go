package codec

import "sqlgate/internal/admin/store"

// SplitUsers turns mysql_users rows into ProxySQL's runtime rows: the
// frontend accounts, then the backend accounts.
func SplitUsers(r *store.Result) *store.Result {
	if r == nil {
		return nil
	}
	col := map[string]int{}
	for i, c := range r.Cols {
		col[c] = i
	}
	out := &store.Result{Cols: r.Cols}
	for _, side := range []string{"frontend", "backend"} {
		for _, row := range r.Rows {
			if store.Deref(row[col[side]]) != "1" {
				continue
			}
			n := make([]*string, len(row))
			copy(n, row)
			for _, c := range []string{"password", "default_schema", "attributes", "comment"} {
				if n[col[c]] == nil {
					n[col[c]] = new(string)
				}
			}
			one, zero := "1", "0"
			n[col["frontend"]], n[col["backend"]] = &zero, &zero
			n[col[side]] = &one
			out.Rows = append(out.Rows, n)
		}
	}
	return out
}

// ActiveRows keeps the rows whose "active" column is 1: runtime holds only
// active users and rules.
func ActiveRows(r *store.Result) *store.Result {
	col := -1
	for i, c := range r.Cols {
		if c == "active" {
			col = i
		}
	}
	out := &store.Result{Cols: r.Cols}
	for _, row := range r.Rows {
		if col < 0 || row[col] != nil && *row[col] == "1" {
			out.Rows = append(out.Rows, row)
		}
	}
	return out
}
