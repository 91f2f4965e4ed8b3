package zfs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// num is a JSON number that may also come as a string ("123", "1.00x",
// "12%", "-"), as zpool prints without --json-int or for ratio properties.
type num struct {
	v   float64
	set bool
}

func (n *num) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
		s = strings.TrimSuffix(strings.TrimSuffix(s, "x"), "%")
		if s == "" || s == "-" || s == "none" {
			return nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			// Without --json-int sizes come as zfs_nicenum ("62.6G").
			if f, err = parseSize(s); err != nil {
				return fmt.Errorf("not a number: %q", s)
			}
		}
		n.v, n.set = f, true
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("not a number: %s", b)
	}
	n.v, n.set = f, true
	return nil
}

func (n num) or(def float64) float64 {
	if n.set {
		return n.v
	}
	return def
}

type jsonVersion struct {
	Command   string `json:"command"`
	VersMajor int    `json:"vers_major"`
}

type jsonVdev struct {
	Name     string              `json:"name"`
	VdevType string              `json:"vdev_type"`
	Path     string              `json:"path"`
	State    string              `json:"state"`
	Aux      string              `json:"aux"`
	Read     num                 `json:"read_errors"`
	Write    num                 `json:"write_errors"`
	Cksum    num                 `json:"checksum_errors"`
	Slow     num                 `json:"slow_ios"`
	Vdevs    map[string]jsonVdev `json:"vdevs"`
}

type jsonScan struct {
	Function   string `json:"function"`
	State      string `json:"state"`
	StartTime  num    `json:"start_time"`
	EndTime    num    `json:"end_time"`
	ToExamine  num    `json:"to_examine"`
	Examined   num    `json:"examined"`
	Issued     num    `json:"issued"`
	Errors     num    `json:"errors"`
	ScrubPause num    `json:"scrub_pause"`
}

type jsonStatusPool struct {
	Name       string              `json:"name"`
	State      string              `json:"state"`
	ErrorCount num                 `json:"error_count"`
	ScanStats  *jsonScan           `json:"scan_stats"`
	Vdevs      map[string]jsonVdev `json:"vdevs"`
	Logs       map[string]jsonVdev `json:"logs"`
	L2Cache    map[string]jsonVdev `json:"l2cache"`
	Spares     map[string]jsonVdev `json:"spares"`
	Special    map[string]jsonVdev `json:"special"`
	Dedup      map[string]jsonVdev `json:"dedup"`
}

// ParseStatusJSON parses `zpool status -j --json-int` (also without
// --json-int, whose numbers are strings; times must then be integers, so
// --json-int is required for scan times).
func ParseStatusJSON(b []byte) ([]Pool, error) {
	var doc struct {
		OutputVersion jsonVersion               `json:"output_version"`
		Pools         map[string]jsonStatusPool `json:"pools"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("zpool status JSON: %w", err)
	}
	if doc.OutputVersion.Command != "zpool status" {
		return nil, fmt.Errorf("zpool status JSON: output_version.command is %q, want \"zpool status\"", doc.OutputVersion.Command)
	}
	var pools []Pool
	for key, jp := range doc.Pools {
		name := jp.Name
		if name == "" {
			name = key
		}
		if jp.State == "" {
			return nil, fmt.Errorf("zpool status JSON: pool %q has no state", name)
		}
		p := Pool{Name: name, State: jp.State, DataErrors: -1}
		if jp.ErrorCount.set {
			p.DataErrors = int64(jp.ErrorCount.v)
		}
		if s := jp.ScanStats; s != nil {
			sc, err := scanFromJSON(s)
			if err != nil {
				return nil, fmt.Errorf("zpool status JSON: pool %q: %w", name, err)
			}
			p.Scan = sc
		}
		// vdevs holds the root vdev (named like the pool); its children are
		// the top-level data vdevs.
		for _, root := range sortedVdevs(jp.Vdevs) {
			if root.VdevType == "root" || root.Name == name || len(jp.Vdevs) == 1 {
				walkJSON(&p, root.Vdevs, "data", "")
			} else {
				walkJSON(&p, map[string]jsonVdev{root.Name: root}, "data", "")
			}
		}
		walkJSON(&p, jp.Logs, "log", "")
		walkJSON(&p, jp.L2Cache, "cache", "")
		walkJSON(&p, jp.Spares, "spare", "")
		walkJSON(&p, jp.Special, "special", "")
		walkJSON(&p, jp.Dedup, "dedup", "")
		pools = append(pools, p)
	}
	sort.Slice(pools, func(i, j int) bool { return pools[i].Name < pools[j].Name })
	return pools, nil
}

func sortedVdevs(m map[string]jsonVdev) []jsonVdev {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]jsonVdev, 0, len(m))
	for _, k := range keys {
		v := m[k]
		if v.Name == "" {
			v.Name = k
		}
		out = append(out, v)
	}
	return out
}

func walkJSON(p *Pool, m map[string]jsonVdev, group, parent string) {
	for _, v := range sortedVdevs(m) {
		slow := math.NaN()
		if v.Slow.set {
			slow = v.Slow.v
		}
		p.Vdevs = append(p.Vdevs, Vdev{
			Name: v.Name, Path: v.Path, Type: v.VdevType, Group: group, Parent: parent,
			State: jsonVdevState(v.State, v.Aux), Read: v.Read.or(0), Write: v.Write.or(0), Cksum: v.Cksum.or(0), Slow: slow,
		})
		walkJSON(p, v.Vdevs, group, v.Name)
	}
}

// jsonVdevState names a vdev state as zpool's text output does: the JSON
// carries the kernel's enum name, so a vdev that cannot be opened is
// CANT_OPEN there (text: UNAVAIL, or FAULTED when its data or log is
// corrupt, as zpool_state_to_name decides).
func jsonVdevState(state, aux string) string {
	if state != "CANT_OPEN" {
		return state
	}
	switch aux {
	case "CORRUPT_DATA", "BAD_LOG":
		return "FAULTED"
	}
	return "UNAVAIL"
}

func scanFromJSON(s *jsonScan) (*Scan, error) {
	fn := strings.ToLower(s.Function)
	if fn == "" || fn == "none" {
		return nil, nil
	}
	sc := &Scan{Function: fn, Progress: math.NaN(), ToExamine: s.ToExamine.or(math.NaN()), Examined: s.Examined.or(math.NaN()), Errors: s.Errors.or(0)}
	switch strings.ToUpper(strings.TrimPrefix(s.State, "DSS_")) {
	case "SCANNING":
		sc.State = "scanning"
		if s.ScrubPause.set && s.ScrubPause.v > 0 {
			sc.State = "paused"
		}
	case "FINISHED":
		sc.State = "finished"
	case "CANCELED":
		sc.State = "canceled"
	case "NONE", "":
		return nil, nil
	default:
		return nil, fmt.Errorf("scan_stats.state %q is unknown", s.State)
	}
	for _, t := range []struct {
		n   num
		dst *time.Time
		key string
	}{{s.StartTime, &sc.Start, "start_time"}, {s.EndTime, &sc.End, "end_time"}} {
		if t.n.set && t.n.v > 0 {
			if t.n.v > 1e11 {
				return nil, fmt.Errorf("scan_stats.%s %v is not a Unix time", t.key, t.n.v)
			}
			*t.dst = time.Unix(int64(t.n.v), 0).UTC()
		}
	}
	if sc.State != "finished" && sc.State != "canceled" {
		sc.End = time.Time{}
	}
	if (sc.State == "scanning" || sc.State == "paused") && s.ToExamine.set && s.ToExamine.v > 0 {
		done := s.Issued.or(s.Examined.or(math.NaN()))
		sc.Progress = math.Min(1, done/s.ToExamine.v)
	}
	if sc.State == "finished" {
		sc.Progress = 1
	}
	return sc, nil
}

// jsonProp is one property; only the numeric ones are decoded (health and
// the like are strings).
type jsonProp struct {
	Value json.RawMessage `json:"value"`
}

func propNum(props map[string]jsonProp, key string, scale float64) (float64, error) {
	p, ok := props[key]
	if !ok || len(p.Value) == 0 {
		return math.NaN(), nil
	}
	var n num
	if err := n.UnmarshalJSON(p.Value); err != nil {
		return 0, fmt.Errorf("property %s: %w", key, err)
	}
	return n.or(math.NaN()) / scale, nil
}

// propNums decodes several properties; the first error wins.
func propNums(props map[string]jsonProp, dst map[string]*float64, scale map[string]float64) error {
	for k, d := range dst {
		sc := scale[k]
		if sc == 0 {
			sc = 1
		}
		v, err := propNum(props, k, sc)
		if err != nil {
			return err
		}
		*d = v
	}
	return nil
}

// ParseListJSON parses `zpool list -j --json-int -o name,size,allocated,free,fragmentation,capacity,dedupratio,health`
// into the pools' size fields, keyed by pool name.
func ParseListJSON(b []byte) (map[string]Pool, error) {
	var doc struct {
		OutputVersion jsonVersion `json:"output_version"`
		Pools         map[string]struct {
			Name       string              `json:"name"`
			Properties map[string]jsonProp `json:"properties"`
		} `json:"pools"`
	}
	if len(bytes.TrimSpace(b)) == 0 {
		// OpenZFS 2.3 prints nothing at all, not an empty JSON document,
		// when there is no pool.
		return map[string]Pool{}, nil
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("zpool list JSON: %w", err)
	}
	if doc.OutputVersion.Command != "zpool list" {
		return nil, fmt.Errorf("zpool list JSON: output_version.command is %q, want \"zpool list\"", doc.OutputVersion.Command)
	}
	out := map[string]Pool{}
	for key, jp := range doc.Pools {
		name := jp.Name
		if name == "" {
			name = key
		}
		pr := jp.Properties
		if _, ok := pr["size"]; !ok {
			return nil, fmt.Errorf("zpool list JSON: pool %q has no size property", name)
		}
		p := Pool{Name: name, HasList: true}
		err := propNums(pr, map[string]*float64{"size": &p.Size, "allocated": &p.Allocated, "free": &p.Free,
			"fragmentation": &p.Fragmentation, "capacity": &p.Capacity, "dedupratio": &p.DedupRatio},
			map[string]float64{"fragmentation": 100, "capacity": 100})
		if err != nil {
			return nil, fmt.Errorf("zpool list JSON: pool %q: %w", name, err)
		}
		out[name] = p
	}
	return out, nil
}

// ParseDatasetsJSON parses `zfs list -j --json-int -t filesystem,volume -o name,type,used,available,referenced,quota`.
func ParseDatasetsJSON(b []byte) ([]Dataset, error) {
	var doc struct {
		OutputVersion jsonVersion `json:"output_version"`
		Datasets      map[string]struct {
			Name       string              `json:"name"`
			Type       string              `json:"type"`
			Properties map[string]jsonProp `json:"properties"`
		} `json:"datasets"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("zfs list JSON: %w", err)
	}
	if doc.OutputVersion.Command != "zfs list" {
		return nil, fmt.Errorf("zfs list JSON: output_version.command is %q, want \"zfs list\"", doc.OutputVersion.Command)
	}
	var out []Dataset
	for key, d := range doc.Datasets {
		name := d.Name
		if name == "" {
			name = key
		}
		if t := strings.ToLower(d.Type); t != "filesystem" && t != "volume" {
			continue // snapshots and bookmarks are counted elsewhere
		}
		pr := d.Properties
		if _, ok := pr["used"]; !ok {
			return nil, fmt.Errorf("zfs list JSON: dataset %q has no used property", name)
		}
		ds := Dataset{Name: name, Type: strings.ToLower(d.Type)}
		err := propNums(pr, map[string]*float64{"used": &ds.Used, "available": &ds.Available, "referenced": &ds.Referenced, "quota": &ds.Quota}, nil)
		if err != nil {
			return nil, fmt.Errorf("zfs list JSON: dataset %q: %w", name, err)
		}
		if math.IsNaN(ds.Quota) {
			ds.Quota = 0
		}
		out = append(out, ds)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
