package dashboards

import (
	"slices"
	"strings"
	"testing"
)

func thresholds(t *testing.T) Thresholds {
	t.Helper()
	th, err := LoadThresholds("../rules")
	if err != nil {
		t.Fatal(err)
	}
	return th
}

// TestCommittedBoardsFresh fails when the committed JSON differs from the
// code: run `go generate ./dashboards/...`.
func TestCommittedBoardsFresh(t *testing.T) {
	stale, err := Stale(".", thresholds(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(stale) > 0 {
		t.Errorf("stale boards %v: run go generate ./dashboards/...", stale)
	}
}

// TestStaleDetectsChange: a rule threshold that moves makes the committed
// boards stale (the backup boards colour at BackupStale's threshold).
func TestStaleDetectsChange(t *testing.T) {
	th := thresholds(t)
	th.BackupAge += 3600
	stale, err := Stale(".", th)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(stale, "overview.json") || !slices.Contains(stale, "backups.json") {
		t.Errorf("stale = %v, want overview.json and backups.json", stale)
	}
	if slices.Contains(stale, "hosts.json") {
		t.Errorf("hosts.json does not use the backup threshold, stale = %v", stale)
	}
}

func TestThresholdsFromRules(t *testing.T) {
	th := thresholds(t)
	if th.BackupAge != 26*3600 || th.ScrubAge != 35*86400 || th.PoolCapacity != 0.85 {
		t.Errorf("thresholds = %+v", th)
	}
	if _, err := LoadThresholds("testdata/rules-missing"); err == nil || !strings.Contains(err.Error(), `"BackupStale": not found`) {
		t.Errorf("missing rule: err = %v", err)
	}
	if _, err := LoadThresholds("testdata/rules-not-compared"); err == nil ||
		!strings.Contains(err.Error(), `backup.rules.yml:5:16: alerting rule "BackupStale": expression "time() - hlexporter_backup_last_successful_run_timestamp_seconds" is not of the form EXPR > NUMBER`) {
		t.Errorf("uncompared rule: err = %v", err)
	}
}

func TestUIDs(t *testing.T) {
	boards, err := Boards(thresholds(t))
	if err != nil {
		t.Fatal(err)
	}
	var uids []string
	for _, b := range boards {
		uids = append(uids, *b.Dashboard.Uid)
	}
	want := []string{"hlalert-overview", "hlalert-backups", "hlalert-storage", "hlalert-deploys", "hlalert-cameras", "hlalert-alerting", "hlalert-logs", "hlalert-hosts"}
	if !slices.Equal(uids, want) {
		t.Errorf("uids = %v, want %v", uids, want)
	}
}
