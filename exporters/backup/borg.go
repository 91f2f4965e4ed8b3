package backup

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

type borgArchive struct {
	Name     string  `json:"name"`
	ID       string  `json:"id"`
	Start    string  `json:"start"`
	End      string  `json:"end"`
	Time     string  `json:"time"`
	Hostname string  `json:"hostname"`
	Duration float64 `json:"duration"`
	Stats    *struct {
		NFiles           float64 `json:"nfiles"`
		OriginalSize     float64 `json:"original_size"`
		DeduplicatedSize float64 `json:"deduplicated_size"`
	} `json:"stats"`
}

// ParseBorgList reads `borg list --json --format '{hostname}{end}'`:
// borg 1.x prints local times without a zone, read in loc; a timestamp
// with a zone or offset (borg 2) is read as it says.
func ParseBorgList(b []byte, loc *time.Location) ([]Snapshot, error) {
	var raw struct {
		Archives *[]borgArchive `json:"archives"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("borg list: decode JSON: %w", err)
	}
	if raw.Archives == nil {
		return nil, errors.New("borg list: no archives key")
	}
	out := make([]Snapshot, 0, len(*raw.Archives))
	for i, a := range *raw.Archives {
		s, err := a.snapshot(loc)
		if err != nil {
			return nil, fmt.Errorf("borg list: archive %d: %w", i, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func (a borgArchive) snapshot(loc *time.Location) (Snapshot, error) {
	if a.Name == "" {
		return Snapshot{}, errors.New("no name")
	}
	ts := a.Start
	if ts == "" {
		ts = a.Time
	}
	t, err := ParseBorgTime(ts, loc)
	if err != nil {
		return Snapshot{}, fmt.Errorf("%s: start: %w", a.Name, err)
	}
	// The end of the run is when the backup was complete; use it when known.
	if a.End != "" {
		end, err := ParseBorgTime(a.End, loc)
		if err != nil {
			return Snapshot{}, fmt.Errorf("%s: end: %w", a.Name, err)
		}
		t = end
	}
	return Snapshot{ID: a.ID, Time: t, Host: a.Hostname, Archive: ArchivePrefix(a.Name)}, nil
}

// BorgInfo is `borg info --json --last 1`: the newest archive with its
// stats, and the repository's stored size.
type BorgInfo struct {
	Last      Snapshot
	SizeBytes float64
}

// ParseBorgInfo reads `borg info --json --last 1`.
func ParseBorgInfo(b []byte, loc *time.Location) (BorgInfo, error) {
	var raw struct {
		Archives []borgArchive `json:"archives"`
		Cache    *struct {
			Stats struct {
				UniqueCSize *float64 `json:"unique_csize"`
			} `json:"stats"`
		} `json:"cache"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return BorgInfo{}, fmt.Errorf("borg info: decode JSON: %w", err)
	}
	if raw.Cache == nil || raw.Cache.Stats.UniqueCSize == nil {
		return BorgInfo{}, errors.New("borg info: no cache.stats.unique_csize")
	}
	info := BorgInfo{SizeBytes: *raw.Cache.Stats.UniqueCSize}
	if len(raw.Archives) == 0 {
		return info, nil
	}
	a := raw.Archives[len(raw.Archives)-1]
	s, err := a.snapshot(loc)
	if err != nil {
		return BorgInfo{}, fmt.Errorf("borg info: %w", err)
	}
	if a.Stats != nil {
		s.Summary = &Summary{Files: a.Stats.NFiles, AddedBytes: a.Stats.DeduplicatedSize, Bytes: a.Stats.OriginalSize, Duration: a.Duration}
	}
	info.Last = s
	return info, nil
}

const borgLocalLayout = "2006-01-02T15:04:05.999999"

// ParseBorgTime reads a borg timestamp: with a zone (RFC 3339) as is,
// without one (borg 1.x) as local time in loc.
func ParseBorgTime(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation(borgLocalLayout, s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q: not ISO 8601", trunc(s))
	}
	return t, nil
}

// archiveStamp matches the timestamp borg's {now}, {utcnow} or a unix time
// leave at the end of an archive name.
var archiveStamp = regexp.MustCompile(`[-_.]?(?:\d{4}-\d{2}-\d{2}(?:[T_ ]\d{2}[:.-]?\d{2}(?:[:.-]?\d{2}(?:\.\d+)?)?)?|\d{9,})$`)

// ArchivePrefix is an archive's name without its trailing timestamp, the
// group the archive belongs to ("nas-docs-2025-11-22T00:42:15" → "nas-docs").
func ArchivePrefix(name string) string {
	p := strings.TrimRight(archiveStamp.ReplaceAllString(name, ""), "-_.")
	if p == "" {
		return name
	}
	return p
}
