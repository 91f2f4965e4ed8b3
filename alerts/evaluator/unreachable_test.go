package evaluator

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"

	"github.com/hlalert/hlalert/alerts/datasource"
)

// TestUnreachable: only a datasource that did not answer (transport error,
// timeout, 5xx) counts towards HlalertDatasourceDown; a wrong query does not.
func TestUnreachable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{&url.Error{Op: "Post", URL: "http://vm:8428", Err: errors.New("connection refused")}, true},
		{fmt.Errorf("rule X: %w", context.DeadlineExceeded), true},
		{fmt.Errorf("rule X: %w", &datasource.StatusError{StatusCode: 502, Err: errors.New("bad gateway")}), true},
		{&datasource.StatusError{StatusCode: 422, Err: errors.New("bad_data: unknown func")}, false},
		{errors.New("not supported by the embedded engine: foo"), false},
	} {
		if got := unreachable(tc.err); got != tc.want {
			t.Errorf("unreachable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
