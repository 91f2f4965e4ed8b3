package nvr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// tsHead is how a published TypeScript capture starts: `export type X =`.
var tsHead = regexp.MustCompile(`^export type [A-Za-z_$][A-Za-z0-9_$]* = `)

// tsLiteralToJSON turns a TypeScript object-type declaration whose members
// are literal types (`key: 5.2;`, `"k": { a: "x"; b: true };`) into the
// JSON object it spells. It only re-punctuates: bare keys are quoted, `;`
// between members becomes `,` (and is dropped before `}`), the
// `export type X =` head and the final `;` go. Strings, numbers,
// true/false/null pass through byte for byte; anything else (comments,
// unions, `number` types, arrays) is refused with its line:col.
//
// It exists for one published 0.14.1 stats capture that reached us only as
// such a declaration (testdata/SOURCES.md); the fixture stays as published
// and this conversion is the test's, visible and tested here.
func tsLiteralToJSON(src []byte) ([]byte, error) {
	head := tsHead.Find(src)
	if head == nil {
		return nil, fmt.Errorf("1:1: not an `export type X = {...};` declaration")
	}
	p := &tsConv{src: src, i: len(head)}
	p.skipSpace()
	if err := p.value(); err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.i < len(src) && src[p.i] == ';' {
		p.i++
		p.skipSpace()
	}
	if p.i != len(src) {
		return nil, p.errf("trailing %q after the declaration", trunc(string(src[p.i:])))
	}
	if !json.Valid(p.out.Bytes()) {
		return nil, fmt.Errorf("converted text is not valid JSON")
	}
	return p.out.Bytes(), nil
}

type tsConv struct {
	src []byte
	i   int
	out bytes.Buffer
}

func (p *tsConv) errf(format string, a ...any) error {
	line, col := 1, 1
	for _, c := range p.src[:min(p.i, len(p.src))] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Errorf("%d:%d: %s", line, col, fmt.Sprintf(format, a...))
}

func (p *tsConv) skipSpace() {
	for p.i < len(p.src) && strings.IndexByte(" \t\r\n", p.src[p.i]) >= 0 {
		p.i++
	}
}

// value converts one literal type: an object, a string, a number or
// true/false/null.
func (p *tsConv) value() error {
	if p.i >= len(p.src) {
		return p.errf("unexpected end of input")
	}
	switch c := p.src[p.i]; {
	case c == '{':
		return p.object()
	case c == '"':
		return p.str()
	case c == '-' || c >= '0' && c <= '9':
		start := p.i
		for p.i < len(p.src) && strings.IndexByte("+-.eE0123456789", p.src[p.i]) >= 0 {
			p.i++
		}
		p.out.Write(p.src[start:p.i])
		return nil
	default:
		start := p.i
		id := p.ident()
		switch id {
		case "true", "false", "null":
			p.out.WriteString(id)
			return nil
		}
		p.i = start
		return p.errf("%q is not a literal type", trunc(string(p.src[start:min(start+20, len(p.src))])))
	}
}

func (p *tsConv) ident() string {
	start := p.i
	for p.i < len(p.src) {
		c := p.src[p.i]
		if c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || p.i > start && c >= '0' && c <= '9' {
			p.i++
			continue
		}
		break
	}
	return string(p.src[start:p.i])
}

func (p *tsConv) str() error {
	start := p.i
	p.i++
	for p.i < len(p.src) && p.src[p.i] != '"' {
		if p.src[p.i] == '\\' {
			p.i++
		}
		if p.i < len(p.src) && p.src[p.i] == '\n' {
			return p.errf("newline inside a string")
		}
		p.i++
	}
	if p.i >= len(p.src) {
		p.i = start
		return p.errf("unterminated string")
	}
	p.i++
	p.out.Write(p.src[start:p.i])
	return nil
}

func (p *tsConv) object() error {
	p.i++ // {
	p.out.WriteByte('{')
	for first := true; ; first = false {
		p.skipSpace()
		if p.i >= len(p.src) {
			return p.errf("unterminated object")
		}
		if p.src[p.i] == '}' {
			p.i++
			p.out.WriteByte('}')
			return nil
		}
		if !first {
			p.out.WriteByte(',')
		}
		// key: a string or a bare identifier
		if p.src[p.i] == '"' {
			if err := p.str(); err != nil {
				return err
			}
		} else {
			key := p.ident()
			if key == "" {
				return p.errf("expected a member name, found %q", trunc(string(p.src[p.i:min(p.i+20, len(p.src))])))
			}
			p.out.WriteString(`"` + key + `"`)
		}
		p.skipSpace()
		if p.i >= len(p.src) || p.src[p.i] != ':' {
			return p.errf("expected ':' after a member name")
		}
		p.i++
		p.out.WriteByte(':')
		p.skipSpace()
		if err := p.value(); err != nil {
			return err
		}
		p.skipSpace()
		switch {
		case p.i < len(p.src) && p.src[p.i] == ';':
			p.i++
		case p.i < len(p.src) && p.src[p.i] == '}':
		default:
			return p.errf("expected ';' or '}' after a member")
		}
	}
}

// publishedFixture reads testdata/name; a `.ts.txt` capture is converted
// to the JSON it spells.
func publishedFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(name, ".ts.txt") {
		if b, err = tsLiteralToJSON(b); err != nil {
			t.Fatalf("%s:%v", name, err)
		}
	}
	return b
}

func TestTSLiteralToJSON(t *testing.T) {
	cases := []struct{ in, want, wantErr string }{
		{in: "export type A = {};\n", want: `{}`},
		{in: "export type A = {\n  a: 5.2;\n  \"b.c\": { x: \"y;z\"; n: -1e3 };\n  t: true;\n  f: false;\n  z: null;\n};\n",
			want: `{"a":5.2,"b.c":{"x":"y;z","n":-1e3},"t":true,"f":false,"z":null}`},
		{in: `export type A = { s: "a \"q\" b" }`, want: `{"s":"a \"q\" b"}`},
		{in: "{ a: 1 }", wantErr: "1:1: not an `export type"},
		{in: "export type A = {\n  a: number;\n};", wantErr: `2:6: "number;\n};" is not a literal type`},
		{in: "export type A = {\n  // comment\n  a: 1;\n};", wantErr: "2:3: expected a member name"},
		{in: "export type A = { a 1 };", wantErr: "1:21: expected ':'"},
		{in: "export type A = { a: 1, b: 2 };", wantErr: "1:23: expected ';' or '}'"},
		{in: "export type A = { a: \"x };", wantErr: "1:22: unterminated string"},
		{in: "export type A = { a: 1; };\nexport type B = {};", wantErr: "2:1: trailing"},
		{in: "export type A = { a: { b: 1 };", wantErr: "unterminated object"},
	}
	for _, tc := range cases {
		got, err := tsLiteralToJSON([]byte(tc.in))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("tsLiteralToJSON(%q) = %s, %v; want error %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("tsLiteralToJSON(%q) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

// TestPublished0141Literal pins what the converted 0.14.1 capture holds, so
// a conversion slip cannot pass silently through the golden file.
func TestPublished0141Literal(t *testing.T) {
	b := publishedFixture(t, "published/stats-0.14.1-statseventdto-ts-literal.ts.txt")
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"cameras", "detectors", "detection_fps", "cpu_usages", "service", "processes"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("converted capture lacks top-level %q", k)
		}
	}
	var cpu map[string]json.RawMessage
	if err := json.Unmarshal(raw["cpu_usages"], &cpu); err != nil || len(cpu) != 49 {
		t.Errorf("cpu_usages: %d rows, %v; want 49 as published (frigate.full_system and 48 pids)", len(cpu), err)
	}
	s, err := ParseStats(b)
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != "0.14.1-f4f3cfa" || s.Latest != "0.14.1" || s.Uptime != 67573 || s.Updated != 1732369369 {
		t.Errorf("service = %q %q %v %v", s.Version, s.Latest, s.Uptime, s.Updated)
	}
	if len(s.Cameras) != 2 || s.Cameras[0].Name != "back" || s.Cameras[0].DetectionEnabled == nil || !*s.Cameras[0].DetectionEnabled {
		t.Errorf("cameras = %+v; want back and camera_area with detection_enabled true (a bool in 0.14.1)", s.Cameras)
	}
	if len(s.Detectors) != 1 || s.Detectors[0].InferenceSpeed != 351.51 {
		t.Errorf("detectors = %+v", s.Detectors)
	}
	if len(s.Storage) != 4 || s.Storage[3].Path != "/tmp/cache" || s.Storage[3].MountType != "overlay" {
		t.Errorf("storage = %+v", s.Storage)
	}
}
