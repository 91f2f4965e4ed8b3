package rulefmt

// LoadFile reads and loads one rule file as MetricsQL (the tests' shorthand).
func LoadFile(path string) (*File, []error) {
	return loadFile(path, TypeMetricsQL)
}
