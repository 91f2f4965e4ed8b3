package zfs

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ParseStatusText parses `zpool status -p -s` run with LC_ALL=C. Scan times
// are printed in the host's local time without a zone; loc interprets them.
func ParseStatusText(b []byte, loc *time.Location) ([]Pool, error) {
	var pools []Pool
	var cur *Pool
	var scanLines []string
	section := "" // the "key:" block we are in
	inConfig := false
	cols := 0 // error columns in the config table (READ WRITE CKSUM [SLOW])
	group := "data"
	var stack []string // vdev names by depth

	finish := func() error {
		if cur == nil {
			return nil
		}
		if len(scanLines) > 0 {
			sc, err := parseScanText(scanLines, loc)
			if err != nil {
				return fmt.Errorf("pool %q: %w", cur.Name, err)
			}
			cur.Scan = sc
		}
		typeLeaves(cur)
		pools = append(pools, *cur)
		cur, scanLines = nil, nil
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if key, val, ok := statusKey(line); ok {
			section = key
			inConfig = false
			switch key {
			case "pool":
				if err := finish(); err != nil {
					return nil, err
				}
				cur = &Pool{Name: val, DataErrors: -1}
			case "state":
				if cur == nil {
					return nil, fmt.Errorf("line %d: state before any pool", lineNo)
				}
				cur.State = val
			case "scan":
				if cur == nil {
					return nil, fmt.Errorf("line %d: scan before any pool", lineNo)
				}
				scanLines = append(scanLines, val)
			case "config":
				inConfig = true
				cols, group, stack = 0, "data", nil
			case "errors":
				if cur == nil {
					return nil, fmt.Errorf("line %d: errors before any pool", lineNo)
				}
				n, err := parseErrorsLine(val)
				if err != nil {
					return nil, fmt.Errorf("line %d: %w", lineNo, err)
				}
				cur.DataErrors = n
			}
			continue
		}
		if trimmed == "" {
			continue
		}
		if cur == nil {
			if strings.HasPrefix(trimmed, "no pools available") {
				continue
			}
			return nil, fmt.Errorf("line %d: unexpected text before the first pool: %q", lineNo, trimmed)
		}
		if section == "scan" && !inConfig {
			scanLines = append(scanLines, trimmed)
			continue
		}
		if !inConfig {
			continue // continuation of status/action/see/errors text
		}
		// Config table: a tab, then two spaces per depth level.
		body := strings.TrimPrefix(line, "\t")
		if body == line { // not tab-indented: tolerate 8 spaces
			body = strings.TrimPrefix(line, "        ")
		}
		indent := len(body) - len(strings.TrimLeft(body, " "))
		fields := strings.Fields(body)
		if fields[0] == "NAME" && len(fields) >= 5 {
			cols = len(fields) - 2
			continue
		}
		if cols == 0 {
			return nil, fmt.Errorf("line %d: config table without a NAME header", lineNo)
		}
		depth := indent / 2
		if depth == 0 {
			switch fields[0] {
			case "logs":
				group = "log"
			case "cache":
				group = "cache"
			case "spares":
				group = "spare"
			case "special":
				group = "special"
			case "dedup":
				group = "dedup"
			default:
				if fields[0] != cur.Name {
					return nil, fmt.Errorf("line %d: unexpected top-level entry %q in pool %q", lineNo, fields[0], cur.Name)
				}
			}
			stack = stack[:0]
			continue
		}
		v := Vdev{Name: fields[0], Group: group, Type: typeFromName(fields[0]), Slow: math.NaN()}
		if strings.HasPrefix(v.Name, "/") {
			v.Path = v.Name
		}
		if len(fields) > 1 {
			v.State = fields[1]
		}
		nums := []*float64{&v.Read, &v.Write, &v.Cksum, &v.Slow}
		// Spares print a state and perhaps a note ("INUSE  currently in
		// use"), never counters.
		for i := 0; group != "spare" && i < cols && i < len(nums); i++ {
			if 2+i >= len(fields) {
				if group == "cache" && len(fields) == 2 {
					break
				}
				return nil, fmt.Errorf("line %d: vdev %q: missing counters", lineNo, v.Name)
			}
			f := fields[2+i]
			if f == "-" {
				*nums[i] = math.NaN()
				continue
			}
			n, err := parseSize(f)
			if err != nil {
				return nil, fmt.Errorf("line %d: vdev %q: counter %q: %w", lineNo, v.Name, f, err)
			}
			*nums[i] = n
		}
		if math.IsNaN(v.Read) {
			v.Read = 0
		}
		if math.IsNaN(v.Write) {
			v.Write = 0
		}
		if math.IsNaN(v.Cksum) {
			v.Cksum = 0
		}
		level := depth - 1 // top-level vdevs sit at depth 1
		if level > len(stack) {
			return nil, fmt.Errorf("line %d: vdev %q is indented deeper than its parent", lineNo, v.Name)
		}
		stack = stack[:level]
		if level > 0 {
			v.Parent = stack[level-1]
		}
		stack = append(stack, v.Name)
		cur.Vdevs = append(cur.Vdevs, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read zpool status: %w", err)
	}
	if err := finish(); err != nil {
		return nil, err
	}
	for _, p := range pools {
		if p.State == "" {
			return nil, fmt.Errorf("pool %q: no state line", p.Name)
		}
	}
	return pools, nil
}

// statusKey recognises "  pool: x", " state: x", "config:" and the like.
func statusKey(line string) (key, val string, ok bool) {
	if strings.HasPrefix(line, "\t") {
		return "", "", false
	}
	t := strings.TrimLeft(line, " ")
	if len(line)-len(t) > 6 {
		return "", "", false
	}
	k, v, found := strings.Cut(t, ":")
	if !found {
		return "", "", false
	}
	switch k {
	case "pool", "id", "state", "status", "action", "see", "scan", "config", "errors", "remove", "checkpoint", "expand":
		return k, strings.TrimSpace(v), true
	}
	return "", "", false
}

// typeLeaves gives the text's leaf vdevs the type the JSON output names
// (disk, file or dspare), and drops the SLOW column of interior vdevs, which
// only leaves count (the JSON has no slow_ios for them), so that a host
// moving from text to JSON keeps its series.
func typeLeaves(p *Pool) {
	interior := map[[2]string]bool{}
	for _, v := range p.Vdevs {
		if v.Parent != "" {
			interior[[2]string{v.Group, v.Parent}] = true
		}
	}
	for i := range p.Vdevs {
		v := &p.Vdevs[i]
		if interior[[2]string{v.Group, v.Name}] {
			v.Slow = math.NaN()
			continue
		}
		switch {
		case dspareRe.MatchString(v.Name):
			v.Type = "dspare"
		case v.Type != "":
		case strings.HasPrefix(v.Name, "/") && !strings.HasPrefix(v.Name, "/dev/"):
			v.Type = "file"
		default:
			v.Type = "disk"
		}
	}
}

// dspareRe matches a dRAID distributed spare ("draid2-0-0").
var dspareRe = regexp.MustCompile(`^draid\d+-\d+-\d+$`)

func typeFromName(n string) string {
	for _, t := range []string{"mirror", "raidz", "draid", "replacing", "spare", "indirect"} {
		if strings.HasPrefix(n, t+"-") || (t == "raidz" && strings.HasPrefix(n, "raidz")) || (t == "draid" && strings.HasPrefix(n, "draid")) {
			return t
		}
	}
	return ""
}

var errorsRe = regexp.MustCompile(`^(\d+) data errors?`)

func parseErrorsLine(s string) (int64, error) {
	switch {
	case strings.HasPrefix(s, "No known data errors"):
		return 0, nil
	case strings.HasPrefix(s, "Permanent errors have been detected"):
		return 1, nil // -v lists files; at least one
	}
	if m := errorsRe.FindStringSubmatch(s); m != nil {
		return strconv.ParseInt(m[1], 10, 64)
	}
	return 0, fmt.Errorf("errors line %q is not understood", s)
}

const ctimeLayout = "Mon Jan _2 15:04:05 2006"

var (
	scanDoneRe     = regexp.MustCompile(`^(scrub repaired|resilvered|error scrub repaired) (\S+) in (.+?) with (\d+) errors? on (.+)$`)
	scanProgressRe = regexp.MustCompile(`^(scrub|resilver|error scrub) in progress since (.+)$`)
	scanPausedRe   = regexp.MustCompile(`^(scrub|error scrub) paused since (.+)$`)
	scanCanceledRe = regexp.MustCompile(`^(scrub|resilver|error scrub) canceled on (.+)$`)
	scanStartedRe  = regexp.MustCompile(`^(?:scrub|error scrub) started on (.+)$`)
	doneRe         = regexp.MustCompile(`([\d.]+)% done`)
	// Three generations of the progress line:
	//   0.6–0.7: "1.35G scanned out of 347G at 126M/s, 0h46m to go"
	//   0.8–2.1: "11.0T scanned at 2.78G/s, 1.12T issued at 290M/s, 20.1T total"
	//   2.2+:    "4.75T / 12.8T scanned at 327M/s, 3.06T / 12.8T issued at 211M/s"
	scannedOldRe = regexp.MustCompile(`^(\S+) scanned out of (\S+)`)
	scannedRe    = regexp.MustCompile(`^(\S+) scanned(?: at \S+)?, (\S+) issued(?: at \S+)?, (\S+) total`)
	scannedNewRe = regexp.MustCompile(`^(\S+) / (\S+) scanned`)
	durDaysRe    = regexp.MustCompile(`^(?:(\d+) days? )?(\d+):(\d\d):(\d\d)$`)
	durHMRe      = regexp.MustCompile(`^(\d+)h(\d+)m$`)
)

func fnName(s string) string {
	switch {
	case strings.HasPrefix(s, "error scrub"):
		return "errorscrub"
	case strings.HasPrefix(s, "scrub"):
		return "scrub"
	default:
		return "resilver"
	}
}

func parseScanText(lines []string, loc *time.Location) (*Scan, error) {
	first := lines[0]
	if first == "none requested" || first == "" {
		return nil, nil
	}
	sc := &Scan{Progress: math.NaN(), ToExamine: math.NaN(), Examined: math.NaN()}
	when := func(s string) (time.Time, error) {
		t, err := time.ParseInLocation(ctimeLayout, strings.TrimSpace(s), loc)
		if err != nil {
			return time.Time{}, fmt.Errorf("scan time %q: %w", s, err)
		}
		return t.UTC(), nil
	}
	var err error
	switch {
	case scanDoneRe.MatchString(first):
		m := scanDoneRe.FindStringSubmatch(first)
		sc.Function, sc.State = fnName(m[1]), "finished"
		if sc.End, err = when(m[5]); err != nil {
			return nil, err
		}
		d, err := parseScanDuration(m[3])
		if err != nil {
			return nil, err
		}
		sc.Start = sc.End.Add(-d)
		sc.Errors, _ = strconv.ParseFloat(m[4], 64)
		sc.Progress = 1
		return sc, nil
	case scanProgressRe.MatchString(first):
		m := scanProgressRe.FindStringSubmatch(first)
		sc.Function, sc.State = fnName(m[1]), "scanning"
		if sc.Start, err = when(m[2]); err != nil {
			return nil, err
		}
	case scanPausedRe.MatchString(first):
		m := scanPausedRe.FindStringSubmatch(first)
		sc.Function, sc.State = fnName(m[1]), "paused"
	case scanCanceledRe.MatchString(first):
		m := scanCanceledRe.FindStringSubmatch(first)
		sc.Function, sc.State = fnName(m[1]), "canceled"
		if sc.End, err = when(m[2]); err != nil {
			return nil, err
		}
		return sc, nil
	default:
		return nil, fmt.Errorf("scan line %q is not understood", first)
	}
	for _, l := range lines[1:] {
		if m := scanStartedRe.FindStringSubmatch(l); m != nil {
			if sc.Start, err = when(m[1]); err != nil {
				return nil, err
			}
		}
		if m := scannedRe.FindStringSubmatch(l); m != nil {
			sc.Examined, sc.ToExamine = sizeOrNaN(m[1]), sizeOrNaN(m[3])
		} else if m := scannedNewRe.FindStringSubmatch(l); m != nil {
			sc.Examined, sc.ToExamine = sizeOrNaN(m[1]), sizeOrNaN(m[2])
		} else if m := scannedOldRe.FindStringSubmatch(l); m != nil {
			sc.Examined, sc.ToExamine = sizeOrNaN(m[1]), sizeOrNaN(m[2])
		}
		if m := doneRe.FindStringSubmatch(l); m != nil {
			p, err := strconv.ParseFloat(m[1], 64)
			if err == nil {
				sc.Progress = math.Min(1, p/100)
			}
		}
	}
	return sc, nil
}

func sizeOrNaN(s string) float64 {
	f, err := parseSize(s)
	if err != nil {
		return math.NaN()
	}
	return f
}

func parseScanDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if m := durHMRe.FindStringSubmatch(s); m != nil { // 0.6–0.7: "6h6m"
		h, _ := strconv.ParseInt(m[1], 10, 64)
		mi, _ := strconv.ParseInt(m[2], 10, 64)
		return time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute, nil
	}
	m := durDaysRe.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("scan duration %q is not understood", s)
	}
	var n [4]int64
	for i := 1; i <= 4; i++ {
		if m[i] != "" {
			n[i-1], _ = strconv.ParseInt(m[i], 10, 64)
		}
	}
	return time.Duration(n[0])*24*time.Hour + time.Duration(n[1])*time.Hour + time.Duration(n[2])*time.Minute + time.Duration(n[3])*time.Second, nil
}

// parseSize reads an exact number or a zfs_nicenum ("1.23G", "960K", "0B").
func parseSize(s string) (float64, error) {
	s = strings.TrimSuffix(s, "B")
	if s == "" {
		return 0, nil
	}
	mult := 1.0
	switch s[len(s)-1] {
	case 'K':
		mult = 1 << 10
	case 'M':
		mult = 1 << 20
	case 'G':
		mult = 1 << 30
	case 'T':
		mult = 1 << 40
	case 'P':
		mult = 1 << 50
	case 'E':
		mult = 1 << 60
	}
	if mult != 1 {
		s = s[:len(s)-1]
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	return f * mult, nil
}

// splitTabs splits one -H line and checks the column count.
func splitTabs(line string, want int, lineNo int) ([]string, error) {
	f := strings.Split(line, "\t")
	if len(f) != want {
		return nil, fmt.Errorf("line %d: %d tab-separated columns, want %d", lineNo, len(f), want)
	}
	return f, nil
}

func parseNum(s string, lineNo int, what string) (float64, error) {
	s = strings.TrimSuffix(strings.TrimSuffix(s, "x"), "%")
	if s == "-" || s == "none" {
		return math.NaN(), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("line %d: %s %q is not a number", lineNo, what, s)
	}
	return f, nil
}

// ParseListText parses `zpool list -Hp -o name,size,allocated,free,fragmentation,capacity,dedupratio,health`.
func ParseListText(b []byte) (map[string]Pool, error) {
	out := map[string]Pool{}
	for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if line == "" {
			continue
		}
		f, err := splitTabs(line, 8, i+1)
		if err != nil {
			return nil, fmt.Errorf("zpool list: %w", err)
		}
		p := Pool{Name: f[0], HasList: true, State: f[7]}
		dst := []*float64{&p.Size, &p.Allocated, &p.Free, &p.Fragmentation, &p.Capacity, &p.DedupRatio}
		names := []string{"size", "allocated", "free", "fragmentation", "capacity", "dedupratio"}
		for j, d := range dst {
			if *d, err = parseNum(f[1+j], i+1, names[j]); err != nil {
				return nil, fmt.Errorf("zpool list: %w", err)
			}
		}
		p.Fragmentation /= 100
		p.Capacity /= 100
		out[p.Name] = p
	}
	return out, nil
}

// ParseDatasetsText parses `zfs list -Hp -t filesystem,volume -o name,type,used,available,referenced,quota`.
func ParseDatasetsText(b []byte) ([]Dataset, error) {
	var out []Dataset
	for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if line == "" {
			continue
		}
		f, err := splitTabs(line, 6, i+1)
		if err != nil {
			return nil, fmt.Errorf("zfs list: %w", err)
		}
		d := Dataset{Name: f[0], Type: f[1]}
		dst := []*float64{&d.Used, &d.Available, &d.Referenced, &d.Quota}
		names := []string{"used", "available", "referenced", "quota"}
		for j, p := range dst {
			if *p, err = parseNum(f[2+j], i+1, names[j]); err != nil {
				return nil, fmt.Errorf("zfs list: %w", err)
			}
		}
		if math.IsNaN(d.Quota) {
			d.Quota = 0
		}
		out = append(out, d)
	}
	return out, nil
}

// ParseSnapshotsText reads `zfs list -Hp -t snapshot -o name,creation` as a
// stream and keeps one summary per dataset, so memory stays bounded by the
// number of datasets however many snapshots there are.
func ParseSnapshotsText(b []byte) (map[string]SnapshotStats, error) {
	out := map[string]SnapshotStats{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if line == "" {
			continue
		}
		f, err := splitTabs(line, 2, n)
		if err != nil {
			return nil, fmt.Errorf("zfs list snapshots: %w", err)
		}
		ds, _, ok := strings.Cut(f[0], "@")
		if !ok || ds == "" {
			return nil, fmt.Errorf("zfs list snapshots: line %d: %q is not a snapshot name", n, f[0])
		}
		sec, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || sec < 0 || sec > 1e11 {
			return nil, fmt.Errorf("zfs list snapshots: line %d: creation %q is not a Unix time", n, f[1])
		}
		s := out[ds]
		s.Count++
		if t := time.Unix(sec, 0).UTC(); t.After(s.Newest) {
			s.Newest = t
		}
		out[ds] = s
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("zfs list snapshots: %w", err)
	}
	return out, nil
}
