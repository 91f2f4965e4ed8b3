package nvr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
)

const mib = 1 << 20

// Stats is what the collector uses of /api/stats.
type Stats struct {
	Cameras   []Camera
	Detectors []Detector
	Storage   []Storage
	Version   string
	Latest    string
	Uptime    float64 // seconds
	Updated   float64 // service.last_updated, unix seconds; 0 if absent
}

// Camera is one camera's frame rates.
type Camera struct {
	Name                                         string
	CameraFPS, DetectionFPS, ProcessFPS, Skipped float64
	DetectionEnabled                             *bool // nil when not reported
}

// Detector is one object detector.
type Detector struct {
	Name           string
	InferenceSpeed float64 // milliseconds, as Frigate reports it
}

// Storage is one storage path in bytes.
type Storage struct {
	Path, MountType   string
	Total, Used, Free float64
}

type rawCamera struct {
	CameraFPS        *float64        `json:"camera_fps"`
	DetectionFPS     float64         `json:"detection_fps"`
	ProcessFPS       float64         `json:"process_fps"`
	SkippedFPS       float64         `json:"skipped_fps"`
	DetectionEnabled json.RawMessage `json:"detection_enabled"`
}

type rawStats struct {
	Cameras   map[string]rawCamera `json:"cameras"`
	Detectors map[string]struct {
		InferenceSpeed *float64 `json:"inference_speed"`
	} `json:"detectors"`
	Service *struct {
		Uptime        float64                    `json:"uptime"`
		Version       string                     `json:"version"`
		LatestVersion string                     `json:"latest_version"`
		LastUpdated   float64                    `json:"last_updated"`
		Storage       map[string]json.RawMessage `json:"storage"`
	} `json:"service"`
}

// ParseStats reads Frigate's /api/stats. Since 0.13 cameras sit under
// "cameras"; before, they were top-level objects beside "detectors" and
// "service" and are recognised by their camera_fps. detection_enabled is
// 0/1 in older releases and true/false in newer ones.
func ParseStats(b []byte) (Stats, error) {
	var raw rawStats
	if err := json.Unmarshal(b, &raw); err != nil {
		return Stats{}, fmt.Errorf("stats: decode JSON: %w", err)
	}
	if raw.Service == nil {
		return Stats{}, errors.New("stats: no service object (is this Frigate's /api/stats?)")
	}
	cams := raw.Cameras
	if cams == nil { // Frigate <= 0.12: cameras at the top level
		var top map[string]json.RawMessage
		if err := json.Unmarshal(b, &top); err != nil {
			return Stats{}, fmt.Errorf("stats: decode JSON: %w", err)
		}
		cams = map[string]rawCamera{}
		for k, v := range top {
			if k == "detectors" || k == "service" || len(v) == 0 || v[0] != '{' {
				continue
			}
			var c rawCamera
			if json.Unmarshal(v, &c) == nil && c.CameraFPS != nil {
				cams[k] = c
			}
		}
	}
	var s Stats
	for name, c := range cams {
		if c.CameraFPS == nil {
			return Stats{}, fmt.Errorf("stats: camera %q: no camera_fps", name)
		}
		en, err := parseEnabled(c.DetectionEnabled)
		if err != nil {
			return Stats{}, fmt.Errorf("stats: camera %q: detection_enabled: %w", name, err)
		}
		s.Cameras = append(s.Cameras, Camera{Name: name, CameraFPS: *c.CameraFPS, DetectionFPS: c.DetectionFPS,
			ProcessFPS: c.ProcessFPS, Skipped: c.SkippedFPS, DetectionEnabled: en})
	}
	sort.Slice(s.Cameras, func(i, j int) bool { return s.Cameras[i].Name < s.Cameras[j].Name })
	for name, d := range raw.Detectors {
		if d.InferenceSpeed == nil {
			return Stats{}, fmt.Errorf("stats: detector %q: no inference_speed", name)
		}
		s.Detectors = append(s.Detectors, Detector{Name: name, InferenceSpeed: *d.InferenceSpeed})
	}
	sort.Slice(s.Detectors, func(i, j int) bool { return s.Detectors[i].Name < s.Detectors[j].Name })
	svc := raw.Service
	s.Version, s.Latest, s.Uptime, s.Updated = svc.Version, svc.LatestVersion, svc.Uptime, svc.LastUpdated
	if s.Version == "" {
		return Stats{}, errors.New("stats: service.version missing")
	}
	for path, rawSt := range svc.Storage {
		var st struct {
			Total, Used, Free *float64
			MountType         string `json:"mount_type"`
		}
		if err := json.Unmarshal(rawSt, &st); err != nil {
			return Stats{}, fmt.Errorf("stats: storage %q: %w", path, err)
		}
		if st.Total == nil && st.Used == nil && st.Free == nil {
			continue // Frigate reports {} for a path it cannot stat
		}
		if st.Total == nil || st.Used == nil || st.Free == nil {
			return Stats{}, fmt.Errorf("stats: storage %q: total, used and free must all be present", path)
		}
		s.Storage = append(s.Storage, Storage{Path: path, MountType: st.MountType,
			Total: *st.Total * mib, Used: *st.Used * mib, Free: *st.Free * mib})
	}
	sort.Slice(s.Storage, func(i, j int) bool { return s.Storage[i].Path < s.Storage[j].Path })
	return s, nil
}

func parseEnabled(raw json.RawMessage) (*bool, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return &b, nil
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != 0 && f != 1 {
		return nil, fmt.Errorf("%s is neither a bool nor 0/1", trunc(string(raw)))
	}
	b = f == 1
	return &b, nil
}

// ParseRecordings reads /api/<camera>/recordings and returns the newest
// segment end (unix seconds) and the number of segments; 0, 0 if none.
func ParseRecordings(b []byte) (newestEnd float64, n int, err error) {
	var segs []struct {
		EndTime *float64 `json:"end_time"`
	}
	if err := json.Unmarshal(b, &segs); err != nil {
		return 0, 0, fmt.Errorf("recordings: decode JSON: %w", err)
	}
	for i, s := range segs {
		if s.EndTime == nil {
			return 0, 0, fmt.Errorf("recordings: segment %d: no end_time", i)
		}
		if *s.EndTime > newestEnd {
			newestEnd = *s.EndTime
		}
	}
	return newestEnd, len(segs), nil
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
