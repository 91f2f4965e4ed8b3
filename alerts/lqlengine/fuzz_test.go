package lqlengine

import (
	"bufio"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary expressions to Parse, Check and the engine:
// none may panic, a parse error carries its position or Loki's reason, and
// whatever Check accepts evaluates without an UnsupportedError.
func FuzzParse(f *testing.F) {
	fh, err := os.Open("testdata/conformance/queries.txt")
	if err != nil {
		f.Fatal(err)
	}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			f.Add(l)
		}
	}
	fh.Close()
	e := New(testStore(f))
	at := t0.Add(time.Minute)
	f.Fuzz(func(t *testing.T, q string) {
		if len(q) > 2000 {
			return
		}
		_, perr := Parse(q)
		cerr := Check(q)
		if perr != nil {
			var pe *ParseError
			if !errors.As(perr, &pe) {
				t.Fatalf("Parse(%q) = %v, not a *ParseError", q, perr)
			}
			if cerr == nil {
				t.Fatalf("Check(%q) accepts what Parse refuses (%v)", q, perr)
			}
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := e.Query(ctx, q, at)
		var ue *UnsupportedError
		if cerr == nil && errors.As(err, &ue) {
			t.Fatalf("Query(%q) = %v but Check accepted it", q, err)
		}
	})
}

// FuzzParseLabels: the stream notation parser never panics and what it
// accepts has sorted, unique, non-empty labels.
func FuzzParseLabels(f *testing.F) {
	for _, s := range []string{`{job="app"}`, `{job="app", host="a"}`, `{}`, `{a="b",a="c"}`, `{a=~"b"}`, `{a=""}`, "{a=`raw`}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ls, err := ParseLabels(s)
		if err != nil {
			return
		}
		for i, l := range ls {
			if l.Value == "" || i > 0 && ls[i-1].Name >= l.Name {
				t.Fatalf("ParseLabels(%q) = %v", s, ls)
			}
		}
	})
}
