package unittest

// Check validates a test file without running it, as hlalert check does:
// strict decoding, value notation, labels, that its rule files load, and
// that its query expressions parse and use only what the embedded engine
// supports.
func Check(path string) []error {
	f, errs := ReadFile(path)
	if len(errs) > 0 {
		return errs
	}
	if err := f.MissingRuleFiles(); err != nil {
		errs = append(errs, err)
	} else if len(f.RuleFiles) > 0 {
		_, rerrs := loadRules(f, Options{})
		errs = append(errs, ruleFileErrors(f, rerrs)...)
	}
	return append(errs, CheckTests(f)...)
}
