package series

import "fmt"

// Run is a regular stretch of samples kept compactly: N samples at T,
// T+Step, T+2*Step, ... (milliseconds), whose values Fill computes on
// demand. A test's input series such as "0x10000000" (ten million zeros)
// costs a few bytes this way instead of 160 MB.
type Run struct {
	T, Step int64
	N       int64
	// Fill sets dst[k].V to the value of sample from+k (0-based in the
	// run), for k < len(dst).
	Fill func(from int64, dst []Sample)
}

func (r Run) last() int64 { return r.T + (r.N-1)*r.Step }

// span returns the indexes [lo, hi) of the run's samples in [mint, maxt].
func (r Run) span(mint, maxt int64) (lo, hi int64) {
	if maxt < r.T || mint > r.last() {
		return 0, 0
	}
	if mint > r.T {
		lo = (mint - r.T + r.Step - 1) / r.Step
	}
	hi = r.N
	if maxt < r.last() {
		hi = (maxt-r.T)/r.Step + 1
	}
	return lo, max(hi, lo)
}

// samples materialises the run's samples [lo, hi).
func (r Run) samples(lo, hi int64) []Sample {
	out := make([]Sample, hi-lo)
	for k := range out {
		out[k].T = r.T + (lo+int64(k))*r.Step
	}
	r.Fill(lo, out)
	return out
}

// part of a stored series: explicit samples, or a run.
type part struct {
	samples []Sample // explicit samples; nil for a run
	run     Run
}

func (p part) isRun() bool { return p.samples == nil }

func (p part) first() int64 {
	if p.isRun() {
		return p.run.T
	}
	return p.samples[0].T
}

func (p part) last() int64 {
	if p.isRun() {
		return p.run.last()
	}
	return p.samples[len(p.samples)-1].T
}

// AppendRun adds a run of samples to the series named by ls (sorted). The
// run must start after the series' newest sample.
func (s *Store) AppendRun(ls Labels, r Run) error {
	if r.N <= 0 {
		return nil
	}
	if r.Step <= 0 || r.Fill == nil {
		return fmt.Errorf("series %s: bad run (step %d)", ls, r.Step)
	}
	if r.N > 1 && (r.Step > (1<<62)/(r.N-1) || r.T > (1<<62)-(r.N-1)*r.Step) {
		return fmt.Errorf("series %s: a run of %d samples every %dms overflows the time range", ls, r.N, r.Step)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sr := s.get(ls)
	if n := len(sr.parts); n > 0 {
		if last := sr.parts[n-1].last(); r.T <= last {
			return fmt.Errorf("series %s: run starting at %d is not after the newest sample at %d", ls, r.T, last)
		}
	}
	sr.parts = append(sr.parts, part{run: r})
	return nil
}

// skip drops the run's first k samples.
func (r Run) skip(k int64) Run {
	fill := r.Fill
	return Run{T: r.T + k*r.Step, Step: r.Step, N: r.N - k, Fill: func(from int64, dst []Sample) { fill(from+k, dst) }}
}
