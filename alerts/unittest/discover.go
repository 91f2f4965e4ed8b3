package unittest

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/hlalert/hlalert/alerts/mqlengine"
	"github.com/hlalert/hlalert/alerts/yamlnode"
)

// Discover turns paths into test files: a file is taken as is; a folder is
// walked for *.yaml / *.yml files with a top-level tests: key.
func Discover(paths []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("test path: %w", err)
		}
		if !fi.IsDir() {
			add(p)
			continue
		}
		found, err := walkYAML(p, IsTestFile)
		if err != nil {
			return nil, err
		}
		for _, f := range found {
			add(f)
		}
	}
	return out, nil
}

// IsTestFile tells whether a file is YAML with a top-level tests: key.
func IsTestFile(path string) bool { return hasTopLevelKey(path, "tests") }

// IsRuleFile tells whether a file is YAML with a top-level groups: key.
func IsRuleFile(path string) bool { return hasTopLevelKey(path, "groups") }

func hasTopLevelKey(path, key string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil || len(doc.Content) == 0 {
		return false
	}
	return mappingHas(doc.Content[0], key)
}

// walkYAML lists the *.yaml and *.yml files under dir that keep accepts,
// sorted, skipping hidden folders.
func walkYAML(dir string, keep func(path string) bool) ([]string, error) {
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(path); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		if keep(path) {
			found = append(found, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", dir, err)
	}
	sort.Strings(found)
	return found, nil
}

// CheckTests checks what the tests of a decoded file query: every
// expression parses and the embedded engine supports it.
func CheckTests(f *File) []error {
	var errs []error
	for _, t := range f.Tests {
		for _, et := range t.ExprTests {
			if err := mqlengine.Check(et.Expr); err != nil {
				errs = append(errs, &yamlnode.Error{Pos: et.Pos, Msg: fmt.Sprintf("expr: %v", err)})
			}
		}
		errs = append(errs, checkLogTests(t)...)
	}
	return errs
}
