package unittest

import "math"

// promtoolEqual compares an expected and a got value as promtool does:
// exactly, or with fuzzy_compare within one step of the float grid.
func promtoolEqual(fuzzy bool) func(a, b float64) bool {
	return func(a, b float64) bool {
		if a == b {
			return true
		}
		return fuzzy && (math.Nextafter(a, math.Inf(-1)) == b || math.Nextafter(a, math.Inf(1)) == b)
	}
}
