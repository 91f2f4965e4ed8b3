package series

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"sync"
)

// Matcher selects series by one label.
type Matcher struct {
	Name     string
	Value    string
	Negative bool // != or !~
	Regexp   bool // =~ or !~
	re       *regexp.Regexp
}

// NewMatcher builds a matcher; regexps are anchored as in PromQL.
func NewMatcher(name, value string, negative, isRegexp bool) (Matcher, error) {
	m := Matcher{Name: name, Value: value, Negative: negative, Regexp: isRegexp}
	if isRegexp {
		re, err := regexp.Compile("^(?s:" + value + ")$")
		if err != nil {
			return Matcher{}, fmt.Errorf("label %s: bad regexp %q: %w", name, value, err)
		}
		m.re = re
	}
	return m, nil
}

// Matches tells whether a label value satisfies the matcher ("" when absent).
func (m Matcher) Matches(v string) bool {
	var ok bool
	if m.Regexp {
		ok = m.re.MatchString(v)
	} else {
		ok = v == m.Value
	}
	return ok != m.Negative
}

// Store is an in-memory series store, safe for concurrent use. Samples of a
// series are kept in time order; an append older than the newest sample of
// its series is rejected. Regular stretches (AppendRun) stay compact until
// a query reads them.
type Store struct {
	mu     sync.RWMutex
	series map[string]*stored
}

// stored is a series: its parts in time order. Most series have one part
// of explicit samples.
type stored struct {
	labels Labels
	parts  []part
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{series: map[string]*stored{}} }

// get returns the series named by ls, creating it; s.mu must be held.
func (s *Store) get(ls Labels) *stored {
	k := ls.Key()
	sr := s.series[k]
	if sr == nil {
		sr = &stored{labels: ls.Copy()}
		s.series[k] = sr
	}
	return sr
}

// Append adds one sample to the series named by ls (sorted).
func (s *Store) Append(ls Labels, t int64, v float64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sr := s.get(ls)
	n := len(sr.parts)
	if n == 0 {
		sr.parts = append(sr.parts, part{samples: []Sample{{t, v}}})
		return nil
	}
	p := &sr.parts[n-1]
	last := p.last()
	switch {
	case t < last:
		return fmt.Errorf("series %s: sample at %d is older than the newest at %d", ls, t, last)
	case p.isRun() && t == last: // the run's last sample is replaced
		p.run.N--
		if p.run.N == 0 {
			sr.parts = sr.parts[:n-1]
		}
		sr.parts = append(sr.parts, part{samples: []Sample{{t, v}}})
	case p.isRun():
		sr.parts = append(sr.parts, part{samples: []Sample{{t, v}}})
	case t == last:
		p.samples[len(p.samples)-1].V = v
	default:
		p.samples = append(p.samples, Sample{t, v})
	}
	return nil
}

// Select returns the series matching all matchers with their samples in
// [mint, maxt], sorted by labels. The returned samples must not be modified.
func (s *Store) Select(ms []Matcher, mint, maxt int64) []Series {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Series
	for _, sr := range s.series {
		if !matchAll(sr.labels, ms) {
			continue
		}
		if smp := sr.between(mint, maxt); len(smp) > 0 {
			out = append(out, Series{Labels: sr.labels, Samples: smp})
		}
	}
	sort.Slice(out, func(i, j int) bool { return Compare(out[i].Labels, out[j].Labels) < 0 })
	return out
}

// between returns the samples in [mint, maxt]: a slice of the stored ones
// when they lie in one part of explicit samples, else a new slice.
func (sr *stored) between(mint, maxt int64) []Sample {
	var out []Sample
	copied := false
	for _, p := range sr.parts {
		if p.last() < mint || p.first() > maxt {
			continue
		}
		var smp []Sample
		if p.isRun() {
			smp = p.run.samples(p.run.span(mint, maxt))
		} else {
			lo := sort.Search(len(p.samples), func(i int) bool { return p.samples[i].T >= mint })
			hi := sort.Search(len(p.samples), func(i int) bool { return p.samples[i].T > maxt })
			smp = p.samples[lo:hi:hi]
		}
		switch {
		case len(smp) == 0:
		case out == nil:
			out = smp
			copied = p.isRun()
		case !copied:
			out = append(slices.Clip(slices.Clone(out)), smp...)
			copied = true
		default:
			out = append(out, smp...)
		}
	}
	return out
}

// DropBefore forgets samples older than t and series left empty.
func (s *Store) DropBefore(t int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, sr := range s.series {
		i := 0
		for i < len(sr.parts) && sr.parts[i].last() < t {
			i++
		}
		if i == len(sr.parts) {
			delete(s.series, k)
			continue
		}
		sr.parts = sr.parts[i:]
		p := &sr.parts[0]
		if p.isRun() {
			if lo, _ := p.run.span(t, p.run.last()); lo > 0 {
				p.run = p.run.skip(lo)
			}
			continue
		}
		j := sort.Search(len(p.samples), func(i int) bool { return p.samples[i].T >= t })
		p.samples = append([]Sample(nil), p.samples[j:]...)
	}
}

// Len returns the number of series.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.series)
}

func matchAll(ls Labels, ms []Matcher) bool {
	for _, m := range ms {
		if !m.Matches(ls.Get(m.Name)) {
			return false
		}
	}
	return true
}
