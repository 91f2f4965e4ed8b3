package yamlnode

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

const fieldDoc = `base: &base
  unit: a.service
  opts: {retries: 3}
items:
  - name: one
    tool: rsync
  - <<: *base
    name: two
  - name: three
    nested:
      - [x, y]
empty: []
alias: *base
`

// Locate finds a value by its key path through lists, merge keys and
// aliases, and stops at the deepest node on the way when the path goes
// past what is set.
func TestLocate(t *testing.T) {
	root, err := Document("f.yaml", []byte(fieldDoc))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path  string
		at    string // line:col
		found bool
	}{
		{"", "1:1", true},
		{"items", "5:3", true},
		{"items[0].tool", "6:11", true},
		{"items[0].missing", "5:5", false}, // the item's mapping
		{"items[1].unit", "2:9", true},     // merged from base
		{"items[1].opts.retries", "3:19", true},
		{"items[1].name", "8:11", true}, // its own key wins over the merged one
		{"items[2].nested[0][1]", "11:13", true},
		{"items[2].nested[0][5]", "11:9", false}, // past the end: the list
		{"items[7].tool", "5:3", false},
		{"empty[0]", "12:8", false},
		{"alias.unit", "2:9", true}, // an alias resolves to its anchor
		{"items[0].tool.deeper", "6:11", false},
		{"items.tool", "5:3", false}, // a key of a list
		{"items[x]", "1:1", false},   // not a path
		{"items.", "1:1", false},
		{"a..b", "1:1", false},
	} {
		n, found := Locate(root, c.path)
		if got := fmt.Sprintf("%d:%d", n.Line, n.Column); got != c.at || found != c.found {
			t.Errorf("Locate(%q) = %s found %v, want %s found %v", c.path, got, found, c.at, c.found)
		}
	}
}

// Place puts each FieldError at its value, or at the mapping that lacks
// it, keeps positioned errors, puts anything else at the fallback, and
// sorts them all.
func TestPlace(t *testing.T) {
	root, err := Document("f.yaml", []byte(fieldDoc))
	if err != nil {
		t.Fatal(err)
	}
	fallback := Pos{File: "f.yaml", Line: 20, Col: 3}
	in := errors.Join(
		FieldErrorf("items[2].nested[0][1]", "%q is bad", "y"),
		errors.Join(FieldErrorf("items[0].location", "missing"), FieldErrorf("items[0].tool", "%q is not supported", "rsync")),
		errors.New("something of the whole section"),
		Errorf(Pos{File: "f.yaml", Line: 7, Col: 5}, "already placed"),
		FieldErrorf("", "needs at least one item"),
		FieldErrorf("[0]", "odd but placed"),
	)
	got := Place("f.yaml", root, "sec", fallback, in)
	want := strings.Join([]string{
		"f.yaml:1:1: sec: needs at least one item",
		"f.yaml:1:1: sec[0]: odd but placed",
		"f.yaml:5:5: sec.items[0].location: missing",
		`f.yaml:6:11: sec.items[0].tool: "rsync" is not supported`,
		"f.yaml:7:5: already placed",
		`f.yaml:11:13: sec.items[2].nested[0][1]: "y" is bad`,
		"f.yaml:20:3: sec: something of the whole section",
	}, "\n")
	if got == nil || got.Error() != want {
		t.Fatalf("Place:\n%v\nwant\n%s", got, want)
	}
	for _, e := range got.(interface{ Unwrap() []error }).Unwrap() {
		if _, ok := e.(*Error); !ok {
			t.Errorf("%T %v is not an *Error", e, e)
		}
	}
	// An empty section: everything at the fallback.
	got = Place("f.yaml", nil, "sec", fallback, FieldErrorf("url", "missing"))
	if want := "f.yaml:20:3: sec.url: missing"; got == nil || got.Error() != want {
		t.Errorf("Place(nil node) = %v, want %s", got, want)
	}
	if Place("f.yaml", root, "sec", fallback, nil) != nil {
		t.Error("Place(nil) is not nil")
	}
}

func TestFieldErrorString(t *testing.T) {
	if got := FieldErrorf("a[0].b", "%s is bad", "x").Error(); got != "a[0].b: x is bad" {
		t.Errorf("got %q", got)
	}
	if got := FieldErrorf("", "whole").Error(); got != "whole" {
		t.Errorf("got %q", got)
	}
}

// Locate takes any path without panicking; when it finds a path, it
// finds every shorter path on the way too, and a key that no mapping has
// below it leaves it where it was.
func FuzzLocate(f *testing.F) {
	root, err := Document("f.yaml", []byte(fieldDoc))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range []string{"", "items[2].nested[0][1]", "items[1].opts.retries", "a..b", "[0]", "items[", "x]", "items[-1]", "items[99999999999999999999]"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, path string) {
		n, found := Locate(root, path)
		if n == nil {
			t.Fatalf("Locate(%q) = nil", path)
		}
		if !found {
			return
		}
		for i := range len(path) {
			if path[i] == '.' || path[i] == '[' {
				if _, ok := Locate(root, path[:i]); !ok {
					t.Fatalf("Locate(%q) found, its prefix %q not", path, path[:i])
				}
			}
		}
		if m, ok := Locate(root, joinPath(path, "no_such_key")); ok || m != n {
			t.Fatalf("Locate(%q.no_such_key) = %d:%d %v, want %d:%d false", path, m.Line, m.Column, ok, n.Line, n.Column)
		}
	})
}
