package series

import (
	"fmt"
	"regexp"
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
// its series is rejected.
type Store struct {
	mu     sync.RWMutex
	series map[string]*Series
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{series: map[string]*Series{}} }

// Append adds one sample to the series named by ls (sorted).
func (s *Store) Append(ls Labels, t int64, v float64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := ls.Key()
	sr := s.series[k]
	if sr == nil {
		sr = &Series{Labels: ls.Copy()}
		s.series[k] = sr
	}
	if n := len(sr.Samples); n > 0 {
		last := sr.Samples[n-1].T
		if t < last {
			return fmt.Errorf("series %s: sample at %d is older than the newest at %d", ls, t, last)
		}
		if t == last {
			sr.Samples[n-1].V = v
			return nil
		}
	}
	sr.Samples = append(sr.Samples, Sample{t, v})
	return nil
}

// Select returns the series matching all matchers with their samples in
// [mint, maxt], sorted by labels. The returned samples must not be modified.
func (s *Store) Select(ms []Matcher, mint, maxt int64) []Series {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Series
	for _, sr := range s.series {
		if !matchAll(sr.Labels, ms) {
			continue
		}
		lo := sort.Search(len(sr.Samples), func(i int) bool { return sr.Samples[i].T >= mint })
		hi := sort.Search(len(sr.Samples), func(i int) bool { return sr.Samples[i].T > maxt })
		if lo >= hi {
			continue
		}
		out = append(out, Series{Labels: sr.Labels, Samples: sr.Samples[lo:hi:hi]})
	}
	sort.Slice(out, func(i, j int) bool { return Compare(out[i].Labels, out[j].Labels) < 0 })
	return out
}

// DropBefore forgets samples older than t and series left empty.
func (s *Store) DropBefore(t int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, sr := range s.series {
		i := sort.Search(len(sr.Samples), func(i int) bool { return sr.Samples[i].T >= t })
		if i == len(sr.Samples) {
			delete(s.series, k)
			continue
		}
		sr.Samples = append([]Sample(nil), sr.Samples[i:]...)
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
