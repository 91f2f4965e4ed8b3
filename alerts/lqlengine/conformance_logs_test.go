package lqlengine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hlalert/hlalert/alerts/logstream"
	"github.com/hlalert/hlalert/alerts/series"
)

// confLogQueries are log queries (the lines expression tests expect),
// compared with Loki's query_range over a 10-minute window, no limit hit.
var confLogQueries = []string{
	`{job="systemd-journal", unit="sshd.service"} |= "Failed password"`,
	`{job="systemd-journal", unit="kernel"} | decolorize`,
	`{job="systemd-journal", unit="zfs-zed.service"} | logfmt | class="checksum"`,
	`{job="app"} | logfmt | level="error"`,
	`{job="app"} |= "handled request" | logfmt | status >= 500 | line_format "{{.method}} {{.path}} {{.status}}"`,
	`{job="api"} | json | __error__!=""`,
	`{job="api"} | json | status == 500 | keep level, status`,
	`{job="api"} | json m="req.method" | drop __error__, __error_details__ | label_format m="{{ lower .m }}"`,
	`{job="systemd-journal"} |~ "(?i)fatal" | pattern "<what>: <_>"`,
}

// lokiLogs runs a log query_range over [start, end) backward.
func (c *lokiClient) logs(ctx context.Context, expr string, start, end time.Time, limit int) ([]logstream.Stream, string, error) {
	q := url.Values{"query": {expr}, "start": {strconv.FormatInt(start.UnixNano(), 10)},
		"end": {strconv.FormatInt(end.UnixNano(), 10)}, "limit": {strconv.Itoa(limit)}, "direction": {"backward"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url+"/loki/api/v1/query_range?"+q.Encode(), nil)
	if err != nil {
		return nil, "", err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, strings.TrimSpace(string(body)), nil
	}
	var r struct {
		Data struct {
			Result []struct {
				Stream map[string]string `json:"stream"`
				Values [][2]string       `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, "", err
	}
	var out []logstream.Stream
	for _, s := range r.Data.Result {
		ls := series.Labels{}
		for k, v := range s.Stream {
			ls = append(ls, series.Label{Name: k, Value: v})
		}
		ls.Sort()
		st := logstream.Stream{Labels: ls}
		for _, v := range s.Values {
			ns, err := strconv.ParseInt(v[0], 10, 64)
			if err != nil {
				return nil, "", err
			}
			st.Entries = append(st.Entries, logstream.Entry{T: time.Unix(0, ns).UTC(), Line: v[1]})
		}
		out = append(out, st)
	}
	return out, "", nil
}

// flattenLogs renders streams as sorted "labels ts line" rows.
func flattenLogs(ss []logstream.Stream) []string {
	var out []string
	for _, s := range ss {
		for _, e := range s.Entries {
			out = append(out, fmt.Sprintf("%s %d %q", s.Labels, e.T.UnixNano(), e.Line))
		}
	}
	sort.Strings(out)
	return out
}
