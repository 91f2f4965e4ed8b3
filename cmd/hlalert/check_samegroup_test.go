package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// hlalert check warns, at the series' name in the reading rule, when a rule
// reads what an earlier rule of its group records, and names the fix.
func TestCheckWarnsSameGroupRead(t *testing.T) {
	const file = "../../alerts/rulefmt/testdata/samegroup.good.yaml"
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"check", file}, &stdout, &stderr)
	if code != exitOK || stderr.Len() > 0 {
		t.Fatalf("exit %d, stderr %q", code, &stderr)
	}
	want := file + `:10:22: warning: alerting rule "ErrorsHigh" reads job:errors:ratio, recorded by the rule at 6:17 of the same group: vmalert and hlalert give it the previous evaluation's value (Prometheus this evaluation's), one interval late; to read the fresh value, record it in another group evaluated first (in unit tests, list that group first in group_eval_order)`
	if !strings.Contains(stdout.String(), want+"\n") {
		t.Errorf("stdout lacks\n%s\ngot:\n%s", want, &stdout)
	}
	if n := strings.Count(stdout.String(), "of the same group"); n != 3 {
		t.Errorf("%d same-group warnings, want 3:\n%s", n, &stdout)
	}
	code = run(context.Background(), []string{"check", "--strict", file}, &stdout, &stderr)
	if code != exitFail {
		t.Errorf("--strict: exit %d, want %d", code, exitFail)
	}
}
