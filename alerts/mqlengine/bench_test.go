package mqlengine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/series"
)

// benchStore holds 100 counter series (4 jobs x 25 instances) scraped every
// 15s for 2h, the shape of a homelab's node metrics.
func benchStore(b *testing.B) *series.Store {
	st := series.NewStore()
	for job := range 4 {
		for inst := range 25 {
			ls := series.FromStrings("__name__", "http_requests_total", "job", fmt.Sprintf("job%d", job),
				"instance", fmt.Sprintf("node%d:9100", inst), "code", "200")
			v := 0.0
			for i := range 2 * 60 * 4 {
				v += float64((i*7+inst)%13) + 1
				if err := st.Append(ls, base.Add(time.Duration(i)*15*time.Second).UnixMilli(), v); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	return st
}

func benchQuery(b *testing.B, q string) {
	e, err := New(benchStore(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	at := base.Add(2 * time.Hour)
	ctx := context.Background()
	if _, err := e.Query(ctx, q, at, time.Minute); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.Query(ctx, q, at, time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkQueryRateSumBy(b *testing.B) {
	benchQuery(b, `sum by (job) (rate(http_requests_total[5m])) > 1`)
}

func BenchmarkQueryBareSelector(b *testing.B) {
	benchQuery(b, `http_requests_total{job="job1"}`)
}

func BenchmarkQuerySubquery(b *testing.B) {
	benchQuery(b, `max_over_time(sum by (job) (rate(http_requests_total[5m]))[1h:1m])`)
}
