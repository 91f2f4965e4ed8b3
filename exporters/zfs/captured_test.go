package zfs

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/exporters/cmdrun"
	"github.com/hlalert/hlalert/exporters/serve/servetest"
)

// capturedDir holds outputs of OpenZFS 2.3.9 (Debian 13) captured in a
// throw-away VM by .ci/capture/vm: one folder per pool state, one file per
// command the collector runs (stdout in .out, stderr in .err, a non-zero
// exit status in .rc).
const capturedDir = "testdata/captured/openzfs-2.3.9"

var capturedFiles = map[string]string{
	jsonStatus:   "zpool-status-j-json-int",
	textStatus:   "zpool-status-p-s",
	jsonList:     "zpool-list-j-json-int",
	textList:     "zpool-list-Hp",
	jsonDatasets: "zfs-list-j-json-int",
	textDatasets: "zfs-list-Hp",
	snapshots:    "zfs-list-Hp-snapshots",
}

func capturedReplies(t *testing.T, dir string) map[string]cmdrun.Reply {
	t.Helper()
	replies := map[string]cmdrun.Reply{}
	for argv, base := range capturedFiles {
		out, err := os.ReadFile(filepath.Join(dir, base+".out"))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		r := cmdrun.Reply{Stdout: out}
		if b, err := os.ReadFile(filepath.Join(dir, base+".err")); err == nil {
			r.Stderr = b
		}
		if b, err := os.ReadFile(filepath.Join(dir, base+".rc")); err == nil {
			if r.ExitCode, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil {
				t.Fatalf("%s.rc: %v", base, err)
			}
		}
		replies[argv] = r
	}
	return replies
}

// Every captured pool state, through the whole collector, in both formats;
// and the JSON and text parsers must agree on what they read from the same
// pools.
func TestCapturedGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(capturedDir, "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no captures in %s: %v", capturedDir, err)
	}
	for _, dir := range dirs {
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			replies := capturedReplies(t, dir)
			out := map[string][]byte{}
			for _, format := range []string{"json", "text"} {
				cfg := Config{Format: format, TimeZone: "UTC"}
				if !capturedFor(replies, format, &cfg) {
					continue
				}
				c, err := New(cfg, cmdrun.NewFake(replies), func() time.Time { return capturedNow }, nil)
				if err != nil {
					t.Fatal(err)
				}
				res, updErr := c.Update(context.Background())
				wantErr := strings.HasPrefix(name, "00-no-such-pool")
				if (updErr != nil) != wantErr {
					t.Fatalf("%s: update error %v, want error: %v", format, updErr, wantErr)
				}
				c2, _ := New(cfg, cmdrun.NewFake(replies), func() time.Time { return capturedNow }, nil)
				got, _ := servetest.Scrape(t, c2, capturedNow)
				servetest.Golden(t, filepath.Join("testdata", "golden", "captured", name+"."+format+".prom"), got, *update)
				servetest.GoldenHomepage(t, filepath.Join("testdata", "golden", "captured", name+"."+format+".homepage.json"), c.Name(), c.Describe(), res, updErr, capturedNow, *update)
				out[format] = got
			}
			if out["json"] != nil && out["text"] != nil {
				for _, d := range disagreements(name, out["json"], out["text"]) {
					t.Error(d)
				}
			}
		})
	}
}

// capturedFor reports whether dir holds the commands format runs, and turns
// off the dataset and snapshot lists when they were not captured.
func capturedFor(replies map[string]cmdrun.Reply, format string, cfg *Config) bool {
	status, list, datasets := jsonStatus, jsonList, jsonDatasets
	if format == "text" {
		status, list, datasets = textStatus, textList, textDatasets
	}
	if _, ok := replies[status]; !ok {
		return false
	}
	if _, ok := replies[list]; !ok && replies[status].ExitCode == 0 {
		return false
	}
	if _, ok := replies[datasets]; !ok {
		cfg.Datasets = off
	}
	if _, ok := replies[snapshots]; !ok {
		cfg.Snapshots = off
	}
	return true
}

// capturedNow is a few minutes after the captures were taken.
var capturedNow = time.Date(2026, 11, 22, 2, 30, 0, 0, time.UTC)

// jsonOnly are the series only the JSON carries: the text's line for a
// finished or canceled scan has no byte counts and, once canceled, no start.
var jsonOnly = map[string]bool{
	"hlexporter_zfs_scan_examined_bytes":          true,
	"hlexporter_zfs_scan_to_examine_bytes":        true,
	"hlexporter_zfs_scan_start_timestamp_seconds": true,
}

// disagreements compares the data series of the two formats. Byte values may
// differ by 1%: the text rounds scan progress ("81.2M") and the commands ran
// a moment apart on a live pool. Vdev labels are compared without path,
// which the text does not show.
func disagreements(scenario string, jsonProm, textProm []byte) []string {
	j, x := series(jsonProm), series(textProm)
	var out []string
	for k, jv := range j {
		metric, _, _ := strings.Cut(k, "{")
		// 08: the JSON was taken just before ZFS detached the replaced
		// disk, the text just after: the vdev trees differ for real.
		if scenario == "08-resilver-finished" && strings.HasPrefix(metric, "hlexporter_zfs_vdev_") {
			continue
		}
		xv, ok := x[k]
		switch {
		case !ok && !jsonOnly[metric]:
			out = append(out, "only in JSON: "+k)
		case !ok:
		case strings.HasSuffix(metric, "_bytes"):
			if math.Abs(jv-xv) > 0.01*math.Max(math.Abs(jv), math.Abs(xv)) {
				out = append(out, fmt.Sprintf("%s: JSON %g, text %g", k, jv, xv))
			}
		case jv != xv:
			out = append(out, fmt.Sprintf("%s: JSON %g, text %g", k, jv, xv))
		}
	}
	for k := range x {
		metric, _, _ := strings.Cut(k, "{")
		if scenario == "08-resilver-finished" && strings.HasPrefix(metric, "hlexporter_zfs_vdev_") {
			continue
		}
		if _, ok := j[k]; !ok {
			out = append(out, "only in text: "+k)
		}
	}
	sort.Strings(out)
	return out
}

var pathLabel = regexp.MustCompile(`path="[^"]*"`)

// series maps each hlexporter_zfs_ sample (path label blanked, the format
// info left out) to its value.
func series(prom []byte) map[string]float64 {
	m := map[string]float64{}
	for _, line := range strings.Split(string(prom), "\n") {
		if !strings.HasPrefix(line, "hlexporter_zfs_") || strings.HasPrefix(line, "hlexporter_zfs_output_format_info") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			v = math.NaN()
		}
		m[pathLabel.ReplaceAllString(line[:i], `path=""`)] = v
	}
	return m
}
