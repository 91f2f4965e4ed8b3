package unittest

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// Summary counts a run's outcomes.
type Summary struct {
	Files, UnusableFiles, Tests, Failed, Skipped int
}

// Summarize counts results.
func Summarize(results []FileResult) Summary {
	var s Summary
	for _, r := range results {
		s.Files++
		if len(r.Errs) > 0 {
			s.UnusableFiles++
		}
		for _, t := range r.Tests {
			switch {
			case t.Skipped:
				s.Skipped++
			case len(t.Failures) > 0:
				s.Tests++
				s.Failed++
			default:
				s.Tests++
			}
		}
	}
	return s
}

// WriteText prints a readable report: one line per file, and for each
// failed test its failures with expected-vs-got diffs.
func WriteText(w io.Writer, results []FileResult) {
	for _, r := range results {
		if len(r.Errs) > 0 {
			fmt.Fprintf(w, "ERROR %s: unusable test file\n", r.Path)
			for _, e := range r.Errs {
				fmt.Fprintf(w, "  %s\n", indent(e.Error(), "  "))
			}
			continue
		}
		failed, ran := 0, 0
		for _, t := range r.Tests {
			if t.Skipped {
				continue
			}
			ran++
			if len(t.Failures) > 0 {
				failed++
			}
		}
		if failed == 0 {
			fmt.Fprintf(w, "ok    %s (%s, %d tests)\n", r.Path, r.Format, ran)
			continue
		}
		fmt.Fprintf(w, "FAIL  %s (%s, %d of %d tests failed)\n", r.Path, r.Format, failed, ran)
		for _, t := range r.Tests {
			if len(t.Failures) == 0 {
				continue
			}
			fmt.Fprintf(w, "  --- FAIL %s: test %q\n", t.Pos, t.Name)
			for _, f := range t.Failures {
				fmt.Fprintf(w, "    %s\n", indent(f.String(), "    "))
			}
		}
	}
	s := Summarize(results)
	verdict := "PASS"
	if s.Failed > 0 || s.UnusableFiles > 0 {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "%s: %d files, %d tests, %d failed, %d skipped, %d unusable files\n",
		verdict, s.Files, s.Tests, s.Failed, s.Skipped, s.UnusableFiles)
}

func indent(s, prefix string) string {
	return strings.ReplaceAll(s, "\n", "\n"+prefix)
}

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

// WriteJUnit writes a JUnit XML report: a suite per file, a case per test;
// an unusable file is one case with an error.
func WriteJUnit(w io.Writer, results []FileResult) error {
	var out junitSuites
	for _, r := range results {
		s := junitSuite{Name: r.Path}
		if len(r.Errs) > 0 {
			var b strings.Builder
			for _, e := range r.Errs {
				b.WriteString(e.Error())
				b.WriteByte('\n')
			}
			s.Errors, s.Tests = 1, 1
			s.Cases = append(s.Cases, junitCase{Name: "load", Classname: r.Path, Time: "0", Error: &junitMessage{Message: "unusable test file", Body: b.String()}})
		}
		var total float64
		for _, t := range r.Tests {
			c := junitCase{Name: t.Name, Classname: r.Path, Time: fmt.Sprintf("%.3f", t.Duration.Seconds())}
			total += t.Duration.Seconds()
			s.Tests++
			switch {
			case t.Skipped:
				s.Skipped++
				c.Skipped = &junitMessage{Message: "not selected by --run"}
			case len(t.Failures) > 0:
				s.Failures++
				var b strings.Builder
				for _, f := range t.Failures {
					b.WriteString(f.String())
					b.WriteByte('\n')
				}
				c.Failure = &junitMessage{Message: fmt.Sprintf("%d checks failed", len(t.Failures)), Body: b.String()}
			}
			s.Cases = append(s.Cases, c)
		}
		s.Time = fmt.Sprintf("%.3f", total)
		out.Suites = append(out.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}
