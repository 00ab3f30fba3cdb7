package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// printConfig writes g back as libconfig text: one setting per line,
// strings quoted with every byte the parser treats specially escaped.
func printConfig(b *strings.Builder, g *Group) {
	for _, s := range g.Settings {
		b.WriteString(s.Name)
		b.WriteString(" = ")
		printValue(b, s.Value)
		b.WriteString(";\n")
	}
}

func printValue(b *strings.Builder, v *Value) {
	switch v.Kind {
	case KindString:
		b.WriteByte('"')
		for i := 0; i < len(v.Str); i++ {
			switch c := v.Str[i]; {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c < 0x20 || c == 0x7f:
				fmt.Fprintf(b, `\x%02x`, c)
			default:
				b.WriteByte(c)
			}
		}
		b.WriteByte('"')
	case KindInt, KindFloat, KindBool:
		b.WriteString(v.Str)
	case KindGroup:
		b.WriteString("{\n")
		printConfig(b, v.Group)
		b.WriteString("}")
	case KindList, KindArray:
		open, end := "(", ")"
		if v.Kind == KindArray {
			open, end = "[", "]"
		}
		b.WriteString(open)
		for i, it := range v.Items {
			if i > 0 {
				b.WriteString(", ")
			}
			printValue(b, it)
		}
		b.WriteString(end)
	}
}

// sameTree compares two parsed trees, positions aside.
func sameTree(a, b *Group) string {
	if len(a.Settings) != len(b.Settings) {
		return fmt.Sprintf("%d settings, want %d", len(b.Settings), len(a.Settings))
	}
	for i, s := range a.Settings {
		if s.Name != b.Settings[i].Name {
			return fmt.Sprintf("setting %d: name %q, want %q", i, b.Settings[i].Name, s.Name)
		}
		if d := sameValue(s.Value, b.Settings[i].Value); d != "" {
			return s.Name + ": " + d
		}
	}
	return ""
}

func sameValue(a, b *Value) string {
	if a.Kind != b.Kind || a.Str != b.Str || a.Int != b.Int || len(a.Items) != len(b.Items) {
		return fmt.Sprintf("%s %q %d (%d items), want %s %q %d (%d items)", b.Kind, b.Str, b.Int, len(b.Items), a.Kind, a.Str, a.Int, len(a.Items))
	}
	for i := range a.Items {
		if d := sameValue(a.Items[i], b.Items[i]); d != "" {
			return fmt.Sprintf("[%d]: %s", i, d)
		}
	}
	if a.Kind == KindGroup {
		return sameTree(a.Group, b.Group)
	}
	return ""
}

// offset returns the byte offset of a 1-based line and column in src, or
// -1 when there is no such place (the column just past a line's end is).
func offset(src []byte, line, col int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(src[off:], '\n')
		if i < 0 {
			return -1
		}
		off += i + 1
	}
	end := len(src)
	if i := bytes.IndexByte(src[off:], '\n'); i >= 0 {
		end = off + i
	}
	if col < 1 || off+col-1 > end {
		return -1
	}
	return off + col - 1
}

var errPos = regexp.MustCompile(`^([^:]+):(\d+):(\d+): `)

// FuzzConfigParse parses arbitrary text as a proxysql.cnf (with @include
// of a few files beside it) and decodes the tree. Invariants: no panic;
// every error starts with the file, line and column it is about, and that
// place exists; every setting and value is found where its position says;
// printing the tree and parsing the text again gives the same tree; and
// decoding reports errors and warnings with positions.
func FuzzConfigParse(f *testing.F) {
	dir := f.TempDir()
	files := map[string][]byte{
		"inc.cnf":  []byte("mysql_users = ( { username = \"u\", password = \"p\" } )\n# end\n"),
		"self.cnf": []byte("a = 1\n@include \"self.cnf\"\n"),
		"bad.cnf":  []byte("a = \n"),
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), src, 0o644); err != nil {
			f.Fatal(err)
		}
	}
	main := filepath.Join(dir, "proxysql.cnf")

	f.Add(sample)
	f.Add("a=(1,2,[3]);b={c=\"x\"\"y\";};")
	for _, name := range []string{"core.cnf", "satellite.cnf"} {
		if src, err := os.ReadFile(filepath.Join("..", "..", "examples", name)); err == nil {
			f.Add(string(src))
		}
	}
	for _, s := range []string{
		"@include \"inc.cnf\"\nbogus = 1\n", "@include \"self.cnf\"", "@include \"bad.cnf\"", "@include \"missing.cnf\"", "@include inc.cnf",
		"a = \"\\x41\\x4\" ;", "a = \"tab\\there\\\\ \\\"q\\\" \\q\"", "a = 0x1F; b = -12L; c = 1.5e3; d = .5; e = TRUE; f = False",
		"a = \"x\" /* c */ \"y\"; b = \"x\" /* open", "a = [1, \"x\", {}]", "a = ( ( ), [ ], { } )", "a : 1, b : 2,",
		"a = 9223372036854775808", "a = 1x", "x = { y = { z = ( { w = \"\\n\" } ) } }", "*weird-name_1 = 1",
		"mysql_servers = ( { address=\"h\", port=\"abc\" } )", "datadir = 1", "mysql_variables = { a = { b = 1 } }",
	} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, src string) {
		// An @include names a file to read. Keep it inside dir: without
		// '/' and '\' (so no \x2f either) a name cannot leave it.
		if strings.Contains(src, "@include") && strings.ContainsAny(src, "/\\") {
			return
		}
		g, err := Parse(main, []byte(src))
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, dir+string(filepath.Separator)) {
				t.Fatalf("error without a file: %q", msg)
			}
			if m := errPos.FindStringSubmatch(msg); m != nil {
				line, _ := strconv.Atoi(m[2])
				col, _ := strconv.Atoi(m[3])
				text := []byte(src)
				if m[1] != main {
					text = files[filepath.Base(m[1])]
				}
				if offset(text, line, col) < 0 {
					t.Fatalf("error at %s:%d:%d, not a place in the file: %q", m[1], line, col, msg)
				}
			} else if !strings.HasSuffix(msg, "@include cycle") {
				t.Fatalf("error without a position: %q", msg)
			}
			return
		}

		// Positions point at what they name.
		var check func(file string, s *Setting)
		var checkValue func(v *Value)
		at := func(p Pos) (byte, bool) {
			text := []byte(src)
			if p.File != main {
				text = files[filepath.Base(p.File)]
			}
			i := offset(text, p.Line, p.Col)
			if i < 0 || i >= len(text) {
				return 0, false
			}
			return text[i], true
		}
		checkValue = func(v *Value) {
			c, ok := at(v.Pos)
			want := map[Kind]string{KindString: `"`, KindGroup: "{", KindList: "(", KindArray: "[", KindBool: "tTfF", KindInt: "+-.0123456789", KindFloat: "+-.0123456789"}[v.Kind]
			if !ok || strings.IndexByte(want, c) < 0 {
				t.Fatalf("%s value at %s finds %q", v.Kind, v.Pos, c)
			}
			for _, it := range v.Items {
				checkValue(it)
			}
			if v.Group != nil {
				for _, s := range v.Group.Settings {
					check(v.Pos.File, s)
				}
			}
		}
		check = func(file string, s *Setting) {
			if c, ok := at(s.Pos); !ok || c != s.Name[0] {
				t.Fatalf("setting %q at %s finds %q", s.Name, s.Pos, c)
			}
			checkValue(s.Value)
		}
		for _, s := range g.Settings {
			check(main, s)
		}

		var b strings.Builder
		printConfig(&b, g)
		again, err := Parse(main, []byte(b.String()))
		if err != nil {
			t.Fatalf("printed tree does not parse: %v\n%s", err, b.String())
		}
		if d := sameTree(g, again); d != "" {
			t.Fatalf("printed tree parses differently: %s\n%s", d, b.String())
		}

		cfg, warns, err := FromTree(main, g)
		if err != nil {
			if !errPos.MatchString(err.Error()) {
				t.Fatalf("decode error without a position: %q", err)
			}
			return
		}
		if cfg.Tree != g {
			t.Fatal("decoded config lost its tree")
		}
		for _, w := range warns {
			if w.Pos.Line < 1 || w.Pos.Col < 1 {
				t.Fatalf("warning without a position: %v", w)
			}
		}
	})
}
