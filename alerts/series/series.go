// Package series holds the data model shared by the embedded query engines,
// the rule engine and the test runner: label sets, samples, instant vectors
// and an in-memory series store.
package series

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// MetricName is the label that holds a series' metric name.
const MetricName = "__name__"

// Label is one name/value pair.
type Label struct {
	Name, Value string
}

// Labels is a label set sorted by name. The metric name, when present, is the
// __name__ label.
type Labels []Label

// FromMap builds a sorted label set; empty values are dropped, as Prometheus
// and VictoriaMetrics treat an empty label as an absent one.
func FromMap(m map[string]string) Labels {
	ls := make(Labels, 0, len(m))
	for k, v := range m {
		if v == "" {
			continue
		}
		ls = append(ls, Label{k, v})
	}
	ls.Sort()
	return ls
}

// FromStrings builds a label set from name, value pairs.
func FromStrings(kv ...string) Labels {
	ls := make(Labels, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			continue
		}
		ls = append(ls, Label{kv[i], kv[i+1]})
	}
	ls.Sort()
	return ls
}

// Sort orders the labels by name.
func (ls Labels) Sort() {
	slices.SortFunc(ls, func(a, b Label) int { return strings.Compare(a.Name, b.Name) })
}

// Get returns the value of a label, or "" when it is absent.
func (ls Labels) Get(name string) string {
	for _, l := range ls {
		if l.Name == name {
			return l.Value
		}
	}
	return ""
}

// Has tells whether the label is present.
func (ls Labels) Has(name string) bool {
	for _, l := range ls {
		if l.Name == name {
			return true
		}
	}
	return false
}

// Map returns the labels as a map.
func (ls Labels) Map() map[string]string {
	m := make(map[string]string, len(ls))
	for _, l := range ls {
		m[l.Name] = l.Value
	}
	return m
}

// Copy returns an independent copy.
func (ls Labels) Copy() Labels { return slices.Clone(ls) }

// Equal tells whether two sorted label sets are identical.
func (ls Labels) Equal(o Labels) bool { return slices.Equal(ls, o) }

// Compare orders label sets, name by name then value by value.
func Compare(a, b Labels) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if c := strings.Compare(a[i].Name, b[i].Name); c != 0 {
			return c
		}
		if c := strings.Compare(a[i].Value, b[i].Value); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}

// String renders the set as metric{a="b", c="d"}.
func (ls Labels) String() string {
	var b strings.Builder
	b.WriteString(ls.Get(MetricName))
	b.WriteByte('{')
	first := true
	for _, l := range ls {
		if l.Name == MetricName {
			continue
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		b.WriteString(l.Name)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(l.Value))
	}
	b.WriteByte('}')
	return b.String()
}

// Key is a compact, unambiguous identity of the label set, for map keys.
func (ls Labels) Key() string {
	var b strings.Builder
	for _, l := range ls {
		b.WriteString(l.Name)
		b.WriteByte(0xff)
		b.WriteString(l.Value)
		b.WriteByte(0xfe)
	}
	return b.String()
}

// Sample is one value at a time in milliseconds since the Unix epoch.
type Sample struct {
	T int64
	V float64
}

// StaleNaN is the Prometheus staleness marker: a NaN with a reserved bit
// pattern that ends a series.
var StaleNaN = math.Float64frombits(staleNaNBits)

const staleNaNBits = 0x7ff0000000000002

// IsStaleNaN tells whether v is the staleness marker (not any NaN).
func IsStaleNaN(v float64) bool { return math.Float64bits(v) == staleNaNBits }

// Series is a label set and its samples in time order.
type Series struct {
	Labels  Labels
	Samples []Sample
}

// Point is one element of an instant vector.
type Point struct {
	Labels Labels
	T      int64
	V      float64
}

// Vector is the result of an instant query.
type Vector []Point

// Sort orders the vector by labels, for stable output and comparisons.
func (v Vector) Sort() {
	slices.SortFunc(v, func(a, b Point) int { return Compare(a.Labels, b.Labels) })
}
