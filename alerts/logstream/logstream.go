// Package logstream holds log streams in memory: a stream is a label set and
// its entries in time order, as Loki stores them. The embedded LogQL engine
// (alerts/lqlengine) reads a Store; `hlalert test` fills one from test files
// and the standalone mode from Loki's push API.
package logstream

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/hlalert/hlalert/alerts/series"
)

// Entry is one log line at a time.
type Entry struct {
	T    time.Time
	Line string
}

// Stream is a label set and its entries sorted by time (entries with the
// same time keep their arrival order).
type Stream struct {
	Labels  series.Labels
	Entries []Entry
}

// Stats counts what a Store holds.
type Stats struct {
	Streams int
	Entries int64
	Bytes   int64 // sum of the lines' lengths
}

// Store is an in-memory set of streams, safe for concurrent use.
//
// Like Loki (unordered writes, the default since 2.4) it accepts entries out
// of order within a stream and drops an entry identical to one already stored
// (same time, same line).
type Store struct {
	mu      sync.RWMutex
	streams map[string]*Stream
	entries int64
	bytes   int64
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{streams: map[string]*Stream{}} }

// Append adds one entry to the stream named by ls (sorted, as series.FromMap
// returns it). A stream needs at least one label, as in Loki.
func (s *Store) Append(ls series.Labels, e Entry) error {
	if len(ls) == 0 {
		return fmt.Errorf("append %q: a stream needs at least one label", e.Line)
	}
	for _, l := range ls {
		if l.Name == "" || l.Value == "" {
			return fmt.Errorf("stream %s: empty label name or value", ls)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := ls.Key()
	st := s.streams[k]
	if st == nil {
		st = &Stream{Labels: ls.Copy()}
		s.streams[k] = st
	}
	n := len(st.Entries)
	if n == 0 || !e.T.Before(st.Entries[n-1].T) {
		// the common case: in order. Skip an exact duplicate among the
		// entries sharing the newest time.
		for i := n - 1; i >= 0 && st.Entries[i].T.Equal(e.T); i-- {
			if st.Entries[i].Line == e.Line {
				return nil
			}
		}
		st.Entries = append(st.Entries, e)
	} else {
		i := sort.Search(n, func(i int) bool { return st.Entries[i].T.After(e.T) })
		for j := i - 1; j >= 0 && st.Entries[j].T.Equal(e.T); j-- {
			if st.Entries[j].Line == e.Line {
				return nil
			}
		}
		st.Entries = append(st.Entries, Entry{})
		copy(st.Entries[i+1:], st.Entries[i:])
		st.Entries[i] = e
	}
	s.entries++
	s.bytes += int64(len(e.Line))
	return nil
}

// Select returns the streams whose labels satisfy every matcher, with their
// entries in [start, end) as Loki's range queries read them, sorted by
// labels. Streams with no entry in the range are left out. The returned
// entries must not be modified.
func (s *Store) Select(ms []series.Matcher, start, end time.Time) []Stream {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Stream
	for _, st := range s.streams {
		if !matchAll(st.Labels, ms) {
			continue
		}
		lo := sort.Search(len(st.Entries), func(i int) bool { return !st.Entries[i].T.Before(start) })
		hi := sort.Search(len(st.Entries), func(i int) bool { return !st.Entries[i].T.Before(end) })
		if lo >= hi {
			continue
		}
		out = append(out, Stream{Labels: st.Labels, Entries: st.Entries[lo:hi:hi]})
	}
	sort.Slice(out, func(i, j int) bool { return series.Compare(out[i].Labels, out[j].Labels) < 0 })
	return out
}

// LabelNames returns the label names of the streams with an entry in
// [start, end), sorted.
func (s *Store) LabelNames(start, end time.Time) []string {
	seen := map[string]bool{}
	for _, st := range s.Select(nil, start, end) {
		for _, l := range st.Labels {
			seen[l.Name] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// Prune forgets entries older than before, and streams left empty; it
// returns how many entries it dropped.
func (s *Store) Prune(before time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	dropped := 0
	for k, st := range s.streams {
		i := sort.Search(len(st.Entries), func(i int) bool { return !st.Entries[i].T.Before(before) })
		if i == 0 {
			continue
		}
		for _, e := range st.Entries[:i] {
			s.bytes -= int64(len(e.Line))
		}
		s.entries -= int64(i)
		dropped += i
		if i == len(st.Entries) {
			delete(s.streams, k)
			continue
		}
		st.Entries = append([]Entry(nil), st.Entries[i:]...)
	}
	return dropped
}

// Stats returns the current counts.
func (s *Store) Stats() Stats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return Stats{Streams: len(s.streams), Entries: s.entries, Bytes: s.bytes}
}

func matchAll(ls series.Labels, ms []series.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(ls.Get(m.Name)) {
			return false
		}
	}
	return true
}
