// Package dashboards builds hlalert's Grafana dashboards as code with the
// Grafana Foundation SDK. The JSON files beside this package are its output,
// provisioned as they are by the NixOS modules; `go generate
// ./dashboards/...` rewrites them from the code and the rule files'
// thresholds, and a test fails when they are stale.
package dashboards

//go:generate go run ./gen -rules ../rules -out . -root .. -preview preview

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Render returns each board's file name and JSON (indented, newline at the
// end), in the order of Boards.
func Render(th Thresholds) ([]string, map[string][]byte, error) {
	boards, err := Boards(th)
	if err != nil {
		return nil, nil, err
	}
	names := make([]string, 0, len(boards))
	out := map[string][]byte{}
	for _, b := range boards {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(b.Dashboard); err != nil {
			return nil, nil, fmt.Errorf("encode %s: %w", b.File, err)
		}
		names = append(names, b.File)
		out[b.File] = buf.Bytes()
	}
	return names, out, nil
}

// Generate reads the thresholds from rulesDir and writes every board into
// outDir.
func Generate(rulesDir, outDir string) error {
	th, err := LoadThresholds(rulesDir)
	if err != nil {
		return err
	}
	names, files, err := Render(th)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(outDir, n), files[n], 0o644); err != nil {
			return fmt.Errorf("write board: %w", err)
		}
	}
	return nil
}

// Stale compares the JSON files in dir with what the code renders for th
// and names each file that differs, is missing, or is a *.json the code
// does not produce.
func Stale(dir string, th Thresholds) ([]string, error) {
	names, files, err := Render(th)
	if err != nil {
		return nil, err
	}
	var stale []string
	for _, n := range names {
		got, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil || !bytes.Equal(got, files[n]) {
			stale = append(stale, n)
		}
	}
	present, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("list boards: %w", err)
	}
	for _, p := range present {
		if _, ok := files[filepath.Base(p)]; !ok {
			stale = append(stale, filepath.Base(p))
		}
	}
	return stale, nil
}

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }
