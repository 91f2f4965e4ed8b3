package yamlnode

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// level decodes itself: one of low or high.
type level int

func (l *level) UnmarshalYAML(n *yaml.Node) error {
	switch n.Value {
	case "low":
		*l = 1
	case "high":
		*l = 2
	default:
		return fmt.Errorf("level %q is not low or high", n.Value)
	}
	return nil
}

// seconds decodes itself the yaml.v2 way, as model.Duration does.
type seconds int

func (s *seconds) UnmarshalYAML(unmarshal func(any) error) error {
	var str string
	if err := unmarshal(&str); err != nil {
		return err
	}
	d, err := time.ParseDuration(str + "s")
	if err != nil {
		return fmt.Errorf("not a number of seconds: %q", str)
	}
	*s = seconds(d / time.Second)
	return nil
}

type common struct {
	Owner string `yaml:"owner"`
}

type Extra struct {
	Note string `yaml:"note"`
}

type item struct {
	Name    string        `yaml:"name"`
	Timeout time.Duration `yaml:"timeout"`
	Sub     *struct {
		Unit string `yaml:"unit"`
	} `yaml:"sub"`
}

type sample struct {
	common  `yaml:",inline"`
	*Extra  `yaml:",inline"`
	S       string           `yaml:"s,omitempty"`
	B       bool             `yaml:"b"`
	PB      *bool            `yaml:"pb"`
	I       int              `yaml:"i"`
	U8      uint8            `yaml:"u8"`
	F       float64          `yaml:"f"`
	D       time.Duration    `yaml:"d"`
	List    []string         `yaml:"list"`
	Items   []item           `yaml:"items"`
	ByName  map[string]item  `yaml:"by_name"`
	Level   level            `yaml:"level"`
	Addr    netip.Addr       `yaml:"addr"`
	Skipped string           `yaml:"-"`
	Plain   string           // yaml key "plain"
	Any     chan int         `yaml:"any"`
	Nested  struct{ X int }  `yaml:"nested"`
	Default map[string]int   `yaml:"default"`
	private string           // not a key
	Ptrs    []*item          `yaml:"ptrs"`
	Levels  map[string]level `yaml:"levels"`
	Secs    seconds          `yaml:"secs"`
}

func decodeSample(t *testing.T, src string, known ...string) (sample, error) {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatalf("parse: %v", err)
	}
	var s sample
	s.Default = map[string]int{"keep": 1}
	err := Decoder{File: "f.yaml", Known: known}.Decode(doc.Content[0], "sec", &s)
	return s, err
}

func TestDecoderValues(t *testing.T) {
	src := `
owner: me
note: hi
s: text
b: true
pb: false
i: -3
u8: 255
f: 1.5
d: 1m30s
list: [a, 'b']
items:
  - name: one
    timeout: 2s
    sub: {unit: x.service}
  - name: two
by_name:
  k: {name: three}
level: high
addr: 192.0.2.1
plain: p
nested: {x: 4}
default: {new: 2}
ptrs: [{name: p1}, ~]
levels: {a: low}
secs: 90
`
	got, err := decodeSample(t, src)
	if err != nil {
		t.Fatal(err)
	}
	f := false
	want := sample{
		common: common{Owner: "me"}, Extra: &Extra{Note: "hi"},
		S: "text", B: true, PB: &f, I: -3, U8: 255, F: 1.5, D: 90 * time.Second,
		List: []string{"a", "b"},
		Items: []item{
			{Name: "one", Timeout: 2 * time.Second, Sub: &struct {
				Unit string `yaml:"unit"`
			}{"x.service"}},
			{Name: "two"},
		},
		ByName:  map[string]item{"k": {Name: "three"}},
		Level:   2,
		Addr:    netip.MustParseAddr("192.0.2.1"),
		Plain:   "p",
		Nested:  struct{ X int }{4},
		Default: map[string]int{"keep": 1, "new": 2},
		Ptrs:    []*item{{Name: "p1"}, nil},
		Levels:  map[string]level{"a": 1},
		Secs:    90,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestDecoderMergeAndAliases(t *testing.T) {
	src := `
base: &base {timeout: 5s, name: shared}
s: &name text
items:
  - <<: *base
    name: own
  - *base
list: [*name]
`
	got, err := decodeSample(t, src, "base")
	if err != nil {
		t.Fatal(err)
	}
	if got.S != "text" || len(got.List) != 1 || got.List[0] != "text" ||
		len(got.Items) != 2 || got.Items[0] != (item{Name: "own", Timeout: 5 * time.Second}) || got.Items[1] != (item{Name: "shared", Timeout: 5 * time.Second}) {
		t.Errorf("got %+v", got)
	}
}

// Every problem is reported at its node's line and column, in file order.
func TestDecoderErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		known     []string
		want      []string
	}{
		{"null section", "~", nil, nil},
		{"not a mapping", "[1]", nil, []string{"f.yaml:1:1: sec: expected a mapping, got a list"}},
		{"unknown key lists the known ones", "pool: 1\n", []string{"interval"}, []string{
			`f.yaml:1:1: sec: unknown key "pool" (known: addr, any, b, by_name, d, default, f, i, interval, items, level, levels, list, nested, note, owner, pb, plain, ptrs, s, secs, u8)`}},
		{"skipped and private fields are no keys", "Skipped: 1\nprivate: 2\n", nil, []string{
			`f.yaml:1:1: sec: unknown key "Skipped"`, `f.yaml:2:1: sec: unknown key "private"`}},
		{"known keys are not decoded", "interval: [x]\n", []string{"interval"}, nil},
		{"repeated key", "s: a\nb: true\ns: b\n", nil, []string{`f.yaml:3:1: sec: key "s" repeated (first at line 1)`}},
		{"key not a string", "[s]: a\n", nil, []string{"f.yaml:1:1: sec: keys must be strings, got a list"}},
		{"scalars", "s: [x]\nb: yes\npb: 1\ni: 1.5\nu8: 256\nf: x\nd: 30\nlist: x\n", nil, []string{
			"f.yaml:1:4: sec.s: expected a string, got a list",
			`f.yaml:2:4: sec.b: expected true or false, got str "yes"`,
			`f.yaml:3:5: sec.pb: expected true or false, got int "1"`,
			`f.yaml:4:4: sec.i: expected an integer, got float "1.5"`,
			`f.yaml:5:5: sec.u8: expected an integer, got int "256"`,
			`f.yaml:6:4: sec.f: expected a number, got str "x"`,
			`f.yaml:7:4: sec.d: expected a duration like 30s or 1m, got "30"`,
			`f.yaml:8:7: sec.list: expected a list, got str "x"`,
		}},
		{"nested, each at its value", "items:\n  - name: a\n    timeout: soon\n  - nme: b\n    sub: {unit: [x]}\n", nil, []string{
			`f.yaml:3:14: sec.items[0].timeout: expected a duration like 30s or 1m, got "soon"`,
			`f.yaml:4:5: sec.items[1]: unknown key "nme" (known: name, sub, timeout)`,
			"f.yaml:5:17: sec.items[1].sub.unit: expected a string, got a list",
		}},
		{"map values", "by_name:\n  a: {name: [1]}\n  b: 3\n", nil, []string{
			"f.yaml:2:13: sec.by_name.a.name: expected a string, got a list",
			`f.yaml:3:6: sec.by_name.b: expected a mapping, got int "3"`,
		}},
		{"map repeated key", "levels: {a: low, a: high}\n", nil, []string{`f.yaml:1:18: sec.levels: key "a" repeated (first at line 1)`}},
		{"UnmarshalYAML error at its node", "level: medium\nlevels: {x: [1]}\n", nil, []string{
			`f.yaml:1:8: sec.level: level "medium" is not low or high`,
			`f.yaml:2:13: sec.levels.x: level "" is not low or high`,
		}},
		{"yaml.v2 UnmarshalYAML error at its node", "s: x\nsecs: [1]\n", nil, []string{
			"f.yaml:2:7: sec.secs: cannot unmarshal !!seq into string",
		}},
		{"UnmarshalText error at its node", "addr: 300.1.1.1\n", nil, []string{
			`f.yaml:1:7: sec.addr: ParseAddr("300.1.1.1"): IPv4 field has value >255`,
		}},
		{"unsupported type", "any: 1\n", nil, []string{
			`f.yaml:1:6: sec.any: cannot decode into Go type chan int (unsupported by yamlnode.Decoder)`,
		}},
		{"merged mapping checked", "items:\n  - <<: {nme: x}\n", nil, []string{`f.yaml:2:10: sec.items[0]: unknown key "nme" (known: name, sub, timeout)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeSample(t, tc.src, tc.known...)
			var got []string
			if err != nil {
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					var pe *Error
					if !errors.As(e, &pe) {
						t.Errorf("%v is not an *Error", e)
					}
					got = append(got, e.Error())
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d errors:\n%s\nwant %d:\n%s", len(got), strings.Join(got, "\n"), len(tc.want), strings.Join(tc.want, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("error %d:\n got  %s\n want %s", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestDecoderNeedsStructPointer(t *testing.T) {
	var n yaml.Node
	var i int
	if err := (Decoder{}).Decode(&n, "x", &i); err == nil {
		t.Error("decoded into *int")
	}
	if err := (Decoder{}).Decode(&n, "x", sample{}); err == nil {
		t.Error("decoded into a struct value")
	}
}

// Aliases of lists of aliases stand for more values than Decode decodes.
func TestDecoderAliasBomb(t *testing.T) {
	type leaf struct {
		S []string `yaml:"s"`
	}
	type mid struct {
		L []leaf `yaml:"l"`
	}
	type top struct {
		M []mid `yaml:"m"`
	}
	row := func(alias string, n int) string {
		return "[" + strings.TrimSuffix(strings.Repeat(alias+", ", n), ", ") + "]"
	}
	src := "s: &s " + row("x", 200) + "\nl: &l " + row("{s: *s}", 200) + "\nm: " + row("{l: *l}", 200) + "\n"
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	var v top
	err := Decoder{File: "f.yaml", Known: []string{"s", "l"}}.Decode(doc.Content[0], "sec", &v)
	if err == nil || !strings.Contains(err.Error(), "aliases expand to more than 1000000 values") || strings.Count(err.Error(), "\n") != 0 {
		t.Errorf("got %v", err)
	}
}
