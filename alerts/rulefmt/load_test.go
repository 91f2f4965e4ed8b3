package rulefmt

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/yamlnode"

	"github.com/hlalert/hlalert/internal/golden"
)

func render(errs []error, warns []*yamlnode.Error) []byte {
	var b strings.Builder
	for _, e := range errs {
		b.WriteString("error: " + e.Error() + "\n")
	}
	for _, w := range warns {
		b.WriteString("warning: " + w.Error() + "\n")
	}
	return []byte(b.String())
}

func TestLoadGood(t *testing.T) {
	paths, _ := filepath.Glob("testdata/*.good.yaml")
	if len(paths) == 0 {
		t.Fatal("no testdata: testdata/*.good.yaml matches nothing")
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			f, errs := LoadFile(p)
			if len(errs) > 0 {
				t.Fatalf("unexpected errors:\n%s", render(errs, nil))
			}
			got, err := json.MarshalIndent(f, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, strings.TrimSuffix(p, ".yaml")+".json", append(got, '\n'))
		})
	}
}

func TestLoadBad(t *testing.T) {
	paths, _ := filepath.Glob("testdata/*.bad.yaml")
	if len(paths) == 0 {
		t.Fatal("no testdata: testdata/*.bad.yaml matches nothing")
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			f, errs := LoadFile(p)
			if len(errs) == 0 {
				t.Fatal("no errors")
			}
			for _, e := range errs {
				if _, ok := e.(*yamlnode.Error); !ok {
					t.Errorf("error %v is a %T, want *yamlnode.Error", e, e)
				}
			}
			var warns []*yamlnode.Error
			if f != nil {
				warns = f.Warnings
			}
			golden.Check(t, strings.TrimSuffix(p, ".yaml")+".err", render(errs, warns))
		})
	}
}

func TestExprOffsetPos(t *testing.T) {
	tests := []struct {
		name, src string
		at        string // the offset is where this first occurs in the expr
		want      yamlnode.Pos
	}{
		{"plain", "groups:\n- name: g\n  rules:\n  - record: r\n    expr: sum(x) + bad(\n", "bad", yamlnode.Pos{File: "f", Line: 5, Col: 20}},
		{"literal", "groups:\n- name: g\n  rules:\n  - record: r\n    expr: |\n      sum(\n        x\n      )\n", "x", yamlnode.Pos{File: "f", Line: 7, Col: 9}},
		{"folded", "groups:\n- name: g\n  rules:\n  - record: r\n    expr: >\n      sum(\n        x)\n", "x", yamlnode.Pos{File: "f", Line: 7, Col: 9}},
		{"double quoted escapes fall back", "groups:\n- name: g\n  rules:\n  - record: r\n    expr: \"x{a=\\\"b\\\"}\"\n", "}", yamlnode.Pos{File: "f", Line: 5, Col: 11}},
		{"double quoted before escape", "groups:\n- name: g\n  rules:\n  - record: r\n    expr: \"sum(x)\"\n", "x", yamlnode.Pos{File: "f", Line: 5, Col: 16}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := LoadTyped("f", []byte(tc.src), TypeMetricsQL)
			if len(f.Groups) != 1 || len(f.Groups[0].Rules) != 1 {
				t.Fatalf("decoded %+v", f)
			}
			r := f.Groups[0].Rules[0]
			off := strings.Index(r.Expr, tc.at)
			if got := r.ExprOffsetPos(off); got != tc.want {
				t.Errorf("ExprOffsetPos(%d) = %v, want %v", off, got, tc.want)
			}
		})
	}
}

func TestLoadGlobsDuplicateGroups(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.yml", "groups:\n  - name: g\n    rules: []\n")
	write("b.yml", "groups:\n  - name: g\n    rules: []\n  - name: h\n    rules: []\n")
	files, errs := LoadGlobs([]string{filepath.Join(dir, "*.yml"), filepath.Join(dir, "a.yml"), filepath.Join(dir, "none*.yml")})
	if len(files) != 2 {
		t.Fatalf("got %d files, want 2 (a.yml once)", len(files))
	}
	var got []string
	for _, e := range errs {
		got = append(got, strings.ReplaceAll(e.Error(), dir, "DIR"))
	}
	want := []string{
		"DIR/none*.yml: no rule file matches this pattern",
		`DIR/b.yml:2:11: group "g" is already defined in DIR/a.yml:2:11`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func FuzzLoad(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*.yaml")
	if len(paths) == 0 {
		f.Fatal("no seeds: testdata/*.yaml matches nothing")
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, errs := LoadTyped("fuzz.yaml", data, TypeMetricsQL)
		if file == nil {
			t.Fatal("nil file")
		}
		for _, e := range errs {
			if _, ok := e.(*yamlnode.Error); !ok {
				t.Fatalf("error %v is a %T", e, e)
			}
		}
		for _, g := range file.Groups {
			for _, r := range g.Rules {
				for i := range len(r.Expr) + 1 {
					_ = r.ExprOffsetPos(i)
				}
			}
		}
	})
}

func TestLint(t *testing.T) {
	paths, _ := filepath.Glob("testdata/*.good.yaml")
	if len(paths) == 0 {
		t.Fatal("no testdata: testdata/*.good.yaml matches nothing")
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			f, errs := LoadFile(p)
			if len(errs) > 0 {
				t.Fatalf("unexpected errors:\n%s", render(errs, nil))
			}
			lerrs, lwarns := Lint(f, time.Minute)
			var es []error
			for _, e := range lerrs {
				es = append(es, e)
			}
			golden.Check(t, strings.TrimSuffix(p, ".yaml")+".lint", render(es, lwarns))
		})
	}
}
