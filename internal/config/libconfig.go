// Package config reads ProxySQL's proxysql.cnf: a parser for the libconfig
// syntax it uses and typed structs for the sections sqlgate understands.
package config

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Kind is the type of a Value.
type Kind int

// Value kinds.
const (
	KindString Kind = iota
	KindInt
	KindFloat
	KindBool
	KindGroup
	KindList
	KindArray
)

var kindNames = [...]string{"string", "integer", "float", "boolean", "group", "list", "array"}

func (k Kind) String() string { return kindNames[k] }

// Pos is a position in a configuration file.
type Pos struct {
	File      string
	Line, Col int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Value is a libconfig value.
type Value struct {
	Kind  Kind
	Str   string // string value; raw text for numbers; "true"/"false" for booleans
	Int   int64  // integer value (1/0 for booleans)
	Items []*Value
	Group *Group
	Pos   Pos
}

// Setting is name = value.
type Setting struct {
	Name  string
	Value *Value
	Pos   Pos
}

// Group is an ordered list of settings.
type Group struct {
	Settings []*Setting
}

// Lookup returns the setting called name, or nil.
func (g *Group) Lookup(name string) *Setting {
	for _, s := range g.Settings {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// MaxFileSize bounds a configuration file and each file it includes: a
// real proxysql.cnf is a few KB, and a path such as /dev/zero must not
// hang the start or exhaust memory.
const MaxFileSize = 16 << 20

// readConfig reads a configuration file: a regular file of at most
// MaxFileSize bytes.
func readConfig(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if fi.Size() > MaxFileSize {
		return nil, fmt.Errorf("%s is %d bytes, more than the %d a configuration file may have", path, fi.Size(), MaxFileSize)
	}
	src, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err == nil && len(src) > MaxFileSize {
		err = fmt.Errorf("%s grew past %d bytes while being read", path, MaxFileSize)
	}
	return src, err
}

// ParseFile parses path, following @include directives.
func ParseFile(path string) (*Group, error) {
	src, err := readConfig(path)
	if err != nil {
		return nil, fmt.Errorf("reading configuration: %w", err)
	}
	return parse(path, src, map[string]bool{})
}

// Parse parses src; name is used in error messages and to resolve
// @include paths relative to its directory.
func Parse(name string, src []byte) (*Group, error) {
	return parse(name, src, map[string]bool{})
}

func parse(name string, src []byte, including map[string]bool) (*Group, error) {
	abs, _ := filepath.Abs(name)
	if including[abs] {
		return nil, fmt.Errorf("%s: @include cycle", name)
	}
	including[abs] = true
	defer delete(including, abs)
	p := &parser{file: name, src: src, line: 1, col: 1, including: including}
	g := &Group{}
	if err := p.settings(g, 0); err != nil {
		return nil, err
	}
	return g, nil
}

type parser struct {
	file      string
	src       []byte
	i         int
	line, col int
	including map[string]bool
}

func (p *parser) pos() Pos { return Pos{p.file, p.line, p.col} }

func (p *parser) errorf(pos Pos, format string, args ...any) error {
	return fmt.Errorf("%s: %s", pos, fmt.Sprintf(format, args...))
}

func (p *parser) advance() {
	if p.src[p.i] == '\n' {
		p.line++
		p.col = 1
	} else {
		p.col++
	}
	p.i++
}

// skip skips whitespace and comments.
func (p *parser) skip() error {
	for p.i < len(p.src) {
		c := p.src[p.i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f':
			p.advance()
		case c == '#' || c == '/' && p.i+1 < len(p.src) && p.src[p.i+1] == '/':
			for p.i < len(p.src) && p.src[p.i] != '\n' {
				p.advance()
			}
		case c == '/' && p.i+1 < len(p.src) && p.src[p.i+1] == '*':
			start := p.pos()
			p.advance()
			p.advance()
			for {
				if p.i+1 >= len(p.src) {
					return p.errorf(start, "unterminated /* comment")
				}
				if p.src[p.i] == '*' && p.src[p.i+1] == '/' {
					p.advance()
					p.advance()
					break
				}
				p.advance()
			}
		default:
			return nil
		}
	}
	return nil
}

func (p *parser) peek() byte {
	if p.i < len(p.src) {
		return p.src[p.i]
	}
	return 0
}

func (p *parser) describe() string {
	if p.i >= len(p.src) {
		return "end of file"
	}
	return fmt.Sprintf("%q", p.src[p.i])
}

func isNameStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '*'
}
func isNameChar(c byte) bool { return isNameStart(c) || c >= '0' && c <= '9' || c == '-' }

// settings parses settings until end of input (depth 0) or '}'.
func (p *parser) settings(g *Group, depth int) error {
	for {
		if err := p.skip(); err != nil {
			return err
		}
		c := p.peek()
		if c == 0 {
			if depth > 0 {
				return p.errorf(p.pos(), "unexpected end of file: missing '}'")
			}
			return nil
		}
		if c == '}' {
			if depth == 0 {
				return p.errorf(p.pos(), "unexpected '}'")
			}
			return nil
		}
		if c == '@' {
			if err := p.include(g); err != nil {
				return err
			}
			continue
		}
		if !isNameStart(c) {
			return p.errorf(p.pos(), "expected a setting name, got %s", p.describe())
		}
		pos := p.pos()
		start := p.i
		for p.i < len(p.src) && isNameChar(p.src[p.i]) {
			p.advance()
		}
		name := string(p.src[start:p.i])
		if err := p.skip(); err != nil {
			return err
		}
		if c := p.peek(); c != '=' && c != ':' {
			return p.errorf(p.pos(), "expected '=' or ':' after %q, got %s", name, p.describe())
		}
		p.advance()
		v, err := p.value()
		if err != nil {
			return err
		}
		if err := p.skip(); err != nil {
			return err
		}
		if c := p.peek(); c == ';' || c == ',' {
			p.advance()
		}
		g.Settings = append(g.Settings, &Setting{Name: name, Value: v, Pos: pos})
	}
}

func (p *parser) include(g *Group) error {
	pos := p.pos()
	const kw = "@include"
	if !strings.HasPrefix(string(p.src[p.i:min(len(p.src), p.i+len(kw))]), kw) {
		return p.errorf(pos, "unknown directive (only @include is supported)")
	}
	for range kw {
		p.advance()
	}
	if err := p.skip(); err != nil {
		return err
	}
	if p.peek() != '"' {
		return p.errorf(p.pos(), "@include needs a quoted file name")
	}
	v, err := p.str()
	if err != nil {
		return err
	}
	path := v.Str
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(p.file), path)
	}
	src, err := readConfig(path)
	if err != nil {
		return p.errorf(pos, "@include: %v", err)
	}
	sub, err := parse(path, src, p.including)
	if err != nil {
		return err
	}
	g.Settings = append(g.Settings, sub.Settings...)
	return nil
}

func (p *parser) value() (*Value, error) {
	if err := p.skip(); err != nil {
		return nil, err
	}
	pos := p.pos()
	c := p.peek()
	switch {
	case c == '"':
		return p.str()
	case c == '{':
		p.advance()
		g := &Group{}
		if err := p.settings(g, 1); err != nil {
			return nil, err
		}
		p.advance() // '}'
		return &Value{Kind: KindGroup, Group: g, Pos: pos}, nil
	case c == '(' || c == '[':
		closer := byte(')')
		kind := KindList
		if c == '[' {
			closer, kind = ']', KindArray
		}
		p.advance()
		v := &Value{Kind: kind, Pos: pos}
		for {
			if err := p.skip(); err != nil {
				return nil, err
			}
			if p.peek() == closer {
				p.advance()
				return v, nil
			}
			if p.peek() == 0 {
				return nil, p.errorf(pos, "unterminated %s: missing %q", kind, closer)
			}
			item, err := p.value()
			if err != nil {
				return nil, err
			}
			if kind == KindArray && (item.Kind == KindGroup || item.Kind == KindList || item.Kind == KindArray) {
				return nil, p.errorf(item.Pos, "arrays hold only scalar values")
			}
			v.Items = append(v.Items, item)
			if err := p.skip(); err != nil {
				return nil, err
			}
			switch p.peek() {
			case ',':
				p.advance()
			case closer:
			default:
				return nil, p.errorf(p.pos(), "expected ',' or %q in %s, got %s", closer, kind, p.describe())
			}
		}
	case c == '-' || c == '+' || c >= '0' && c <= '9' || c == '.':
		start := p.i
		for p.i < len(p.src) && strings.IndexByte("+-0123456789abcdefABCDEFxXLl.", p.src[p.i]) >= 0 {
			p.advance()
		}
		raw := string(p.src[start:p.i])
		num := strings.TrimRight(raw, "Ll")
		if n, err := strconv.ParseInt(num, 0, 64); err == nil {
			return &Value{Kind: KindInt, Str: num, Int: n, Pos: pos}, nil
		}
		if _, err := strconv.ParseFloat(num, 64); err == nil {
			return &Value{Kind: KindFloat, Str: num, Pos: pos}, nil
		}
		return nil, p.errorf(pos, "invalid number %q", raw)
	case isNameStart(c):
		start := p.i
		for p.i < len(p.src) && isNameChar(p.src[p.i]) {
			p.advance()
		}
		w := strings.ToLower(string(p.src[start:p.i]))
		switch w {
		case "true":
			return &Value{Kind: KindBool, Str: "true", Int: 1, Pos: pos}, nil
		case "false":
			return &Value{Kind: KindBool, Str: "false", Pos: pos}, nil
		}
		return nil, p.errorf(pos, "unexpected word %q: strings must be quoted", string(p.src[start:p.i]))
	}
	return nil, p.errorf(pos, "expected a value, got %s", p.describe())
}

// str parses one or more adjacent string literals.
func (p *parser) str() (*Value, error) {
	pos := p.pos()
	var b strings.Builder
	for {
		p.advance() // opening quote
		for {
			if p.i >= len(p.src) || p.src[p.i] == '\n' {
				return nil, p.errorf(pos, "unterminated string")
			}
			c := p.src[p.i]
			if c == '"' {
				p.advance()
				break
			}
			if c == '\\' && p.i+1 < len(p.src) {
				p.advance()
				e := p.src[p.i]
				switch e {
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				case 'r':
					b.WriteByte('\r')
				case 'f':
					b.WriteByte('\f')
				case 'x':
					if p.i+2 < len(p.src) {
						if n, err := strconv.ParseUint(string(p.src[p.i+1:p.i+3]), 16, 8); err == nil {
							b.WriteByte(byte(n))
							p.advance()
							p.advance()
							break
						}
					}
					return nil, p.errorf(p.pos(), "invalid \\x escape")
				default:
					b.WriteByte(e)
				}
				p.advance()
				continue
			}
			b.WriteByte(c)
			p.advance()
		}
		save := *p
		if err := p.skip(); err != nil {
			return nil, err
		}
		if p.peek() != '"' {
			*p = save
			return &Value{Kind: KindString, Str: b.String(), Pos: pos}, nil
		}
	}
}
