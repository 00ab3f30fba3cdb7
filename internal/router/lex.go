package router

// Lexical helpers of the SET parser and the classifier.

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
		for i < len(q) && isHexDigit(q[i]) {
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

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
