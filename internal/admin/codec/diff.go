package codec

import (
	"strconv"
	"strings"
)

// Change is one difference between two resultsets: a row added (+),
// removed (-), or one column of a row changed (~). Key names the row by
// its key columns (or all of them), Before and After are the row or the
// column's value (NULL for NULL).
type Change struct {
	Change, Key, Column, Before, After string
}

// Diff compares two resultsets of the same query with columns cols. Rows
// are matched by their first keyCols columns; when a key is not unique on
// either side (or keyCols is 0) whole rows are compared.
func Diff(cols []string, before, after [][]*string, keyCols int) []Change {
	keyCols = min(keyCols, len(cols))
	render := func(row []*string) string {
		var b strings.Builder
		for i, v := range row {
			if i > 0 {
				b.WriteString(", ")
			}
			if i < len(cols) {
				b.WriteString(cols[i] + "=")
			}
			if v == nil {
				b.WriteString("NULL")
			} else {
				b.WriteString(strconv.Quote(*v))
			}
		}
		return b.String()
	}
	index := func(rows [][]*string) (map[string][]*string, []string, bool) {
		m := map[string][]*string{}
		var order []string
		unique := true
		for _, row := range rows {
			k := render(row[:min(keyCols, len(row))])
			if _, dup := m[k]; dup {
				unique = false
			}
			m[k] = row
			order = append(order, k)
		}
		return m, order, unique
	}
	b, bOrder, bu := index(before)
	a, aOrder, au := index(after)
	if !bu || !au || keyCols == 0 {
		// Whole rows: what was there and is not, what is there and was not.
		keyCols = len(cols)
		b, bOrder, _ = index(before)
		a, aOrder, _ = index(after)
	}
	var out []Change
	for _, k := range bOrder {
		if _, ok := a[k]; !ok {
			out = append(out, Change{Change: "-", Key: k, Before: render(b[k])})
		}
	}
	for _, k := range aOrder {
		old, ok := b[k]
		if !ok {
			out = append(out, Change{Change: "+", Key: k, After: render(a[k])})
			continue
		}
		for i := keyCols; i < len(cols) && i < len(old) && i < len(a[k]); i++ {
			if v1, v2 := old[i], a[k][i]; (v1 == nil) != (v2 == nil) || v1 != nil && *v1 != *v2 {
				out = append(out, Change{Change: "~", Key: k, Column: cols[i], Before: text(v1), After: text(v2)})
			}
		}
	}
	return out
}

func text(v *string) string {
	if v == nil {
		return "NULL"
	}
	return *v
}
