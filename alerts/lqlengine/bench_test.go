package lqlengine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/logstream"
	"github.com/hlalert/hlalert/alerts/series"
)

// benchStore holds an hour of a busy homelab journal: 3 hosts × 5 units,
// one line every 2 s per stream (27 000 lines).
func benchStore(b *testing.B) *logstream.Store {
	st := logstream.NewStore()
	units := []string{"sshd.service", "kernel", "zfs-zed.service", "nginx.service", "app.service"}
	for h := 0; h < 3; h++ {
		for u, unit := range units {
			ls := series.FromStrings("job", "systemd-journal", "host", fmt.Sprintf("host%d", h), "unit", unit)
			for i := 0; i < 1800; i++ {
				line := fmt.Sprintf(`level=%s msg="request %d" status=%d duration=%dms user=u%d`,
					[]string{"info", "warn", "error"}[i%3], i, 200+100*(i%4), i%500, (i*7+u)%13)
				if err := st.Append(ls, logstream.Entry{T: t0.Add(time.Duration(i) * 2 * time.Second), Line: line}); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	return st
}

func BenchmarkQuery(b *testing.B) {
	st := benchStore(b)
	e := New(st)
	at := t0.Add(time.Hour)
	for _, q := range []string{
		`sum by (host) (count_over_time({job="systemd-journal"} |= "error" [5m]))`,
		`sum by (host, level) (count_over_time({job="systemd-journal"} | logfmt [5m]))`,
		`quantile_over_time(0.99, {job="systemd-journal"} | logfmt | unwrap duration(duration) | __error__="" [10m]) by (host)`,
		`sum by (host) (rate({job="systemd-journal", unit="sshd.service"} |~ "status=(5|4)00" [1h])) > 0`,
	} {
		b.Run(q, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.QueryVector(ctx, q, at); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
