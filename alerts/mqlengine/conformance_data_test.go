package mqlengine_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/hlalert/hlalert/alerts/series"
)

// The conformance data set: a deterministic, homelab-shaped set of series that
// exercises the corners where engines disagree. It spans three hours from
// confStart, which sits just before a month and a day boundary so that the
// calendar functions change value inside the data.
//
// Values are kept to a few decimals so that VictoriaMetrics' decimal storage
// round-trips them exactly (checked after loading).

var confStart = time.Date(2025, 6, 30, 22, 30, 0, 0, time.UTC)

const confSpan = 3 * time.Hour

// genSeries is one generated series.
type genSeries struct {
	Labels  series.Labels
	Samples []series.Sample
}

type generator struct {
	rnd *rand.Rand
	out []genSeries
	t0  int64 // ms
}

func ms(d time.Duration) int64 { return d.Milliseconds() }

// round3 keeps three decimals, which VictoriaMetrics stores exactly.
func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// span describes when a series is scraped: [from, to) relative to the start,
// every interval, shifted by offset, skipping the gaps.
type span struct {
	from, to time.Duration
	interval time.Duration
	offset   time.Duration
	gaps     [][2]time.Duration // [from, to) without samples
}

func (s span) times() []time.Duration {
	var out []time.Duration
	to := s.to
	if to == 0 {
		to = confSpan
	}
	for d := s.from + s.offset; d < to; d += s.interval {
		inGap := false
		for _, g := range s.gaps {
			if d >= g[0] && d < g[1] {
				inGap = true
				break
			}
		}
		if !inGap {
			out = append(out, d)
		}
	}
	return out
}

func (g *generator) add(ls series.Labels, ts []time.Duration, value func(i int, d time.Duration) float64) *genSeries {
	s := genSeries{Labels: ls}
	for i, d := range ts {
		s.Samples = append(s.Samples, series.Sample{T: g.t0 + ms(d), V: value(i, d)})
	}
	g.out = append(g.out, s)
	return &g.out[len(g.out)-1]
}

// counter returns a value function of a counter that grows by random steps
// up to maxInc and resets to a small value at the given offsets.
func (g *generator) counter(maxInc int, resets ...time.Duration) func(int, time.Duration) float64 {
	v := float64(g.rnd.IntN(1000))
	next := 0
	return func(i int, d time.Duration) float64 {
		if next < len(resets) && d >= resets[next] {
			next++
			v = float64(g.rnd.IntN(3))
			return v
		}
		if i > 0 {
			v += float64(g.rnd.IntN(maxInc + 1))
		}
		return v
	}
}

// generateConformanceData builds the data set. It is deterministic.
func generateConformanceData() []genSeries {
	g := &generator{rnd: rand.New(rand.NewPCG(20250630, 1)), t0: confStart.UnixMilli()}
	m := time.Minute
	s := time.Second

	// Request counters: 2 jobs x 3 instances x 2 codes at 15s, with jittered
	// scrape offsets, counter resets, a gap and an instance that goes away.
	offsets := map[string]time.Duration{"n1": 0, "n2": 5500 * time.Millisecond, "n3": 11123 * time.Millisecond}
	for _, job := range []string{"api", "web"} {
		for _, inst := range []string{"n1", "n2", "n3"} {
			for _, code := range []string{"200", "500"} {
				sp := span{interval: 15 * s, offset: offsets[inst]}
				var resets []time.Duration
				maxInc := 20
				if code == "500" {
					maxInc = 2
				}
				switch {
				case job == "api" && inst == "n2":
					resets = []time.Duration{70 * m}
				case job == "web" && inst == "n3" && code == "500":
					resets = []time.Duration{100 * m, 101 * m}
				case job == "api" && inst == "n1" && code == "200":
					sp.gaps = [][2]time.Duration{{40 * m, 55 * m}}
				}
				if job == "web" && inst == "n3" {
					sp.to = 140 * m // the instance goes away
				}
				if job == "web" && inst == "n1" && code == "500" {
					sp.from = 35 * m // first error appears late
				}
				g.add(series.FromStrings("__name__", "http_requests_total", "job", job, "instance", inst, "code", code),
					sp.times(), g.counter(maxInc, resets...))
			}
		}
	}

	// up: 0/1 per target at 15s.
	for _, job := range []string{"node", "hass"} {
		for _, inst := range []string{"n1", "n2", "n3"} {
			sp := span{interval: 15 * s, offset: offsets[inst]}
			down := [2]time.Duration{-1, -1}
			if job == "node" && inst == "n2" {
				down = [2]time.Duration{30 * m, 42 * m}
			}
			if job == "hass" && inst == "n3" {
				down = [2]time.Duration{150 * m, 3 * time.Hour}
			}
			g.add(series.FromStrings("__name__", "up", "job", job, "instance", inst), sp.times(), func(_ int, d time.Duration) float64 {
				if d >= down[0] && d < down[1] {
					return 0
				}
				return 1
			})
		}
	}

	// Temperatures: gauges at 30s with fractional values; an outdoor sensor
	// crosses zero.
	for i, inst := range []string{"n1", "n2", "n3"} {
		for j, sensor := range []string{"cpu", "nvme"} {
			base := 40 + 5*float64(i) + 8*float64(j)
			phase := g.rnd.Float64() * 6
			g.add(series.FromStrings("__name__", "node_temp_celsius", "instance", inst, "sensor", sensor),
				span{interval: 30 * s, offset: offsets[inst]}.times(), func(_ int, d time.Duration) float64 {
					return round3(base + 6*math.Sin(phase+d.Minutes()/17) + g.rnd.Float64())
				})
		}
	}
	g.add(series.FromStrings("__name__", "node_temp_celsius", "instance", "n1", "sensor", "outdoor"),
		span{interval: 30 * s}.times(), func(_ int, d time.Duration) float64 {
			return round3(-4 + d.Minutes()/20 + g.rnd.Float64()*0.5)
		})

	// Disk free bytes: large integers at 1m, mostly decreasing, with a cleanup.
	for _, inst := range []string{"n1", "n2", "n3"} {
		for _, mount := range []string{"/", "/data"} {
			v := float64(200e9 + g.rnd.IntN(800e9))
			g.add(series.FromStrings("__name__", "disk_free_bytes", "instance", inst, "mount", mount),
				span{interval: m, offset: offsets[inst]}.times(), func(_ int, d time.Duration) float64 {
					if d == 90*m {
						v += 50e9
					}
					v -= float64(g.rnd.IntN(300e6))
					return v
				})
		}
	}

	// Backup freshness: a timestamp gauge that jumps when a backup succeeds.
	for k, job := range []string{"restic-home", "borg-nas"} {
		last := float64(confStart.Unix() - int64(3600*(k+1)))
		g.add(series.FromStrings("__name__", "backup_last_success_timestamp_seconds", "job", job),
			span{interval: m, offset: time.Duration(k) * 20 * s}.times(), func(_ int, d time.Duration) float64 {
				if job == "restic-home" && d%(30*m) == 0 && d > 0 {
					last = float64(confStart.Add(d).Unix())
				}
				if job == "borg-nas" && d == 150*m+20*s {
					last = float64(confStart.Add(d).Unix())
				}
				return last
			})
	}

	// Flapping targets at 1m: a steady one, one that starts late, one that
	// ends early, one with a long and a short gap.
	flappy := []struct {
		inst string
		sp   span
	}{
		{"n1", span{interval: m}},
		{"n2", span{interval: m, to: 90 * m}},
		{"n3", span{interval: m, gaps: [][2]time.Duration{{20 * m, 35 * m}, {100 * m, 102 * m}}}},
		{"n4", span{interval: m, from: 50 * m, offset: 17 * s}},
	}
	for _, f := range flappy {
		g.add(series.FromStrings("__name__", "flappy_up", "instance", f.inst), f.sp.times(), func(i int, _ time.Duration) float64 {
			return float64((i / 7) % 2)
		})
	}

	// Staleness markers at 15s: n1 goes stale at 60m and comes back at 90m,
	// then goes stale again at 150m07s and is back 53s later; n2 goes stale at
	// 120m for good; n3 has a marker as its very first sample.
	staleAt := func(ts []time.Duration, marks ...time.Duration) func(int, time.Duration) float64 {
		return func(i int, d time.Duration) float64 {
			for _, mk := range marks {
				if d == mk {
					return series.StaleNaN
				}
			}
			return round3(10 + float64(i%13)*0.25)
		}
	}
	{
		ts := append(span{interval: 15 * s, to: 60 * m}.times(), 60*m)
		ts = append(ts, span{from: 90 * m, interval: 15 * s, to: 150 * m}.times()...)
		ts = append(ts, 150*m+7*s)
		ts = append(ts, span{from: 151 * m, interval: 15 * s}.times()...)
		g.add(series.FromStrings("__name__", "stale_metric", "instance", "n1"), ts, staleAt(ts, 60*m, 150*m+7*s))
		ts2 := append(span{interval: 15 * s, offset: 3 * s, to: 120 * m}.times(), 120*m)
		g.add(series.FromStrings("__name__", "stale_metric", "instance", "n2"), ts2, staleAt(ts2, 120*m))
		ts3 := append([]time.Duration{10 * m}, span{from: 11 * m, interval: 15 * s, to: 40 * m}.times()...)
		g.add(series.FromStrings("__name__", "stale_metric", "instance", "n3"), ts3, staleAt(ts3, 10*m))
	}

	// Special values at 1m. VictoriaMetrics drops plain NaN samples when it
	// stores them; the embedded engine must behave as if they were absent.
	special := func(i int) float64 { return float64(i%5) + 1 }
	g.add(series.FromStrings("__name__", "weird_values", "kind", "inf"), span{interval: m}.times(), func(i int, _ time.Duration) float64 {
		if i%17 == 5 {
			return math.Inf(1)
		}
		return special(i)
	})
	g.add(series.FromStrings("__name__", "weird_values", "kind", "neginf"), span{interval: m}.times(), func(i int, _ time.Duration) float64 {
		if i%23 == 7 || i%23 == 8 {
			return math.Inf(-1)
		}
		return -special(i)
	})
	g.add(series.FromStrings("__name__", "weird_values", "kind", "nan"), span{interval: m}.times(), func(i int, _ time.Duration) float64 {
		if i%11 == 3 || (i >= 60 && i < 70) {
			return math.NaN()
		}
		return special(i)
	})
	g.add(series.FromStrings("__name__", "weird_values", "kind", "zero"), span{interval: m}.times(), func(int, time.Duration) float64 { return 0 })
	g.add(series.FromStrings("__name__", "weird_values", "kind", "neg"), span{interval: m}.times(), func(i int, _ time.Duration) float64 {
		return round3(-0.5 - float64(i%7)*0.125)
	})

	// A histogram per job at 15s: cumulative buckets.
	les := []string{"0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"}
	for _, job := range []string{"api", "web"} {
		n := len(span{interval: 15 * s}.times())
		counts := make([][]float64, len(les))
		for b := range counts {
			counts[b] = make([]float64, n)
		}
		var sum []float64
		total := 0.0
		cum := make([]float64, len(les))
		for i := range n {
			inc := 0.0
			for b := range les {
				add := float64(g.rnd.IntN(4 + 3*b))
				inc += add
				cum[b] += inc
				counts[b][i] = cum[b]
			}
			total += float64(g.rnd.IntN(1000)) / 100
			sum = append(sum, round3(total))
		}
		if job == "web" { // a reset of the whole histogram at 80m
			r := int((80 * m) / (15 * s))
			for b := range les {
				base := counts[b][r-1]
				for i := r; i < n; i++ {
					counts[b][i] -= base
				}
			}
		}
		for b, le := range les {
			cb := counts[b]
			g.add(series.FromStrings("__name__", "req_duration_seconds_bucket", "job", job, "le", le),
				span{interval: 15 * s}.times(), func(i int, _ time.Duration) float64 { return cb[i] })
		}
		last := counts[len(les)-1]
		g.add(series.FromStrings("__name__", "req_duration_seconds_count", "job", job),
			span{interval: 15 * s}.times(), func(i int, _ time.Duration) float64 { return last[i] })
		g.add(series.FromStrings("__name__", "req_duration_seconds_sum", "job", job),
			span{interval: 15 * s}.times(), func(i int, _ time.Duration) float64 { return sum[i] })
	}

	// Many series per selector: 60 gauges at 1m in 6 groups with distinct
	// values (no ties, so topk/bottomk are deterministic).
	for idx := range 60 {
		grp := fmt.Sprintf("g%d", idx%6)
		sp := span{interval: m, offset: time.Duration(idx%4) * 7 * s}
		if idx%10 == 9 {
			sp.to = 100 * m
		}
		if idx%15 == 4 {
			sp.from = 30 * m
		}
		g.add(series.FromStrings("__name__", "many_series", "idx", fmt.Sprintf("%02d", idx), "group", grp), sp.times(),
			func(_ int, _ time.Duration) float64 { return float64(g.rnd.IntN(1000)*100+idx) / 100 })
	}

	// Label collisions: two counters that differ only by metric name, and
	// gauges that differ only in a label dropped by aggregation.
	for _, name := range []string{"collide_a_total", "collide_b_total"} {
		g.add(series.FromStrings("__name__", name, "instance", "n1", "job", "node"), span{interval: 30 * s}.times(), g.counter(5))
	}
	for _, inst := range []string{"n1", "n2"} {
		g.add(series.FromStrings("__name__", "collide_gauge", "instance", inst, "pool", "tank"), span{interval: m}.times(),
			func(int, time.Duration) float64 { return float64(g.rnd.IntN(100)) })
	}

	// Info metric for joins (group_left), with a version change at 100m.
	for _, inst := range []string{"n1", "n2", "n3"} {
		for _, ver := range []string{"24.11", "25.05"} {
			sp := span{interval: m, offset: offsets[inst]}
			switch {
			case ver == "24.11" && inst == "n3":
				sp.to = 100 * m
			case ver == "25.05" && inst == "n3":
				sp.from = 100 * m
			case ver == "25.05":
				continue
			}
			g.add(series.FromStrings("__name__", "node_os_info", "instance", inst, "os", "nixos", "version", ver), sp.times(),
				func(int, time.Duration) float64 { return 1 })
		}
	}

	// Irregular scrapes: random intervals between 10s and 50s.
	for _, inst := range []string{"n1", "n2"} {
		var ts []time.Duration
		for d := time.Duration(g.rnd.IntN(10000)) * time.Millisecond; d < confSpan; d += 10*s + time.Duration(g.rnd.IntN(40000))*time.Millisecond {
			ts = append(ts, d)
		}
		g.add(series.FromStrings("__name__", "jitter_gauge", "instance", inst), ts,
			func(int, time.Duration) float64 { return round3(g.rnd.Float64() * 100) })
	}

	// A counter that dips a little (VictoriaMetrics takes a drop of less
	// than 1/8 as a partial reset) and resets for real once.
	{
		v := 1000.0
		g.add(series.FromStrings("__name__", "jittery_counter_total", "instance", "n1"), span{interval: 15 * s}.times(), func(i int, d time.Duration) float64 {
			switch {
			case i%41 == 20:
				v -= float64(1 + g.rnd.IntN(20)) // partial reset
			case d == 125*m:
				v = 3 // real reset
			default:
				v += float64(10 + g.rnd.IntN(10))
			}
			return v
		})
	}
	// A counter with gaps longer than any staleness interval, reset inside
	// the first gap.
	{
		v := 500.0
		g.add(series.FromStrings("__name__", "gappy_counter_total", "instance", "n1"),
			span{interval: 30 * s, gaps: [][2]time.Duration{{30 * m, 60 * m}, {100 * m, 105 * m}}}.times(), func(_ int, d time.Duration) float64 {
				if d == 60*m {
					v = 7
				}
				v += float64(g.rnd.IntN(6))
				return v
			})
	}
	// Slow scrapes: the lookbehind of bare selectors depends on the interval.
	for _, iv := range []time.Duration{2 * m, 5 * m, 10 * m, 30 * m} {
		g.add(series.FromStrings("__name__", "slow_gauge", "interval", iv.String()), span{interval: iv, offset: 20 * s}.times(),
			func(i int, _ time.Duration) float64 { return float64(i*3 + 1) })
	}
	// A series with one sample, and one with two.
	g.add(series.FromStrings("__name__", "one_shot", "instance", "n1"), []time.Duration{45 * m}, func(int, time.Duration) float64 { return 42 })
	g.add(series.FromStrings("__name__", "two_shot", "instance", "n1"), []time.Duration{45 * m, 46 * m}, func(i int, _ time.Duration) float64 { return float64(10 + i*5) })
	// A recording-rule style name.
	for _, job := range []string{"node", "hass"} {
		g.add(series.FromStrings("__name__", "job:up:avg5m", "job", job), span{interval: m, offset: 30 * s}.times(),
			func(i int, _ time.Duration) float64 { return float64(900+i%100) / 1000 })
	}
	// A large counter (near 2^52) with small increments.
	{
		v := 4e15
		g.add(series.FromStrings("__name__", "big_counter_total"), span{interval: 15 * s}.times(), func(int, time.Duration) float64 {
			v += float64(1 + g.rnd.IntN(9))
			return v
		})
	}
	// Tiny values.
	g.add(series.FromStrings("__name__", "tiny_gauge"), span{interval: 30 * s}.times(), func(int, time.Duration) float64 {
		return float64(1000+g.rnd.IntN(9000)) / 1e9
	})
	// A broken histogram: bucket counts that are not monotonic in le.
	{
		les := []string{"0.1", "1", "10", "+Inf"}
		scale := []float64{3, 2, 5, 6} // the 1 bucket grows slower than 0.1
		for b, le := range les {
			k := scale[b]
			g.add(series.FromStrings("__name__", "broken_bucket", "le", le), span{interval: m}.times(),
				func(i int, _ time.Duration) float64 { return float64(i) * k })
		}
	}

	// A dense series: 1s scrapes for ten minutes from 55m.
	g.add(series.FromStrings("__name__", "dense_gauge"), span{from: 55 * m, to: 65 * m, interval: s}.times(),
		func(i int, _ time.Duration) float64 { return float64(i%17) + 0.5 })
	// A scrape interval that changes from 15s to 2m at 60m and back to 15s at
	// 120m.
	{
		ts := span{interval: 15 * s, to: 60 * m}.times()
		ts = append(ts, span{from: 60 * m, interval: 2 * m, to: 120 * m}.times()...)
		ts = append(ts, span{from: 120*m + 15*s, interval: 15 * s}.times()...)
		g.add(series.FromStrings("__name__", "interval_change"), ts, func(i int, _ time.Duration) float64 { return float64(i) })
	}
	// A float counter (cpu seconds) with a target restart: a staleness
	// marker 7s after a sample, the counter back at a small value 1ms after
	// the marker.
	{
		var ts []time.Duration
		for _, d := range (span{interval: 15 * s}).times() {
			ts = append(ts, d)
			if d == 85*m {
				ts = append(ts, d+7*s, d+7*s+time.Millisecond)
			}
		}
		v := 12345.0
		g.add(series.FromStrings("__name__", "cpu_seconds_total", "instance", "n1"), ts, func(_ int, d time.Duration) float64 {
			switch d {
			case 85*m + 7*s:
				return series.StaleNaN
			case 85*m + 7*s + time.Millisecond:
				v = 0.25
				return v
			}
			v = round3(v + 0.25 + float64(g.rnd.IntN(1000))/1000)
			return v
		})
	}

	// Label values with characters that need escaping.
	g.add(series.FromStrings("__name__", "special_labels", "path", `/srv/a"b`, "msg", `back\slash`, "unicode", "größe"),
		span{interval: m}.times(), func(i int, _ time.Duration) float64 { return float64(i) })
	return g.out
}
