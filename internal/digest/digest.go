// Package digest computes ProxySQL's query digest: the normalised text
// (literals replaced by ?, comments and blanks folded, value lists
// shortened) and its hash, byte for byte as ProxySQL 2.7's tokenizer does,
// so stats_mysql_query_digest, query rules on match_digest and the digest
// column agree with ProxySQL's.
package digest

import (
	"bytes"
	"sync"

	spooky "github.com/dgryski/go-spooky"
)

// maxDigestLength is mysql-query_digests_max_digest_length: the digest text
// kept (and hashed) is cut to this many bytes.
const maxDigestLength = 2048

// digestOptions are the mysql-query_digests_* variables that change the
// digest text.
type digestOptions struct {
	maxQueryLength      int // query_digests_max_query_length: size of the work buffer
	groupingLimit       int // query_digests_grouping_limit
	groupsGroupingLimit int // query_digests_groups_grouping_limit
	lowercase           bool
	replaceNull         bool
	noDigits            bool
	keepComment         bool
}

// defaultDigestOptions are ProxySQL 2.7's defaults (lib/MySQL_Thread.cpp);
// note query_digests_replace_null is false there.
var defaultDigestOptions = digestOptions{maxQueryLength: 65000, groupingLimit: 3, groupsGroupingLimit: 10}

// Digest returns ProxySQL's digest text of query and its first /* */ comment
// (which carries annotations such as hostgroup=20), with surrounding blanks
// removed.
//
// The text is what ProxySQL 2.7's mysql_query_digest_and_first_comment_2
// produces with default settings, byte for byte, cut to 2048 bytes: comments
// dropped (the body of /*!NNNNN ... */ kept), string, number and hex literals
// replaced by ?, blanks collapsed, blanks next to parentheses, commas and
// some operators removed, a sign in front of a literal dropped, value lists
// (?,?,?,?,?) shortened to (?,?,?,...) and more than ten such lists in a row
// to the first ten followed by ",...". The ProxySQL test vectors in
// testdata pin every rule.
func Of(query string) (text string, firstComment string) {
	d := digesterPool.Get().(*digester)
	out := d.run(query, &defaultDigestOptions, 0)
	if len(out) > maxDigestLength {
		out = out[:maxDigestLength]
	}
	text = string(out)
	firstComment = trimBlanks(d.comment())
	d.release()
	return text, firstComment
}

// digestWith computes the digest text (not cut to 2048 bytes), the
// untrimmed first comment and whether there is one, with explicit options.
// stages 1 and 2 stop after the scan or the first pass, as ProxySQL's test
// helpers mysql_query_digest_first_stage and _second_stage do; 0 runs all.
func digestWith(query string, o *digestOptions, stages int) (string, string, bool) {
	d := digesterPool.Get().(*digester)
	text := string(d.run(query, o, stages))
	comment, has := d.comment(), d.hasComment
	d.release()
	return text, comment, has
}

// Hash is ProxySQL's digest: SpookyHash V2, 64 bits, seed 0, of the
// digest text.
func Hash(text string) uint64 { return spooky.Hash64([]byte(text)) }

// The digester reproduces ProxySQL's tokenizer, including its quirks,
// because the digest text and hash are visible (stats_mysql_query_digest,
// match_digest, digest in query rules and the firewall) and must agree with
// ProxySQL for the same query.
//
// It works like ProxySQL: a scan copies the query into a buffer of
// min(len(query), maxQueryLength) bytes, replacing literals and dropping
// comments and repeated blanks; three compaction passes then squeeze the
// buffer in place (blanks and signs, value lists, runs of value lists). When
// the scan stopped because the buffer was full and the passes freed room,
// the scan resumes where it stopped, so long bulk INSERTs still end in
// ",...". The passes read bytes behind and ahead of what they write, so the
// in-place order of reads and writes is part of the result and is kept.
type digester struct {
	digestState
	b      []byte // work buffer, lim bytes plus slack for look-ahead
	cmdBuf [commentCap]byte
	fcBuf  [commentCap]byte
}

// digestState is everything reset for each query.
type digestState struct {
	o   *digestOptions
	q   string
	qi  int // next query byte
	lim int // min(len(q), maxQueryLength)

	base   int // where the current round's output starts (0 in round one)
	w      int // write position
	mark   int // write position when the current token started
	st     scanState
	prev   byte // last query byte consumed (or a substitute, see below)
	doCopy bool // copy the current byte after a token handler returns

	// /* */ comments
	cmd        bool // /*! comment, or any comment with keepComment
	cmdLen     int
	hasComment bool
	fcDone     bool
	fcLen      int
	fcFrom     int  // query offset of the first comment's first byte
	fcPlain    bool // fcBuf is a verbatim copy of q[fcFrom:]
	fcBlanks   bool

	// quoted strings
	inQuote  bool
	quote    byte
	strStart int

	// numbers
	numFirst bool
	numStart int // output offset of the number being copied, or none
	numEnd   int // where the scan stopped inside a number, or none

	scanEnd  int    // write position where the last scan stopped
	shrunk   int    // bytes the last round's passes removed
	passStop [3]int // per pass: write position where it stopped
	passCut  [3]int // per pass: bytes it removed
}

type scanState uint8

const (
	inText scanState = iota
	inBlockComment
	inHashComment
	inDashComment
	inString
	inNumber
	atNull
)

const (
	commentCap = 1024     // FIRST_COMMENT_MAX_LENGTH
	none       = -1 << 40 // no position
	slack      = 16       // bytes past lim the passes may peek at
)

var digesterPool = sync.Pool{New: func() any { return new(digester) }}

func (d *digester) release() {
	d.q, d.o = "", nil
	if cap(d.b) <= 1<<17 {
		digesterPool.Put(d)
	}
}

// run digests q and returns the text (valid until release). stages is 0 for
// the full pipeline, or 1 or 2 for the scan alone or the scan plus the first
// pass, in one round.
func (d *digester) run(q string, o *digestOptions, stages int) []byte {
	lim := min(len(q), o.maxQueryLength)
	n := lim + slack
	if cap(d.b) < n {
		d.b = make([]byte, n)
	}
	d.b = d.b[:n]
	// A byte the scan steps over keeps what the buffer held before; in
	// ProxySQL that is uninitialised memory. A blank is the harmless choice.
	fillBlanks(d.b)
	d.digestState = digestState{o: o, q: q, lim: lim, numFirst: true, numStart: none, numEnd: none}

	if stages == 1 || stages == 2 {
		d.scan()
		if stages == 2 {
			d.squeeze()
		}
		return d.finish()
	}
	for {
		d.scan()
		d.squeeze()
		d.groupValues()
		d.groupLists()
		d.shrunk = d.scanEnd - d.w
		if d.qi >= len(q) || d.w >= lim || d.shrunk == 0 {
			break
		}
		d.base, d.mark = d.w, d.w
	}
	return d.finish()
}

var blanks = func() (b [256]byte) {
	for i := range b {
		b[i] = ' '
	}
	return b
}()

func fillBlanks(b []byte) {
	for len(b) > 0 {
		b = b[copy(b, blanks[:]):]
	}
}

// comment returns the first /* */ comment as ProxySQL stores it: blanks
// (\t, \r, \n) turned into spaces, at most 1023 bytes, up to a NUL byte.
func (d *digester) comment() string {
	if !d.hasComment {
		return ""
	}
	c := d.fcBuf[:d.fcLen]
	if i := bytes.IndexByte(c, 0); i >= 0 { // a C string
		c = c[:i]
	}
	if d.fcPlain && !d.fcBlanks {
		return d.q[d.fcFrom : d.fcFrom+len(c)]
	}
	return string(c)
}

// ---- scan ----------------------------------------------------------------

// scan copies query bytes into the buffer until the query or the buffer
// ends, replacing literals by ? and dropping comments and extra blanks. Each
// token handler consumes the bytes of its token (stopping, like ProxySQL,
// when the buffer is full) and returns the next state.
func (d *digester) scan() {
	if d.numEnd != none {
		d.w, d.mark = d.numEnd, d.numEnd
	}
	if d.base != 0 && d.mark > 0 {
		d.prev = d.b[d.mark-1]
	}
	q := d.q
	for d.w < d.lim && d.qi < len(q) {
		switch d.st {
		case inText:
			d.text()
		case inBlockComment:
			d.st = d.blockComment()
		case inHashComment:
			d.st = d.hashComment()
		case inDashComment:
			d.st = d.dashComment()
		case inString:
			d.st = d.stringLiteral()
		case inNumber:
			d.st = d.number()
		case atNull:
			d.st = d.null()
		}
	}
	d.b[d.w] = 0
	d.scanEnd = d.w
	d.numEnd = none
	if d.st == inNumber {
		d.numEnd = d.w
	}
}

// Byte classes for the text outside tokens.
const (
	plainByte = iota // copied as is
	digitByte        // starts a number unless it continues a word
	nByte            // n or N: may start NULL
	blankByte        // copied as a space unless it follows a blank
	markByte         // / # - ' " may start a comment or a string

	wordBit  = 8  // isWordByte
	blankBit = 16 // isBlank
)

var byteClass = func() (t [256]uint8) {
	for c := range t {
		switch {
		case isDigit(byte(c)):
			t[c] = digitByte
		case c == 'n' || c == 'N':
			t[c] = nByte
		case isBlank(byte(c)):
			t[c] = blankByte | blankBit
		case c == '/' || c == '#' || c == '-' || c == '\'' || c == '"':
			t[c] = markByte
		}
		if isWordByte(byte(c)) {
			t[c] |= wordBit
		}
	}
	return t
}()

// identity and lowerCase map bytes as copyByte does (blanks become
// spaces).
var identity, lowerCase = func() (id, lc [256]byte) {
	for c := range id {
		id[c], lc[c] = byte(c), toLower(byte(c))
		if isBlank(byte(c)) {
			id[c], lc[c] = ' ', ' '
		}
	}
	return id, lc
}()

// copyPlain[replaceNull][class of the byte (low 3 bits) | word and blank
// bits of the previous byte] tells whether text copies the byte at once.
var copyPlain = func() (t [2][32]bool) {
	for null := range t {
		for i := range t[null] {
			prevWord, prevBlank := i&wordBit != 0, i&blankBit != 0
			switch i & 7 {
			case plainByte:
				t[null][i] = true
			case digitByte:
				t[null][i] = prevWord
			case nByte:
				t[null][i] = null == 0 || prevWord
			case blankByte:
				t[null][i] = !prevBlank
			}
		}
	}
	return t
}()

// text handles bytes outside any token, up to the start of one.
func (d *digester) text() {
	q, b, lim := d.q, d.b, d.lim
	conv := &identity
	if d.o.lowercase {
		conv = &lowerCase
	}
	plain := &copyPlain[0]
	if d.o.replaceNull {
		plain = &copyPlain[1]
	}
	for d.w < lim && d.qi < len(q) {
		if d.w > 0 {
			// Fast path: copy bytes that cannot start a token, and a
			// blank after a byte that is not one.
			n := min(len(q)-d.qi, lim-d.w)
			src, dst := q[d.qi:d.qi+n], b[d.w:d.w+n]
			prev := byteClass[d.prev] & (wordBit | blankBit)
			k := 0
			for ; k < len(src) && k < len(dst); k++ {
				c := src[k]
				cl := byteClass[c]
				if !plain[(cl&7|prev)&31] {
					break
				}
				dst[k] = conv[c]
				prev = cl & (wordBit | blankBit)
			}
			if k > 0 {
				d.w += k
				d.qi += k
				d.prev = src[k-1]
				if k == n {
					return
				}
			}
		}

		w, c := d.w, q[d.qi]
		d.mark = w
		if d.st = d.tokenStart(); d.st != inText {
			return
		}
		if isBlank(c) {
			if w == 0 { // leading blanks
				d.qi++
				continue
			}
			if isBlank(d.prev) {
				// A run of blanks leaves a single space. After a # or --
				// comment prev is a blank but the output may not end in
				// one: ProxySQL then steps over one byte.
				if !isBlank(b[w-1]) {
					d.w++
				}
				b[d.w] = ' '
				d.prev = ' '
				d.qi++
				continue
			}
		}
		d.copyByte()
	}
}

// tokenStart decides, at a byte outside any token, which token starts here.
func (d *digester) tokenStart() scanState {
	q, i := d.q, d.qi
	c := q[i]
	switch {
	case c == '/':
		// ProxySQL compares with the buffer size, not the query length:
		// past the first lim bytes /* is not a comment any more.
		if i < d.lim-1 && q[i+1] == '*' {
			return inBlockComment
		}
	case c == '#':
		return inHashComment
	case c == '-':
		if i < d.lim-2 && q[i+1] == '-' && isBlank(q[i+2]) && (d.prev != '-' || i == 0) {
			return inDashComment
		}
	case c == '\'' || c == '"':
		return inString
	case isDigit(c):
		if !isWordByte(d.prev) {
			return inNumber
		}
	case c == 'n' || c == 'N':
		if d.o.replaceNull && !isWordByte(d.prev) {
			return atNull
		}
	}
	return inText
}

// skipByte consumes a query byte without output.
func (d *digester) skipByte() {
	d.prev = d.q[d.qi]
	d.qi++
}

// copyByte consumes a query byte and appends it, blanks as spaces.
func (d *digester) copyByte() {
	c := d.q[d.qi]
	if isBlank(c) {
		c = ' '
	} else if d.o.lowercase && 'A' <= c && c <= 'Z' {
		c += 'a' - 'A'
	}
	d.b[d.w] = c
	d.w++
	d.skipByte()
}

// blockComment handles a /* */ comment. A /*! comment's body (past its
// version number) goes to the output where the comment was; the first
// comment of the query is kept for annotations.
func (d *digester) blockComment() scanState {
	for d.w < d.lim && d.qi < len(d.q) {
		if st := d.blockCommentByte(); st != inBlockComment {
			return st
		}
		d.skipByte()
	}
	return inBlockComment
}

func (d *digester) blockCommentByte() scanState {
	q := d.q
	// ProxySQL looks for the opening mark at every byte, so a nested /* is
	// skipped too (and, inside a /*! comment, the byte after it).
	if d.qi <= len(q)-2 && q[d.qi] == '/' && q[d.qi+1] == '*' {
		d.cmdLen = 0
		if d.qi != len(q)-2 && q[d.qi+2] == '!' {
			d.cmd = true
		}
		if d.o.keepComment {
			d.cmdBuf[0], d.cmdBuf[1] = '/', '*'
			d.cmdLen = 2
		}
		d.qi += 2
		if d.cmd {
			d.qi++
		}
		if d.qi >= len(q)-1 {
			return inText
		}
	}
	c := q[d.qi]
	closing := d.prev == '*' && c == '/'
	if (d.cmd || d.o.keepComment) && d.cmdLen < commentCap-1 {
		d.cmdBuf[d.cmdLen] = c
		d.cmdLen++
	}
	if !d.fcDone {
		if d.fcLen < commentCap-1 {
			if !d.hasComment {
				d.hasComment, d.fcFrom, d.fcPlain = true, d.qi, true
			}
			if d.fcPlain && d.qi != d.fcFrom+d.fcLen {
				d.fcPlain = false
			}
			if isBlank(c) {
				d.fcBlanks = true
				c = ' '
			}
			d.fcBuf[d.fcLen] = c
			d.fcLen++
		}
		if closing {
			if d.fcLen >= 2 {
				d.fcLen -= 2
			}
			d.fcDone = true
		}
	}
	if !closing {
		return inBlockComment
	}

	if d.cmd || d.o.keepComment {
		if d.cmdLen >= 2 {
			if !d.o.keepComment {
				d.cmdLen -= 2 // the closing */
			}
			body := d.cmdBuf[:d.cmdLen]
			k := 0
			for k < len(body) && isVersionByte(body[k]) {
				k++
			}
			if k < len(body) {
				if !d.o.keepComment {
					body = body[k:]
				}
				n := copy(d.b[d.w:d.lim], body)
				d.w += n
				if d.b[d.w-1] != ' ' && d.w != d.lim {
					d.b[d.w] = ' '
					d.w++
				}
			}
		}
		d.cmdLen = 0
	}
	// The comment separates what surrounds it.
	if d.w != 0 && d.w != d.lim && d.b[d.w-1] != ' ' {
		d.b[d.w] = ' '
		d.w++
	}
	d.prev = ' '
	d.cmd = false
	d.qi++
	return inText
}

// hashComment handles a # comment.
func (d *digester) hashComment() scanState {
	q := d.q
	for d.w < d.lim && d.qi < len(q) {
		// Every # is a new start (ProxySQL checks at each byte).
		if q[d.qi] == '#' && d.qi <= len(q)-2 {
			d.qi++
			if d.qi == len(q)-2 {
				return inText // ProxySQL gives up; the last two bytes are text
			}
		}
		if d.lineCommentEnd() {
			return inText
		}
		d.skipByte()
	}
	return inHashComment
}

// dashComment handles a -- comment.
func (d *digester) dashComment() scanState {
	q := d.q
	for d.w < d.lim && d.qi < len(q) {
		if d.qi <= len(q)-4 && q[d.qi] == '-' && q[d.qi+1] == '-' && isBlank(q[d.qi+2]) {
			d.qi += 3
			if d.qi == len(q)-4 {
				return inText // as for #: the last four bytes are text
			}
		}
		if d.lineCommentEnd() {
			return inText
		}
		d.skipByte()
	}
	return inDashComment
}

func (d *digester) lineCommentEnd() bool {
	if c := d.q[d.qi]; c == '\n' || c == '\r' || d.qi == len(d.q)-1 {
		d.prev = ' '
		d.qi++
		return true
	}
	return false
}

// stringLiteral handles a '...' or "..." literal, replaced by ? at its end.
// Backslash escapes and doubled quotes are understood (NO_BACKSLASH_ESCAPES
// is not).
func (d *digester) stringLiteral() scanState {
	q := d.q
	if !d.inQuote {
		d.inQuote, d.quote, d.strStart = true, q[d.qi], d.qi
		d.prev = d.quote
		d.qi++
	}
	quote, prev, start := d.quote, d.prev, d.strStart
	for i := d.qi; i < len(q); i++ {
		c := q[i]
		if c != quote && c != '\\' {
			prev = c
			continue
		}
		if i > start+1 && ((prev == '\\' && (c == '\\' || c == quote)) || (prev == quote && c == quote)) {
			prev = 'X' // an escaped byte cannot pair with the next one
			continue
		}
		if c != quote || (i+1 < len(q) && q[i+1] == quote) {
			prev = c
			continue
		}
		d.w = d.mark
		d.b[d.w] = '?'
		d.w++
		d.qi = i + 1
		if i+1 == len(q) {
			d.prev = c
			return inString // the query ends with the literal
		}
		d.inQuote, d.quote = false, 0
		d.prev = 0
		return inText
	}
	d.prev = prev
	d.qi = len(q)
	return inString
}

// number handles a numeric literal. Digits are copied as they come; at the
// first byte that cannot continue the number the copy is replaced by ? if it
// reads as a number (1, 1.5, 1e-9, 0x1F), otherwise it stays (1abc is an
// identifier).
func (d *digester) number() scanState {
	q, b := d.q, d.b
	conv := &identity
	if d.o.lowercase {
		conv = &lowerCase
	}
	if d.numFirst {
		// Fast path: digits followed by a byte that ends the number
		// (not a word byte, not '.'), all within the buffer: a ?.
		i := d.qi
		for i < len(q) && isDigit(q[i]) {
			i++
		}
		n := i - d.qi
		if n > 0 && i < len(q) && d.mark+n < d.lim && q[i] != '.' && !isWordByte(q[i]) {
			// The digits stay in the buffer past the ?, as in ProxySQL
			// (a byte skipped after a comment may show one).
			d.w = d.mark
			copy(b[d.w:], q[d.qi:i])
			b[d.w] = '?'
			d.w++
			d.prev = '?'
			d.qi = i
			return inText
		}
		if n > 0 && i == len(q) && d.mark+n-1 < d.lim {
			// The query ends with the digits: ProxySQL stops in the
			// number state without copying the last digit.
			d.w = d.mark
			copy(b[d.w:], q[d.qi:i-1])
			b[d.w] = '?'
			d.w++
			d.prev = q[i-1]
			d.qi = i
			d.numStart, d.numFirst = d.mark, false
			return inNumber
		}
	}
	for d.w < d.lim && d.qi < len(q) {
		if !d.numFirst {
			// Fast path: digits and letters that continue the number,
			// short of the query's last byte.
			w, qi, lim := d.w, d.qi, d.lim
			for w < lim && qi+1 < len(q) && byteClass[q[qi]]&wordBit != 0 {
				b[w] = conv[q[qi]]
				w++
				qi++
			}
			if qi > d.qi {
				d.w, d.qi, d.prev = w, qi, q[qi-1]
				continue
			}
		}
		d.doCopy = true
		if st := d.numberByte(); st != inNumber {
			d.numFirst = true
			return st
		}
		if d.doCopy {
			d.copyByte()
		} else {
			d.skipByte()
		}
	}
	return inNumber
}

// numberByte is number's per-byte step; it clears doCopy when the byte is
// to be skipped rather than copied.
func (d *digester) numberByte() scanState {
	q, i := d.q, d.qi
	c := q[i]
	if d.numFirst && isDigit(c) && !isWordByte(d.prev) {
		d.numStart = d.mark
		d.b[d.w] = c
		d.numFirst = false
	}
	last := i+1 == len(q)
	continues := isWordByte(c) || c == '.' || (toLower(d.prev) == 'e' && (c == '-' || c == '+'))
	if continues && !last {
		return inNumber
	}
	if d.isNumber(d.numStart, d.w) {
		d.w = d.numStart
		d.b[d.w] = '?'
		d.w++
		d.prev = '?'
		if last && isWordByte(c) {
			d.doCopy = false
			return inNumber // the query ends with the number's last byte
		}
	}
	d.numStart = none
	d.numFirst = false
	return inText
}

// isNumber reports whether b[from:to] (or b[from] if the range is empty)
// reads as a numeric literal.
func (d *digester) isNumber(from, to int) bool {
	if from < 0 || from > to {
		return false
	}
	b := d.b
	if from == to {
		return isDigit(b[from])
	}
	hex := false
	for p := from; p < to; p++ {
		c := b[p]
		float := c == '.' || toLower(c) == 'e' || (p > 0 && toLower(b[p-1]) == 'e' && (c == '+' || c == '-'))
		switch {
		case p == from+1 && p > 0 && b[p-1] == '0' && (c == 'x' || c == 'X'):
			hex = true
		case !hex && !isDigit(c) && !float:
			return false
		case hex && !isHexDigit(c):
			return false
		}
	}
	return true
}

// null replaces a NULL keyword by ? (only with replaceNull).
func (d *digester) null() scanState {
	q, i := d.q, d.qi
	if rest := len(q) - i; rest >= 4 && toLower(q[i+1]) == 'u' && toLower(q[i+2]) == 'l' && toLower(q[i+3]) == 'l' &&
		(rest == 4 || !isWordByte(q[i+4])) {
		d.w = d.mark
		d.b[d.w] = '?'
		d.w++
		d.prev = '?'
		d.qi += 4
	} else {
		d.copyByte()
	}
	return inText
}

// ---- compaction passes ---------------------------------------------------

// passWindow returns the last buffer offset a pass may change: a number the
// scan is still copying is left alone.
func (d *digester) passWindow() int {
	if d.st == inNumber && d.numStart != none {
		return d.numStart - 1
	}
	return d.w - 1
}

// passBegin sets where a pass starts: at 0 in the first round, later a
// little before where the pass stopped in the previous round.
func (d *digester) passBegin(end, from int) (r, w int) {
	if d.base != 0 && from >= 0 && from < end {
		return from, from
	}
	return 0, 0
}

// passEnd records where pass k stopped and moves a number the scan is
// still copying to the end of the compacted text.
func (d *digester) passEnd(k, end, r, w int) {
	cut := end - w + 1
	d.passCut[k] = max(cut, 0)
	if d.numEnd != none && end == d.numStart-1 {
		n := copy(d.b[w:], d.b[d.numStart:d.numEnd])
		d.numStart = w
		d.passStop[k] = w
		w += n
		d.numEnd = w
	} else {
		d.passStop[k] = w
	}
	d.b[w] = 0
	d.w, d.mark = w, w
}

// squeeze drops blanks after ( and before ), around commas, between an
// operator and a ?, and a sign that makes a literal negative or positive;
// with noDigits, digits left in identifiers become ?.
func (d *digester) squeeze() {
	end := d.passWindow()
	r, w := d.passBegin(end, d.passStop[0]-(d.shrunk-d.passCut[0])-6)
	b := d.b
	special := &squeezeBytes
	if d.o.noDigits {
		special = &squeezeBytesDigits
	}
	for r <= end {
		// Copy a run of bytes the pass keeps.
		k := r
		for _, c := range b[r : end+1] {
			if special[c] {
				break
			}
			k++
		}
		if w != r {
			copy(b[w:], b[r:k])
		}
		w, r = w+k-r, k
		if r > end {
			break
		}
		c := b[r]
		// The bytes before r are the unsqueezed ones unless the pass
		// overwrote them, exactly as in ProxySQL.
		left, left2 := byte('0'), byte('0')
		if r > 0 {
			left = b[r-1]
		}
		if r > 1 {
			left2 = b[r-2]
		}
		right := b[r+1]
		keep := true
		switch c {
		case ' ':
			switch {
			case left == '(' || right == ')':
				keep = false
			case isArith(left) && right == '?' || left == ',' || right == ',':
				keep = d.o.keepComment && left2 == '*' && left == '/'
			case isArith(right) && left == '?':
				keep = false
			}
		case '+', '-':
			if left == ' ' {
				keep = !isWordByte(left2) && (left2 == '?' || left2 == ')' || (right != '?' && right != ' '))
			} else {
				keep = isWordByte(left) || left == '?' || left == ')' || (right != '?' && right != ' ')
			}
		default: // a digit left in an identifier, with noDigits
			if w > 0 && b[w-1] != '?' {
				b[w] = '?'
				w++
			}
			keep = false
		}
		if keep {
			b[w] = c
			w++
		}
		r++
	}
	d.passEnd(0, end, r, w)
}

// Bytes squeeze may drop or change.
var squeezeBytes, squeezeBytesDigits = func() (t, u [256]bool) {
	t[' '], t['+'], t['-'] = true, true, true
	u = t
	for c := '0'; c <= '9'; c++ {
		u[c] = true
	}
	return t, u
}()

// groupValues shortens a parenthesised run of ?, items: (?,?,?,?,?) becomes
// (?,?,?,...) with groupingLimit 3; a run of at least limit+2 items is cut
// after limit items even when something else follows it.
func (d *digester) groupValues() {
	limit := d.o.groupingLimit
	if limit == 0 {
		return
	}
	end := d.passWindow()
	r, w := d.passBegin(end, d.passStop[1]-(d.shrunk-d.passCut[1])-(limit*2+8))
	b := d.b
	if r > end || bytes.IndexByte(b[r:end+1], '(') < 0 {
		d.passEnd(1, end, end+1, end+1) // nothing to do
		return
	}
	inParens := false
	for r <= end {
		if !inParens {
			// Outside parentheses bytes are copied, up to a (.
			k := bytes.IndexByte(b[r:end+1], '(') + 1
			if k == 0 {
				k = end + 1 - r
			}
			copy(b[w:], b[r:r+k])
			w, r = w+k, r+k
			inParens = b[w-1] == '('
			continue
		}
		if inParens && w > 4 && end-r >= 1 && b[w-1] == '.' && b[w-2] == '.' && b[w-3] == '.' && b[w-4] == ',' {
			// The text already ends in "...": drop further items of the
			// same run (they come from a later round).
			n, closed := r, false
			if b[n] == ',' {
				n++
			}
			for n < end {
				if b[n] == '?' && b[n+1] == ',' {
					n += 2
					continue
				}
				if b[n] == '?' && b[n+1] == ')' {
					n++
					closed = true
				}
				break
			}
			if n > r+1 || closed {
				r = n
			}
			if d.numStart != none && n >= end && isDigit(b[n]) {
				break
			}
		}
		at := r
		if inParens && r < end-limit*2 && !isArith(b[r-1]) &&
			b[r] == '?' && b[r+1] == ',' && b[r+2] == '?' && (b[r+3] == ',' || b[r+3] == ')') {
			items, p, stop := 0, r, byte(0)
			for p < end {
				if b[p] == '?' && b[p+1] == ',' {
					p += 2
					items++
					continue
				}
				stop = 'x'
				if b[p+1] == ')' {
					stop = ')'
				}
				break
			}
			span := items * 2
			if stop == ')' {
				span++
			}
			if span >= limit*2+3 {
				for k := 0; k < limit; k++ {
					b[w], b[w+1] = '?', ','
					w += 2
				}
				b[w], b[w+1], b[w+2] = '.', '.', '.'
				w += 3
				if stop == ')' {
					r = p + 1
				} else {
					r = p - 1
				}
			} else {
				for k := 0; k < items; k++ {
					b[w], b[w+1] = '?', ','
					w += 2
				}
				r = p
			}
		} else {
			b[w] = b[r]
			w++
			r++
		}
		switch b[at] {
		case '(':
			inParens = true
		case ')':
			inParens = false
		}
	}
	d.passEnd(1, end, r, w)
}

// groupLists shortens a run of more than groupsGroupingLimit lists that
// groupValues already shortened, (?,?,?,...),(?,?,?,...),..., to the first
// groupsGroupingLimit lists followed by "...". Lists that were not
// shortened, such as (?,?), are left alone.
func (d *digester) groupLists() {
	limit, keep := d.o.groupingLimit, d.o.groupsGroupingLimit
	if keep == 0 || limit == 0 {
		return
	}
	end := d.passWindow()
	size := limit*2 + 6 // "(" + "?,"*limit + "...)" + ","
	r, w := d.passBegin(end, d.passStop[2]-size*(keep+2))
	b := d.b
	if win := b[max(r-5, 0) : end+1]; r > end || bytes.IndexByte(win, '(') < 0 && bytes.IndexByte(win, ')') < 0 {
		d.passEnd(2, end, end+1, end+1) // nothing to do
		return
	}
	for r <= end {
		if b[r] != '(' && (w == 0 || b[w-1] != '.') {
			// Bytes that neither start a list nor follow a '.' are
			// copied; stop after a '.', it may end "),...".
			k := r
			for k <= end && b[k] != '(' {
				k++
				if b[k-1] == '.' {
					break
				}
			}
			copy(b[w:], b[r:k])
			w, r = w+k-r, k
			continue
		}
		at := r
		if w > 5 && b[w-1] == '.' && b[w-2] == '.' && b[w-3] == '.' && b[w-4] == ',' && b[w-5] == ')' {
			// The text already ends in "),...": drop further lists.
			p := at
			if b[p] == ',' || b[p] == ' ' {
				p++
			}
			for p+size-2 <= end && shortList(b, p, limit) {
				if p+size-1 == end {
					p += size - 1
				} else {
					p += size
				}
			}
			if p > r+1 {
				r = p - 1
				continue
			}
			if p >= end {
				break
			}
		}
		if r <= end-size*(keep+1)+2 && b[at] == '(' && b[at+1] == '?' && b[at+2] == ',' {
			p, lists := at, 0
			for p+size-2 <= end && shortList(b, p, limit) {
				p += size - 1
				if b[p] == ',' {
					p++
				}
				lists++
			}
			if lists > keep {
				n := size * keep
				copy(b[w:w+n], b[at:at+n])
				w += n
				b[w], b[w+1], b[w+2] = '.', '.', '.'
				w += 3
				r = p
			}
		}
		if r > end {
			break
		}
		b[w] = b[r]
		w++
		r++
	}
	d.passEnd(2, end, r, w)
}

// shortList reports whether b[p:] starts with "(" + "?,"*limit + "...)".
func shortList(b []byte, p, limit int) bool {
	if b[p] != '(' {
		return false
	}
	p++
	for k := 0; k < limit; k++ {
		if b[p] != '?' || b[p+1] != ',' {
			return false
		}
		p += 2
	}
	return b[p] == '.' && b[p+1] == '.' && b[p+2] == '.' && b[p+3] == ')'
}

// finish turns a number cut by the end of the buffer into ?, drops trailing
// spaces and semicolons and returns the text up to the first NUL byte (the
// C string ProxySQL keeps).
func (d *digester) finish() []byte {
	b := d.b
	if d.numStart != none && d.w >= d.lim && d.st == inNumber && isDigit(b[d.numStart]) {
		b[d.numStart] = '?'
		b[d.numStart+1] = 0
	}
	e := d.w - 1
	for e > 0 && (b[e] == ' ' || b[e] == ';') {
		e--
	}
	e = max(e+1, 0)
	b[e] = 0
	out := b[:e]
	if i := bytes.IndexByte(out, 0); i >= 0 {
		out = out[:i]
	}
	return out
}

// ---- bytes ---------------------------------------------------------------

// isBlank is ProxySQL's is_space_char (no \f or \v).
func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isWordByte is ProxySQL's is_normal_char: ASCII letters, digits, $ and _.
func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '$' || c == '_'
}

func isArith(c byte) bool { return c == '+' || c == '-' || c == '*' || c == '/' || c == '%' }

// isVersionByte: bytes of the "!50100 " prefix of an executable comment.
func isVersionByte(c byte) bool { return c == '/' || c == '*' || c == '!' || c == ' ' || isDigit(c) }

func toLower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func trimBlanks(s string) string {
	i, j := 0, len(s)
	for i < j && s[i] == ' ' {
		i++
	}
	for j > i && s[j-1] == ' ' {
		j--
	}
	return s[i:j]
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
