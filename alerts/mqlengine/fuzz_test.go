package mqlengine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzQuery feeds arbitrary expressions to Check and Query: neither may
// panic, and Check must reject whatever Query reports as unsupported.
func FuzzQuery(f *testing.F) {
	var st = load(f, time.Minute, `
x{job="a"} => 0 1 2 3 _ 5 10 1
x{job="b"} => 1 1 stale 2 2 2 2 2
le_bucket{le="1"} => 1 2 3 4 5 6 7 8
le_bucket{le="+Inf"} => 2 3 4 5 6 7 8 9`)
	for _, cf := range caseFiles(f) {
		for _, eb := range cf.evals {
			f.Add(eb.query, int64(eb.at/time.Second), int64(eb.step/time.Second))
		}
	}
	e, err := New(st, Options{Now: func() time.Time { return base }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, q string, atSec, stepSec int64) {
		if len(q) > 1000 {
			return
		}
		checkErr := Check(q)
		// Keep the evaluated range small so subqueries stay cheap.
		at := base.Add(time.Duration(atSec%3600) * time.Second)
		step := time.Duration(stepSec%600) * time.Second
		if step < 0 {
			step = -step
		}
		if step != 0 && step < time.Second {
			step = time.Second
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := e.Query(ctx, q, at, step)
		var ue *UnsupportedError
		if errors.As(err, &ue) && checkErr == nil && !strings.Contains(ue.Name, "range vector") &&
			!strings.Contains(ue.Name, "vmrange") {
			t.Errorf("Query(%q) = %v but Check accepted it", q, err)
		}
	})
}
