package mqlengine_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hlalert/hlalert/alerts/series"
)

// vmClient talks to a real VictoriaMetrics single node.
type vmClient struct {
	base string
	hc   *http.Client
}

// remoteWrite sends the series with Prometheus remote write. It is the one
// ingestion path of VictoriaMetrics that keeps staleness markers: the JSON
// import (/api/v1/import) turns null and "NaN" into a plain NaN, and
// VictoriaMetrics drops plain NaN samples when it stores them
// (lib/storage/storage.go: "Skip NaNs other than Prometheus staleness marker").
//
// The protobuf is written by hand (WriteRequest{timeseries=1}, TimeSeries
// {labels=1, samples=2}, Label{name=1, value=2}, Sample{value=1 double,
// timestamp=2 int64}) and framed as a snappy block made of literals only,
// which every snappy decoder accepts; this keeps the main module free of
// protobuf and snappy dependencies.
func (c *vmClient) remoteWrite(ctx context.Context, ss []genSeries) error {
	const batch = 20
	for i := 0; i < len(ss); i += batch {
		body := encodeWriteRequest(ss[i:min(i+batch, len(ss))])
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/v1/write", bytes.NewReader(snappyLiteralBlock(body)))
		if err != nil {
			return fmt.Errorf("remote write: %w", err)
		}
		req.Header.Set("Content-Type", "application/x-protobuf")
		req.Header.Set("Content-Encoding", "snappy")
		req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
		resp, err := c.hc.Do(req)
		if err != nil {
			return fmt.Errorf("remote write: %w", err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("remote write: HTTP %d: %s", resp.StatusCode, msg)
		}
	}
	return nil
}

func appendPBTag(b []byte, field, wire int) []byte {
	return binary.AppendUvarint(b, uint64(field<<3|wire))
}

func appendPBBytes(b []byte, field int, v []byte) []byte {
	b = appendPBTag(b, field, 2)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func encodeWriteRequest(ss []genSeries) []byte {
	var out, ts, msg []byte
	for _, s := range ss {
		ts = ts[:0]
		for _, l := range s.Labels {
			msg = appendPBBytes(msg[:0], 1, []byte(l.Name))
			msg = appendPBBytes(msg, 2, []byte(l.Value))
			ts = appendPBBytes(ts, 1, msg)
		}
		for _, smp := range s.Samples {
			msg = appendPBTag(msg[:0], 1, 1)
			msg = binary.LittleEndian.AppendUint64(msg, math.Float64bits(smp.V))
			msg = appendPBTag(msg, 2, 0)
			msg = binary.AppendUvarint(msg, uint64(smp.T))
			ts = appendPBBytes(ts, 2, msg)
		}
		out = appendPBBytes(out, 1, ts)
	}
	return out
}

// snappyLiteralBlock frames data as a snappy block of literal elements.
func snappyLiteralBlock(data []byte) []byte {
	out := binary.AppendUvarint(nil, uint64(len(data)))
	for len(data) > 0 {
		n := min(len(data), 1<<16)
		switch m := n - 1; {
		case m < 60:
			out = append(out, byte(m<<2))
		case m < 1<<8:
			out = append(out, 60<<2, byte(m))
		default:
			out = append(out, 61<<2, byte(m), byte(m>>8))
		}
		out = append(out, data[:n]...)
		data = data[n:]
	}
	return out
}

// flush makes everything written so far searchable.
func (c *vmClient) flush(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/internal/force_flush", nil)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("force_flush: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("force_flush: HTTP %d", resp.StatusCode)
	}
	return nil
}

// exportAll returns every stored raw sample (staleness markers included) by
// label key, from /api/v1/export.
func (c *vmClient) exportAll(ctx context.Context, start, end time.Time) (map[string]*genSeries, error) {
	q := url.Values{}
	q.Set("match[]", `{__name__=~".+"}`)
	q.Set("start", strconv.FormatInt(start.Unix(), 10))
	q.Set("end", strconv.FormatInt(end.Unix(), 10))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/api/v1/export?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("export: HTTP %d: %s", resp.StatusCode, msg)
	}
	out := map[string]*genSeries{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 64<<20)
	line := 0
	for sc.Scan() {
		line++
		var row struct {
			Metric     map[string]string `json:"metric"`
			Values     []json.RawMessage `json:"values"`
			Timestamps []int64           `json:"timestamps"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			return nil, fmt.Errorf("export line %d: %w", line, err)
		}
		if len(row.Values) != len(row.Timestamps) {
			return nil, fmt.Errorf("export line %d: %d values, %d timestamps", line, len(row.Values), len(row.Timestamps))
		}
		ls := series.FromMap(row.Metric)
		s := out[ls.Key()]
		if s == nil {
			s = &genSeries{Labels: ls}
			out[ls.Key()] = s
		}
		for i, raw := range row.Values {
			v, err := parseExportValue(raw)
			if err != nil {
				return nil, fmt.Errorf("export line %d value %d: %w", line, i, err)
			}
			s.Samples = append(s.Samples, series.Sample{T: row.Timestamps[i], V: v})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return out, nil
}

func parseExportValue(raw json.RawMessage) (float64, error) {
	switch s := string(raw); s {
	case "null":
		return math.NaN(), nil // NaN in the export is only ever the staleness marker
	case `"Infinity"`:
		return math.Inf(1), nil
	case `"-Infinity"`:
		return math.Inf(-1), nil
	default:
		return strconv.ParseFloat(s, 64)
	}
}

// vmResult is one answer of /api/v1/query: a vector, or an error.
type vmResult struct {
	Vec series.Vector
	Err error // the error VictoriaMetrics reported for the query
	// Executed is true when VictoriaMetrics parsed the query and failed
	// while running it (HTTP 422), false for a bad request (HTTP 400).
	Executed bool
}

// query asks /api/v1/query as vmalert does (time with millisecond fraction,
// step = the group interval, nocache); step 0 sends no step. A transport failure or an answer that
// cannot be parsed is returned as the error; an error VictoriaMetrics reports
// for the query is in vmResult.Err.
func (c *vmClient) query(ctx context.Context, expr string, at int64, step time.Duration) (vmResult, error) {
	q := url.Values{}
	q.Set("query", expr)
	q.Set("time", formatUnixMillis(at))
	if step > 0 {
		q.Set("step", strconv.FormatFloat(step.Seconds(), 'f', -1, 64))
	}
	q.Set("nocache", "1")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/api/v1/query?"+q.Encode(), nil)
	if err != nil {
		return vmResult{}, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return vmResult{}, fmt.Errorf("query %q: %w", expr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return vmResult{}, fmt.Errorf("query %q: read answer: %w", expr, err)
	}
	return parseVMQueryResponse(resp.StatusCode, body)
}

func formatUnixMillis(t int64) string {
	sign := ""
	if t < 0 {
		sign, t = "-", -t
	}
	return fmt.Sprintf("%s%d.%03d", sign, t/1000, t%1000)
}

// parseVMQueryResponse decodes an /api/v1/query answer. VictoriaMetrics
// answers instant queries with resultType "vector" (scalars included, with
// an empty metric); "scalar" is accepted too, as Prometheus sends it.
func parseVMQueryResponse(status int, body []byte) (vmResult, error) {
	var r struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return vmResult{}, fmt.Errorf("HTTP %d: decode answer: %w: %.200s", status, err, body)
	}
	if r.Status != "success" {
		if r.Status == "error" && status/100 == 4 {
			return vmResult{Err: fmt.Errorf("%s: %s", r.ErrorType, r.Error), Executed: status == http.StatusUnprocessableEntity}, nil
		}
		return vmResult{}, fmt.Errorf("HTTP %d: status %q: %s: %s", status, r.Status, r.ErrorType, r.Error)
	}
	switch r.Data.ResultType {
	case "vector":
		var items []struct {
			Metric map[string]string `json:"metric"`
			Value  []json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(r.Data.Result, &items); err != nil {
			return vmResult{}, fmt.Errorf("decode vector: %w", err)
		}
		vec := make(series.Vector, 0, len(items))
		for i, it := range items {
			t, v, err := parseVMPoint(it.Value)
			if err != nil {
				return vmResult{}, fmt.Errorf("vector item %d: %w", i, err)
			}
			vec = append(vec, series.Point{Labels: series.FromMap(it.Metric), T: t, V: v})
		}
		return vmResult{Vec: vec}, nil
	case "scalar":
		var pt []json.RawMessage
		if err := json.Unmarshal(r.Data.Result, &pt); err != nil {
			return vmResult{}, fmt.Errorf("decode scalar: %w", err)
		}
		t, v, err := parseVMPoint(pt)
		if err != nil {
			return vmResult{}, fmt.Errorf("scalar: %w", err)
		}
		return vmResult{Vec: series.Vector{{Labels: series.Labels{}, T: t, V: v}}}, nil
	default:
		return vmResult{}, fmt.Errorf("unexpected resultType %q (an instant query must give a vector)", r.Data.ResultType)
	}
}

// parseVMPoint decodes [unix_seconds, "value"].
func parseVMPoint(p []json.RawMessage) (int64, float64, error) {
	if len(p) != 2 {
		return 0, 0, fmt.Errorf("point has %d elements, want 2", len(p))
	}
	var secs json.Number
	if err := json.Unmarshal(p[0], &secs); err != nil {
		return 0, 0, fmt.Errorf("timestamp: %w", err)
	}
	f, err := strconv.ParseFloat(string(secs), 64)
	if err != nil {
		return 0, 0, fmt.Errorf("timestamp: %w", err)
	}
	var s string
	if err := json.Unmarshal(p[1], &s); err != nil {
		return 0, 0, fmt.Errorf("value: %w", err)
	}
	v, err := strconv.ParseFloat(s, 64) // accepts NaN, +Inf, -Inf
	if err != nil {
		return 0, 0, fmt.Errorf("value: %w", err)
	}
	return int64(math.Round(f * 1000)), v, nil
}
