package backup

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Snapshot is one backup, restic's or borg's, in the fields the collector uses.
type Snapshot struct {
	ID      string
	Time    time.Time
	Host    string
	Paths   []string
	Tags    []string
	Archive string   // borg: archive name prefix (name minus its timestamp)
	Summary *Summary // nil when the tool did not record one
}

// Summary is what a backup run recorded about itself.
type Summary struct {
	Files      float64 // files processed
	AddedBytes float64 // new data added to the repository
	Bytes      float64 // bytes processed (original size)
	Duration   float64 // seconds
}

type resticSnapshot struct {
	ID       string    `json:"id"`
	Time     time.Time `json:"time"`
	Hostname string    `json:"hostname"`
	Paths    []string  `json:"paths"`
	Tags     []string  `json:"tags"`
	Summary  *struct {
		BackupStart         time.Time `json:"backup_start"`
		BackupEnd           time.Time `json:"backup_end"`
		DataAdded           float64   `json:"data_added"`
		TotalFilesProcessed float64   `json:"total_files_processed"`
		TotalBytesProcessed float64   `json:"total_bytes_processed"`
	} `json:"summary"`
}

// ParseResticSnapshots reads `restic snapshots --json`: an array of
// snapshots; since restic 0.17 each carries a summary of its backup run.
func ParseResticSnapshots(b []byte) ([]Snapshot, error) {
	var raw []resticSnapshot
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("restic snapshots: decode JSON: %w", err)
	}
	out := make([]Snapshot, 0, len(raw))
	for i, r := range raw {
		if r.ID == "" || r.Time.IsZero() {
			return nil, fmt.Errorf("restic snapshots: element %d: no id or time", i)
		}
		s := Snapshot{ID: r.ID, Time: r.Time, Host: r.Hostname, Paths: r.Paths, Tags: r.Tags}
		if r.Summary != nil {
			d := r.Summary.BackupEnd.Sub(r.Summary.BackupStart).Seconds()
			if d < 0 {
				d = 0
			}
			s.Summary = &Summary{
				Files: r.Summary.TotalFilesProcessed, AddedBytes: r.Summary.DataAdded,
				Bytes: r.Summary.TotalBytesProcessed, Duration: d,
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// RepoStats is the repository's size.
type RepoStats struct {
	SizeBytes float64 // stored data after deduplication (and compression)
	Snapshots float64
}

// ParseResticStats reads `restic stats --json --mode raw-data`, whose
// total_size is the data stored in the repository (what it costs).
func ParseResticStats(b []byte) (RepoStats, error) {
	var raw struct {
		TotalSize      *float64 `json:"total_size"`
		SnapshotsCount float64  `json:"snapshots_count"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return RepoStats{}, fmt.Errorf("restic stats: decode JSON: %w", err)
	}
	if raw.TotalSize == nil {
		return RepoStats{}, errors.New("restic stats: no total_size")
	}
	return RepoStats{SizeBytes: *raw.TotalSize, Snapshots: raw.SnapshotsCount}, nil
}

// Lock is one repository lock (`restic cat lock <id>`).
type Lock struct {
	Time      time.Time `json:"time"`
	Exclusive bool      `json:"exclusive"`
	Hostname  string    `json:"hostname"`
	PID       int       `json:"pid"`
}

// ParseResticLock reads `restic cat lock <id>`.
func ParseResticLock(b []byte) (Lock, error) {
	var l Lock
	if err := json.Unmarshal(b, &l); err != nil {
		return Lock{}, fmt.Errorf("restic lock: decode JSON: %w", err)
	}
	if l.Time.IsZero() {
		return Lock{}, errors.New("restic lock: no time")
	}
	return l, nil
}

var lockIDRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ParseResticLockIDs reads `restic list locks`: one 64-hex ID a line.
func ParseResticLockIDs(b []byte) ([]string, error) {
	var ids []string
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if !lockIDRE.MatchString(line) {
			return nil, fmt.Errorf("restic list locks: line %d: %q is not a lock ID", i+1, trunc(line))
		}
		ids = append(ids, line)
	}
	return ids, nil
}

// CheckResult is the outcome of a check that ran to its end.
type CheckResult struct {
	OK     bool
	Errors float64 // -1 when the tool does not count them
}

// ParseResticCheckJSON reads the summary of `restic check --json` (0.18+).
func ParseResticCheckJSON(b []byte) (CheckResult, error) {
	var sum *CheckResult
	err := jsonLines(b, nil, func(typ string, line []byte) error {
		if typ != "summary" {
			return nil
		}
		var raw struct {
			NumErrors *float64 `json:"num_errors"`
		}
		if err := json.Unmarshal(line, &raw); err != nil {
			return err
		}
		if raw.NumErrors == nil {
			return errors.New("summary without num_errors")
		}
		sum = &CheckResult{OK: *raw.NumErrors == 0, Errors: *raw.NumErrors}
		return nil
	})
	if err != nil {
		return CheckResult{}, fmt.Errorf("restic check: %w", err)
	}
	if sum == nil {
		return CheckResult{}, errors.New("restic check: no summary")
	}
	return *sum, nil
}

// RestoreSummary is the summary of `restic restore --json` (0.17+).
type RestoreSummary struct {
	TotalFiles, FilesRestored, FilesSkipped float64
	TotalBytes, BytesRestored, BytesSkipped float64
	Errors                                  int // error messages seen
}

// OK reports whether every file was restored (or was already identical).
func (r RestoreSummary) OK() bool {
	return r.Errors == 0 && r.TotalFiles > 0 &&
		r.FilesRestored+r.FilesSkipped == r.TotalFiles &&
		r.BytesRestored+r.BytesSkipped == r.TotalBytes
}

// ParseResticRestore reads the output of `restic restore --json`: status
// lines, error lines and one summary line. Restic before 0.18 writes its
// errors to stderr as text ("ignoring error for ...", "Fatal: There were 2
// errors"), so where a unit left stdout and stderr in one file, each text
// line counts as an error message.
func ParseResticRestore(b []byte) (RestoreSummary, error) {
	var sum RestoreSummary
	found := false
	errs := 0
	text := func([]byte) error { errs++; return nil }
	err := jsonLines(b, text, func(typ string, line []byte) error {
		switch typ {
		case "error", "exit_error":
			errs++
		case "summary":
			var raw struct {
				TotalFiles    *float64 `json:"total_files"`
				FilesRestored float64  `json:"files_restored"`
				FilesSkipped  float64  `json:"files_skipped"`
				TotalBytes    float64  `json:"total_bytes"`
				BytesRestored float64  `json:"bytes_restored"`
				BytesSkipped  float64  `json:"bytes_skipped"`
			}
			if err := json.Unmarshal(line, &raw); err != nil {
				return err
			}
			if raw.TotalFiles == nil {
				return errors.New("summary without total_files")
			}
			sum = RestoreSummary{TotalFiles: *raw.TotalFiles, FilesRestored: raw.FilesRestored, FilesSkipped: raw.FilesSkipped,
				TotalBytes: raw.TotalBytes, BytesRestored: raw.BytesRestored, BytesSkipped: raw.BytesSkipped}
			found = true
		}
		return nil
	})
	if err != nil {
		return RestoreSummary{}, fmt.Errorf("restic restore: %w", err)
	}
	if !found {
		return RestoreSummary{}, errors.New("restic restore: no summary line")
	}
	sum.Errors = errs
	return sum, nil
}

// jsonLines calls fn for each JSON object line with its message_type.
// A line that is not a JSON object goes to text, or is an error naming
// the line when text is nil.
func jsonLines(b []byte, text func(line []byte) error, fn func(typ string, line []byte) error) error {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var head struct {
			Type string `json:"message_type"`
		}
		if line[0] != '{' || json.Unmarshal(line, &head) != nil {
			if text == nil {
				return fmt.Errorf("line %d: not a JSON message: %q", n, trunc(string(line)))
			}
			if err := text(line); err != nil {
				return fmt.Errorf("line %d: %w", n, err)
			}
			continue
		}
		if err := fn(head.Type, line); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	return nil
}

// Version is a tool's major.minor.patch.
type Version [3]int

func (v Version) AtLeast(o Version) bool {
	for i := range v {
		if v[i] != o[i] {
			return v[i] > o[i]
		}
	}
	return true
}

var versionRE = regexp.MustCompile(`^(?:restic|borg(?:2|-[a-z]+)?) ([0-9]+)\.([0-9]+)\.([0-9]+)`)

// ParseVersion reads `restic version` ("restic 0.18.1 compiled with ...")
// or `borg --version` ("borg 1.2.4", Debian's borg 2 "borg2 2.0.0b19";
// a pre-release suffix is dropped).
func ParseVersion(b []byte) (Version, error) {
	m := versionRE.FindStringSubmatch(strings.TrimSpace(string(b)))
	if m == nil {
		return Version{}, fmt.Errorf("version: cannot read %q", trunc(strings.TrimSpace(string(b))))
	}
	var v Version
	for i := range v {
		n, err := strconv.Atoi(m[i+1])
		if err != nil {
			return Version{}, fmt.Errorf("version: %w", err)
		}
		v[i] = n
	}
	return v, nil
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
