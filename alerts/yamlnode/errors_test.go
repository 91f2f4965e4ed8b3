package yamlnode

import (
	"errors"
	"fmt"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestErrorFormat(t *testing.T) {
	for _, tc := range []struct {
		pos  Pos
		want string
	}{
		{Pos{File: "f.yaml", Line: 3, Col: 7}, "f.yaml:3:7: boom"},
		{Pos{File: "f.yaml", Line: 3}, "f.yaml:3: boom"}, // no column: never ":0"
		{Pos{File: "f.yaml"}, "f.yaml: boom"},
	} {
		if got := Errorf(tc.pos, "%s", "boom").Error(); got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.pos, got, tc.want)
		}
	}
}

func TestAt(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("a: 1\nb:\n  c: x\n"), &doc); err != nil {
		t.Fatal(err)
	}
	c := doc.Content[0].Content[3].Content[1]
	if got, want := At("f", c), (Pos{File: "f", Line: 3, Col: 6}); got != want {
		t.Errorf("At: got %+v, want %+v", got, want)
	}
}

func TestSyntaxError(t *testing.T) {
	var doc yaml.Node
	err := yaml.Unmarshal([]byte("a: 1\nb: 2\n  c: 3\n"), &doc)
	if err == nil {
		t.Fatal("want a syntax error")
	}
	got := SyntaxError("f.yaml", err).Error()
	if want := "f.yaml:3: invalid YAML: mapping values are not allowed in this context"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := SyntaxError("f.yaml", errors.New("yaml: control characters are not allowed")).Error(),
		"f.yaml: invalid YAML: control characters are not allowed"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestSortErrors(t *testing.T) {
	other := errors.New("other")
	errs := []error{
		Errorf(Pos{File: "b", Line: 1, Col: 1}, "b1"),
		Errorf(Pos{File: "a", Line: 2, Col: 1}, "a2"),
		Errorf(Pos{File: "a", Line: 1, Col: 9}, "a1.9"),
		Errorf(Pos{File: "a", Line: 1, Col: 2}, "a1.2 first"),
		Errorf(Pos{File: "a", Line: 1, Col: 2}, "a1.2 second"),
	}
	SortErrors(errs)
	got := fmt.Sprint(errs)
	if want := "[a:1:2: a1.2 first a:1:2: a1.2 second a:1:9: a1.9 a:2:1: a2 b:1:1: b1]"; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	mixed := []error{other, Errorf(Pos{File: "a", Line: 1}, "x")}
	SortErrors(mixed)
	if mixed[0] != other {
		t.Errorf("an error without a position moved: %v", mixed)
	}
}

func TestDocument(t *testing.T) {
	for _, tc := range []struct {
		src, wantErr string
		wantRoot     bool
	}{
		{"a: 1\n", "", true},
		{"", "", false},
		{"# only a comment\n", "", false},
		{"a: 1\n---\nb: 2\n", "f:2:1: more than one YAML document", false},
		{"a: [\n", "f:1: invalid YAML: did not find expected node content", false},
		{"a: 1\n---\nb: [\n", "f:3: invalid YAML: did not find expected node content", false},
	} {
		root, err := Document("f", []byte(tc.src))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.wantErr || (root != nil) != tc.wantRoot {
			t.Errorf("%q: got %v, %q; want root %v, error %q", tc.src, root, got, tc.wantRoot, tc.wantErr)
		}
	}
}
