// Package router decides where statements go: ProxySQL's query digest
// (normalised text and hash), statement classification and the flags that
// affect multiplexing, the SET parser, query rules and annotations.
package router

import (
	"strings"

	spooky "github.com/dgryski/go-spooky"
)

// Digest limits, ProxySQL's defaults (mysql-query_digests_*).
const (
	maxQueryLength      = 65000
	maxDigestLength     = 2048
	groupingLimit       = 3
	groupsGroupingLimit = 10
	maxCommentLength    = 1024
)

// Digest returns ProxySQL's normalised digest text of query (§6.4 of the
// data-path spec: comments removed, literals replaced by ?, whitespace
// collapsed and compressed around punctuation and operators, long value
// lists cut) and the first /* */ comment, which carries annotations.
func Digest(query string) (text string, firstComment string) {
	if len(query) > maxQueryLength {
		query = query[:maxQueryLength]
	}
	out := make([]byte, 0, len(query))
	space := false // a space is pending
	emit := func(b ...byte) {
		if space && spaceAfter(out) {
			out = append(out, ' ')
		}
		space = false
		out = append(out, b...)
	}
	n := len(query)
	for i := 0; i < n; {
		c := query[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			space = true
			i++
		case c == '/' && i+1 < n && query[i+1] == '*':
			end := strings.Index(query[i+2:], "*/")
			body := ""
			if end < 0 {
				body, i = query[i+2:], n
			} else {
				body, i = query[i+2:i+2+end], i+2+end+2
			}
			if len(body) > 0 && body[0] == '!' {
				// Executable comment: its content is part of the statement.
				b := strings.TrimLeft(body[1:], "0123456789")
				inner, _ := Digest(b)
				if inner != "" {
					emit([]byte(inner)...)
				}
				space = true
				continue
			}
			if firstComment == "" {
				fc := strings.TrimSpace(body)
				if len(fc) > maxCommentLength {
					fc = fc[:maxCommentLength]
				}
				firstComment = fc
			}
			space = true
		case c == '#' || (c == '-' && i+2 < n && query[i+1] == '-' && (query[i+2] == ' ' || query[i+2] == '\t')) ||
			(c == '-' && i+2 == n && query[i+1] == '-'):
			for i < n && query[i] != '\n' {
				i++
			}
			space = true
		case c == '\'' || c == '"':
			i = skipString(query, i)
			emitLiteral(&out, &space)
		case c >= '0' && c <= '9' && !identBefore(out, space):
			i = skipNumber(query, i)
			emitLiteral(&out, &space)
		case c == '.' && i+1 < n && query[i+1] >= '0' && query[i+1] <= '9' && !identBefore(out, space):
			i = skipNumber(query, i+1)
			emitLiteral(&out, &space)
		case c == '`':
			j := i + 1
			for j < n {
				if query[j] == '`' {
					if j+1 < n && query[j+1] == '`' {
						j += 2
						continue
					}
					j++
					break
				}
				j++
			}
			emit([]byte(query[i:j])...)
			i = j
		case isIdent(c):
			j := i + 1
			for j < n && isIdent(query[j]) {
				j++
			}
			emit([]byte(query[i:j])...)
			i = j
		default:
			if compressAround(c) {
				space = false
				out = trimSpace(out)
				out = append(out, c)
			} else if c == ')' {
				space = false
				out = trimSpace(out)
				out = append(out, c)
			} else {
				emit(c)
			}
			if c == '(' {
				space = false
			}
			i++
		}
	}
	out = trimSpace(out)
	for len(out) > 0 && out[len(out)-1] == ';' {
		out = trimSpace(out[:len(out)-1])
	}
	out = collapseGroups(out)
	if len(out) > maxDigestLength {
		out = out[:maxDigestLength]
	}
	return string(out), firstComment
}

// emitLiteral appends ?, dropping a unary sign in front of it.
func emitLiteral(out *[]byte, space *bool) {
	o := *out
	if l := len(o); l > 0 && (o[l-1] == '-' || o[l-1] == '+') {
		prev := trimSpace(o[:l-1])
		if len(prev) == 0 || !(isIdent(prev[len(prev)-1]) || prev[len(prev)-1] == ')' || prev[len(prev)-1] == '?') || isKeywordEnd(prev) {
			o = trimSpace(prev)
			if len(o) > 0 && isIdent(o[len(o)-1]) {
				o = append(o, ' ')
			}
			*space = false
		}
	}
	if *space && spaceAfter(o) {
		o = append(o, ' ')
	}
	*space = false
	*out = append(o, '?')
}

// isKeywordEnd reports whether b ends with a keyword after which a sign can
// only be unary (SELECT -1, WHERE -1 ...).
func isKeywordEnd(b []byte) bool {
	i := len(b)
	for i > 0 && isIdent(b[i-1]) {
		i--
	}
	switch strings.ToUpper(string(b[i:])) {
	case "SELECT", "WHERE", "AND", "OR", "NOT", "BY", "VALUES", "SET", "THEN", "ELSE", "WHEN", "RETURN", "LIMIT", "OFFSET", "IN", "IS", "LIKE", "BETWEEN":
		return true
	}
	return false
}

// spaceAfter reports whether a pending space survives after out's last
// byte: never after an opening parenthesis or a compressed operator.
func spaceAfter(out []byte) bool {
	if len(out) == 0 {
		return false
	}
	c := out[len(out)-1]
	return c != '(' && !compressAround(c)
}

func compressAround(c byte) bool {
	switch c {
	case ',', '=', '<', '>', '!', '+', '-', '/', '%', '|', '&', '^':
		return true
	}
	return false
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == ' ' {
		b = b[:len(b)-1]
	}
	return b
}

// identBefore reports whether a digit continues an identifier (col1).
func identBefore(out []byte, space bool) bool {
	return !space && len(out) > 0 && (isIdent(out[len(out)-1]) || out[len(out)-1] == '`')
}

func isIdent(c byte) bool {
	return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

func skipString(q string, i int) int {
	quote := q[i]
	i++
	for i < len(q) {
		switch q[i] {
		case '\\':
			i += 2
			continue
		case quote:
			if i+1 < len(q) && q[i+1] == quote {
				i += 2
				continue
			}
			return i + 1
		}
		i++
	}
	return len(q)
}

func skipNumber(q string, i int) int {
	if i+1 < len(q) && q[i] == '0' && (q[i+1] == 'x' || q[i+1] == 'X' || q[i+1] == 'b' || q[i+1] == 'B') {
		i += 2
		for i < len(q) && isHex(q[i]) {
			i++
		}
		return i
	}
	for i < len(q) {
		c := q[i]
		switch {
		case c >= '0' && c <= '9' || c == '.':
			i++
		case (c == 'e' || c == 'E') && i+1 < len(q) && (q[i+1] >= '0' && q[i+1] <= '9' || (q[i+1] == '-' || q[i+1] == '+') && i+2 < len(q) && q[i+2] >= '0' && q[i+2] <= '9'):
			i += 2
		default:
			return i
		}
	}
	return i
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// collapseGroups applies stages 3 and 4: a parenthesised run of 5 or more ?
// items becomes (?,?,?,...); more than 10 consecutive groups (...),(...)
// become the first 10 followed by ,...
func collapseGroups(b []byte) []byte {
	if !containsByte(b, '(') {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		if b[i] == '(' {
			// Count ?, items up to a non-? token.
			j, items := i+1, 0
			for j < len(b) && b[j] == '?' {
				items++
				if j+1 < len(b) && b[j+1] == ',' {
					j += 2
					continue
				}
				j++
				break
			}
			if items >= groupingLimit+2 && j <= len(b) && b[j-1] == '?' && j < len(b) && b[j] == ')' {
				out = append(out, '(')
				for k := 0; k < groupingLimit; k++ {
					out = append(out, '?', ',')
				}
				out = append(out, "...)"...)
				i = j + 1
				continue
			}
		}
		out = append(out, b[i])
		i++
	}
	return collapseGroupRuns(out)
}

func collapseGroupRuns(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		if b[i] != '(' || (len(out) > 0 && out[len(out)-1] == ',') {
			out = append(out, b[i])
			i++
			continue
		}
		// b[i] starts a group that does not follow a comma: scan the run.
		start, groups, j := i, 0, i
		cut := -1
		for j < len(b) && b[j] == '(' {
			end := matchParen(b, j)
			if end < 0 {
				break
			}
			groups++
			if groups == groupsGroupingLimit {
				cut = end + 1
			}
			j = end + 1
			if j < len(b) && b[j] == ',' && j+1 < len(b) && b[j+1] == '(' {
				j++
				continue
			}
			break
		}
		if groups > groupsGroupingLimit {
			out = append(out, b[start:cut]...)
			out = append(out, ",..."...)
			i = j
			continue
		}
		out = append(out, b[start:j]...)
		if j == start {
			out = append(out, b[i])
			j++
		}
		i = j
	}
	return out
}

func matchParen(b []byte, i int) int {
	depth := 0
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

func containsByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

// DigestHash is ProxySQL's digest: SpookyHash V2, 64 bits, seed 0, of the
// digest text.
func DigestHash(text string) uint64 { return spooky.Hash64([]byte(text)) }
