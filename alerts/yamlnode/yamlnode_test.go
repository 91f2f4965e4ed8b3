package yamlnode

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// parse returns the value of key "v" in a one-document YAML mapping.
func parse(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatalf("parse %q: %v", src, err)
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "v" {
			return root.Content[i+1]
		}
	}
	t.Fatalf("no key v in %q", src)
	return nil
}

// recorder collects reports as "line:col: msg".
type recorder []string

func (r *recorder) report(n *yaml.Node, msg string) {
	*r = append(*r, fmt.Sprintf("%d:%d: %s", n.Line, n.Column, msg))
}

func TestResolve(t *testing.T) {
	for _, tc := range []struct {
		src, want string
	}{
		{"a: &x 5\nv: *x", "5"},
		{"a: &x {k: 1}\nb: &y [*x]\nv: *y", "list"},
		{"v: plain", "plain"},
	} {
		n := Resolve(parse(t, tc.src))
		got := n.Value
		if n.Kind == yaml.SequenceNode {
			got = "list"
		}
		if n.Kind == yaml.AliasNode || got != tc.want {
			t.Errorf("Resolve(%q) = kind %v %q, want %q", tc.src, n.Kind, got, tc.want)
		}
	}
	if Resolve(nil) != nil {
		t.Error("Resolve(nil) != nil")
	}
	// A chain longer than the bound stops at an alias rather than loop.
	loop := &yaml.Node{Kind: yaml.AliasNode}
	loop.Alias = loop
	if got := Resolve(loop); got != loop {
		t.Error("Resolve of a self-alias did not stop")
	}
}

func TestKindName(t *testing.T) {
	for _, tc := range []struct {
		src, want string
	}{
		{"v: {a: 1}", "a mapping"},
		{"v: [1]", "a list"},
		{"v: ~", "null"},
		{"v:", "null"},
		{"v: 3", `int "3"`},
		{"v: '3'", `str "3"`},
		{"v: yes", `str "yes"`},
		{"v: true", `bool "true"`},
		{"v: 1.5", `float "1.5"`},
		{"a: &x 2\nv: *x", "other"},
	} {
		if got := KindName(parse(t, tc.src), "other"); got != tc.want {
			t.Errorf("KindName(%q) = %q, want %q", tc.src, got, tc.want)
		}
	}
}

func TestReaderScalars(t *testing.T) {
	type result struct {
		val  any
		ok   bool
		errs []string
	}
	read := func(nullIsEmpty bool, f func(Reader, *yaml.Node) (any, bool)) func(*testing.T, string) result {
		return func(t *testing.T, src string) result {
			var rec recorder
			r := Reader{Report: rec.report, OtherKind: "an odd node", NullIsEmpty: nullIsEmpty}
			v, ok := f(r, parse(t, src))
			return result{v, ok, rec}
		}
	}
	str := func(r Reader, n *yaml.Node) (any, bool) { return r.Str(n, "s") }
	integer := func(r Reader, n *yaml.Node) (any, bool) { return r.Int(n, "i", 1) }
	boolean := func(r Reader, n *yaml.Node) (any, bool) { return r.Bool(n, "b") }
	list := func(r Reader, n *yaml.Node) (any, bool) {
		var vals []string
		for _, e := range r.List(n, "l") {
			vals = append(vals, e.Value)
		}
		return strings.Join(vals, ","), true
	}
	for _, tc := range []struct {
		name string
		read func(*testing.T, string) result
		src  string
		want result
	}{
		{"str", read(false, str), "v: abc", result{"abc", true, nil}},
		{"str alias", read(false, str), "a: &x 12\nv: *x", result{"12", true, nil}},
		{"str null strict", read(false, str), "v: ~", result{"", false, []string{"1:4: s: expected a string, got null"}}},
		{"str null empty", read(true, str), "v: ~", result{"", true, nil}},
		{"str list", read(true, str), "v: [a]", result{"", false, []string{"1:4: s: expected a string, got a list"}}},
		{"int", read(false, integer), "v: 7", result{7, true, nil}},
		{"int hex", read(false, integer), "v: 0x10", result{16, true, nil}},
		{"int below min", read(false, integer), "v: 0", result{0, false, []string{"1:4: i: must be at least 1, got 0"}}},
		{"int quoted", read(false, integer), "v: '7'", result{0, false, []string{`1:4: i: expected an integer, got str "7"`}}},
		{"int float", read(false, integer), "v: 1.5", result{0, false, []string{`1:4: i: expected an integer, got float "1.5"`}}},
		{"int tagged", read(false, integer), "v: !!int x", result{0, false, []string{`1:4: i: expected an integer, got int "x"`}}},
		{"int alias position", read(false, integer), "a: &x -3\nv: *x", result{0, false, []string{"1:4: i: must be at least 1, got -3"}}},
		{"bool", read(false, boolean), "v: false", result{false, true, nil}},
		{"bool yes", read(false, boolean), "v: yes", result{false, false, []string{`1:4: b: expected true or false, got str "yes"`}}},
		{"bool map", read(false, boolean), "v: {}", result{false, false, []string{"1:4: b: expected true or false, got a mapping"}}},
		{"list", read(false, list), "v: [a, b]", result{"a,b", true, nil}},
		{"list null strict", read(false, list), "v: ~", result{"", true, []string{"1:4: l: expected a list, got null"}}},
		{"list null empty", read(true, list), "v:", result{"", true, nil}},
		{"list scalar", read(true, list), "v: x", result{"", true, []string{`1:4: l: expected a list, got str "x"`}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.read(t, tc.src)
			if got.val != tc.want.val || got.ok != tc.want.ok || !slices.Equal(got.errs, tc.want.errs) {
				t.Errorf("got %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func TestMappingFields(t *testing.T) {
	allowed := []string{"a", "b", "c"}
	strict := Mapping{Allowed: allowed, StringKeys: true}
	all := Mapping{Allowed: allowed, NullIsEmpty: true, StringKeys: true, ResolveKeys: true, Merge: true}
	loose := Mapping{Allowed: allowed, NullIsEmpty: true, Merge: true}
	for _, tc := range []struct {
		name   string
		m      Mapping
		src    string
		ok     bool
		fields string // key=value, sorted
		issues []string
	}{
		{"plain", strict, "v: {a: 1, b: x}", true, "a=1 b=x", nil},
		{"value alias resolved", strict, "z: &x 9\nv: {a: *x}", true, "a=9", nil},
		{"unknown and repeated", strict, "v: {a: 1, d: 2, a: 3, d: 4}", true, "a=1",
			[]string{"unknown d at 1:11", "repeated a at 1:17 (first 1:5)", "unknown d at 1:23"}},
		{"null strict", strict, "v: ~", false, "", []string{"not a mapping at 1:4"}},
		{"null empty", all, "v: ~", true, "", nil},
		{"list", all, "v: [1]", false, "", []string{"not a mapping at 1:4"}},
		{"non-string key", strict, "v: {[x]: 1, a: 2}", true, "a=2", []string{"key not a string at 1:5"}},
		{"non-string key unchecked", loose, "v: {[x]: 1, a: 2}", true, "a=2", []string{"unknown  at 1:5"}},
		{"alias key unresolved", strict, "z: &k a\nv: {*k : 1}", true, "", []string{"key not a string at 2:5"}},
		{"alias key unchecked", loose, "z: &k a\nv: {*k : 1}", true, "", []string{"unknown k at 2:5"}},
		{"alias key resolved", all, "z: &k a\nv: {*k : 1}", true, "a=1", nil},
		{"merge off", strict, "z: &m {a: 1}\nv: {<<: *m}", true, "", []string{"unknown << at 2:5"}},
		{"merge explicit wins", all, "z: &m {a: 1, b: 2}\nv: {<<: *m, a: 3}", true, "a=3 b=2", nil},
		{"merge list first wins", all, "v: {<<: [{a: 1}, {a: 2, c: 3}]}", true, "a=1 c=3", nil},
		{"merge checks its mapping", all, "v: {<<: [{d: 1}, 5, ~], b: 1}", true, "b=1",
			[]string{"unknown d at 1:11", "not a mapping at 1:18"}},
		{"merge tagged key", loose, "v: {!!merge x: {a: 1}}", true, "a=1", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var issues []string
			fs, ok := tc.m.Fields(parse(t, tc.src), func(is Issue) {
				at := fmt.Sprintf("%d:%d", is.Node.Line, is.Node.Column)
				switch is.Problem {
				case NotMapping:
					issues = append(issues, "not a mapping at "+at)
				case KeyNotString:
					issues = append(issues, "key not a string at "+at)
				case UnknownKey:
					issues = append(issues, "unknown "+is.Node.Value+" at "+at)
				case RepeatedKey:
					issues = append(issues, fmt.Sprintf("repeated %s at %s (first %d:%d)", is.Node.Value, at, is.Prev.Line, is.Prev.Column))
				default:
					t.Errorf("unexpected problem %d", is.Problem)
				}
			})
			var got []string
			for k, f := range fs {
				if f.Key.Value != k && f.Key.Kind != yaml.AliasNode {
					t.Errorf("field %q has key %q", k, f.Key.Value)
				}
				got = append(got, k+"="+f.Value.Value)
			}
			sort.Strings(got)
			if ok != tc.ok || strings.Join(got, " ") != tc.fields || !slices.Equal(issues, tc.issues) {
				t.Errorf("got ok=%v fields %q issues %q\nwant ok=%v fields %q issues %q", ok, strings.Join(got, " "), issues, tc.ok, tc.fields, tc.issues)
			}
		})
	}
}

// An anchor merged into anchors that are merged twice, level upon level,
// is walked once: its problem is reported once (walking it again at each
// use would take 2^40 steps here).
func TestMappingFieldsMergedOnce(t *testing.T) {
	var b strings.Builder
	b.WriteString("l0: &l0 {a: 1, d: 2}\n")
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, "l%d: &l%d {<<: [*l%d, *l%d]}\n", i, i, i-1, i-1)
	}
	b.WriteString("v: {<<: [*l40, *l40], b: 3}\n")
	var issues []string
	m := Mapping{Allowed: []string{"a", "b"}, Merge: true}
	fs, ok := m.Fields(parse(t, b.String()), func(is Issue) {
		issues = append(issues, fmt.Sprintf("%d %s at %d:%d", is.Problem, is.Node.Value, is.Node.Line, is.Node.Column))
	})
	if !ok || len(fs) != 2 || fs["a"].Value.Value != "1" || fs["b"].Value.Value != "3" {
		t.Errorf("fields %v", fs)
	}
	if want := []string{fmt.Sprintf("%d d at 1:16", UnknownKey)}; !slices.Equal(issues, want) {
		t.Errorf("issues %q, want %q", issues, want)
	}
}

func TestStrMapAndPromDuration(t *testing.T) {
	var msgs []string
	r := Reader{Report: func(n *yaml.Node, msg string) { msgs = append(msgs, fmt.Sprintf("%d:%d: %s", n.Line, n.Column, msg)) }}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("m: {b: x, a: y, b: z, c: [1]}\nd: [1d, soon]\nn: ~\nl: [1]\n"), &doc); err != nil {
		t.Fatal(err)
	}
	top := doc.Content[0]
	keys, values, nodes := r.StrMap(top.Content[1], "m")
	if strings.Join(keys, ",") != "b,a" || values["b"] != "x" || values["a"] != "y" || nodes["a"].Column != 11 {
		t.Errorf("StrMap = %v %v", keys, values)
	}
	if k, v, _ := r.StrMap(top.Content[5], "n"); k != nil || v != nil {
		t.Errorf("StrMap(null) = %v %v, want nothing", k, v)
	}
	r.StrMap(top.Content[7], "l")
	if d, ok := r.PromDuration(top.Content[3].Content[0], "d[0]"); !ok || d != 24*time.Hour {
		t.Errorf("PromDuration(1d) = %v %v", d, ok)
	}
	if _, ok := r.PromDuration(top.Content[3].Content[1], "d[1]"); ok {
		t.Error("PromDuration(soon) accepted")
	}
	want := []string{
		`1:17: m: key "b" repeated (first at line 1)`,
		`1:26: m.c: expected a string, got a list`,
		`4:4: l: expected a mapping, got a list`,
		`2:9: d[1]: expected a duration like 30s, 5m or 4h, got "soon"`,
	}
	if strings.Join(msgs, "\n") != strings.Join(want, "\n") {
		t.Errorf("reported:\n%s\nwant:\n%s", strings.Join(msgs, "\n"), strings.Join(want, "\n"))
	}
}
