package dashboards

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"

	"github.com/VictoriaMetrics/metricsql"

	"github.com/hlalert/hlalert/alerts/rulefmt"
)

// Thresholds are the values at which the shipped alerting rules fire, read
// from the rule files so that a board turns red exactly where an alert
// fires. Each field names the rule it comes from.
type Thresholds struct {
	BackupAge          float64 // BackupStale: seconds since the last successful run
	SnapshotAge        float64 // BackupSnapshotStale: seconds since a host's newest snapshot
	RestoreTestAge     float64 // BackupRestoreTestStale: seconds since a verified restore
	ScrubAge           float64 // ZfsScrubStale: seconds since the last scrub ended
	PoolCapacity       float64 // ZfsPoolAlmostFull: capacity ratio 0–1
	GenerationAge      float64 // NixosGenerationOld: seconds since the running generation was built
	RecordingAge       float64 // CameraNotRecording: seconds since the newest segment ended
	DiskTemperature    float64 // DiskTooHot: °C
	NvmeWear           float64 // NvmeWearHigh: endurance used 0–1
	NvrStorageUsed     float64 // NvrStorageAlmostFull: used/size 0–1
	CollectorDataStale float64 // CollectorDataStale: seconds since a collector's last success
}

// thresholdRules maps each field of Thresholds to its alerting rule.
func (t *Thresholds) fields() map[string]*float64 {
	return map[string]*float64{
		"BackupStale":            &t.BackupAge,
		"BackupSnapshotStale":    &t.SnapshotAge,
		"BackupRestoreTestStale": &t.RestoreTestAge,
		"ZfsScrubStale":          &t.ScrubAge,
		"ZfsPoolAlmostFull":      &t.PoolCapacity,
		"NixosGenerationOld":     &t.GenerationAge,
		"CameraNotRecording":     &t.RecordingAge,
		"DiskTooHot":             &t.DiskTemperature,
		"NvmeWearHigh":           &t.NvmeWear,
		"NvrStorageAlmostFull":   &t.NvrStorageUsed,
		"CollectorDataStale":     &t.CollectorDataStale,
	}
}

// LoadThresholds reads the rule files in dir (*.rules.yml) and returns the
// thresholds of the rules Thresholds names. A missing rule, or one whose
// expression is not "EXPR > NUMBER", is an error naming the rule's position.
func LoadThresholds(dir string) (Thresholds, error) {
	files, errs := rulefmt.LoadGlobs([]string{filepath.Join(dir, "*.rules.yml")})
	if len(errs) > 0 {
		return Thresholds{}, fmt.Errorf("load rules: %w", errors.Join(errs...))
	}
	return ThresholdsFrom(files)
}

// ThresholdsFrom extracts the thresholds from loaded rule files.
func ThresholdsFrom(files []*rulefmt.File) (Thresholds, error) {
	var t Thresholds
	want := t.fields()
	found := map[string]bool{}
	var errs []error
	for _, f := range files {
		for _, g := range f.Groups {
			for _, r := range g.Rules {
				dst, ok := want[r.Alert]
				if !ok {
					continue
				}
				found[r.Alert] = true
				v, err := comparedNumber(r.Expr)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %s: %w", r.Pos, r.What(), err))
					continue
				}
				*dst = v
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if !found[name] {
			errs = append(errs, fmt.Errorf("alerting rule %q: not found in the rule files (the dashboards read its threshold)", name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Thresholds{}, err
	}
	return t, nil
}

// comparedNumber returns N of an expression "EXPR > N" (constants folded,
// as 26 * 3600).
func comparedNumber(expr string) (float64, error) {
	e, err := metricsql.Parse(expr)
	if err != nil {
		return 0, fmt.Errorf("parse %q: %w", expr, err)
	}
	be, ok := e.(*metricsql.BinaryOpExpr)
	if !ok || be.Op != ">" || be.Bool {
		return 0, fmt.Errorf("expression %q is not of the form EXPR > NUMBER", expr)
	}
	n, ok := be.Right.(*metricsql.NumberExpr)
	if !ok {
		return 0, fmt.Errorf("expression %q does not compare with a number", expr)
	}
	return n.N, nil
}
