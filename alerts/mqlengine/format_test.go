package mqlengine

import "strconv"

// formatFloat writes a sample value the way the tests' expectations do.
func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
