package lqlengine

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	good := []string{
		`{job="a"}`,
		`{job="a"} |= "x" != "y" or "z" |~ "a.b" | json | level="err" | line_format "{{.msg}}"`,
		`count_over_time({job="a"}[5m])`,
		`sum by (host) (rate({job="a"} | logfmt | dur > 5s [1m] offset 1m))`,
		`quantile_over_time(0.9, {job="a"} | json | unwrap duration(latency) | __error__="" [5m]) by (host)`,
		`sum(count_over_time({job="a"}[5m])) / on (host) group_left count_over_time({job="b"}[5m]) > bool 2`,
		`label_replace(vector(1), "dst", "$1", "src", "(.*)")`,
		`topk(3, sum by (unit) (count_over_time(({job="a"} |= "x")[5m])))`,
		`count_over_time({job="a"}[5m] |= "x" | logfmt --strict --keep-empty a, b="c")`,
		`1 + 2 * 3`,
		`{job="a"} | a > 10KB or b < 2 , c != ip("10.0.0.0/8")`,
		`{job="a"} | drop a, b="c" | keep d | decolorize | label_format x=y, z="{{.a}}"`,
	}
	for _, q := range good {
		if _, err := Parse(q); err != nil {
			t.Errorf("Parse(%q): %v", q, err)
		}
	}
	bad := map[string]string{
		`{job="a"`:                              "line 1, col 9",
		`count_over_time({job="a"}[5m]) by (x)`: "grouping not allowed for count_over_time aggregation",
		`sum_over_time({job="a"}[5m])`:          "invalid aggregation sum_over_time without unwrap",
		`{job=~".*"}`:                           "at least one regexp or equality matcher",
		`topk(0, vector(1))`:                    "must be greater than 0",
		`1 and 2`:                               "unexpected literal for left leg",
	}
	for q, want := range bad {
		_, err := Parse(q)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", q, err, want)
		}
	}
}
