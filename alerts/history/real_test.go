package history

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/alert"
	"github.com/hlalert/hlalert/alerts/internal/realserver"
	"github.com/hlalert/hlalert/alerts/lokipush"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// queryLoki runs a LogQL log query over the last hour and returns the
// lines, oldest first.
func queryLoki(t *testing.T, loki *realserver.Server, q string, end time.Time) []string {
	t.Helper()
	v := url.Values{"query": {q}, "start": {strconv.FormatInt(end.Add(-time.Hour).UnixNano(), 10)},
		"end": {strconv.FormatInt(end.Add(time.Minute).UnixNano(), 10)}, "direction": {"forward"}, "limit": {"1000"}}
	resp, err := http.Get(loki.URL + "/loki/api/v1/query_range?" + v.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("query %s: %s: %s", q, resp.Status, body)
	}
	var r struct {
		Data struct {
			Result []struct {
				Values [][2]string `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	type entry struct{ ts, line string }
	var es []entry
	for _, s := range r.Data.Result {
		for _, v := range s.Values {
			es = append(es, entry{v[0], v[1]})
		}
	}
	sort.SliceStable(es, func(i, j int) bool { return len(es[i].ts) < len(es[j].ts) || es[i].ts < es[j].ts })
	var out []string
	for _, e := range es {
		out = append(out, e.line)
	}
	return out
}

func TestRealLoki(t *testing.T) {
	loki := realserver.StartLoki(t)
	client, err := lokipush.New(lokipush.Options{URL: loki.URL})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Options{Pusher: client, FlushInterval: 100 * time.Millisecond, MinBackoff: 50 * time.Millisecond,
		MaxBackoff: 500 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	h.StateChanged(t.Context(), []alert.StateChange{
		change("BackupStale", "backups", "nas", alert.StateInactive, alert.StatePending, now.Add(-3*time.Minute)),
		change("BackupStale", "backups", "photos", alert.StateInactive, alert.StatePending, now.Add(-3*time.Minute)),
		change("BackupStale", "backups", "nas", alert.StatePending, alert.StateFiring, now.Add(-2*time.Minute)),
		change("ZpoolDegraded", "disks", "tank", alert.StateFiring, alert.StateInactive, now.Add(-time.Minute)),
	})
	h.StateChanged(t.Context(), []alert.StateChange{
		change("BackupStale", "backups", "nas", alert.StateFiring, alert.StateInactive, now),
		change(`Odd "name"`, `g\1`, "x\ny", alert.StateInactive, alert.StatePending, now),
	})
	if err := h.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if v := testutil.ToFloat64(h.pushed); v != 6 {
		t.Errorf("pushed = %v, want 6", v)
	}

	tests := []struct {
		query string
		want  []string // repo:from>to
	}{
		{`{job="hlalert", alertname="BackupStale"} | json | labels_repo="nas"`, []string{"nas:inactive>pending", "nas:pending>firing", "nas:firing>inactive"}},
		{`{job="hlalert", group="backups"} | json | to="pending"`, []string{"nas:inactive>pending", "photos:inactive>pending"}},
		{`{job="hlalert", group="disks"}`, []string{"tank:firing>inactive"}},
		{`{job="hlalert", alertname="Odd \"name\"", group="g\\1"}`, []string{"x\ny:inactive>pending"}},
	}
	for _, tc := range tests {
		var got []string
		deadline := time.Now().Add(20 * time.Second)
		for {
			got = got[:0]
			for _, line := range queryLoki(t, loki, tc.query, now) {
				var l Line
				if err := json.Unmarshal([]byte(line), &l); err != nil {
					t.Fatalf("line %q is not JSON: %v", line, err)
				}
				got = append(got, l.Labels["repo"]+":"+l.From+">"+l.To)
			}
			if len(got) >= len(tc.want) || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: got %q, want %q", tc.query, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: got %q, want %q", tc.query, got, tc.want)
				break
			}
		}
	}
}
