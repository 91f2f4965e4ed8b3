// Package zfs collects ZFS pool, vdev, scan, dataset and snapshot state from
// zpool(8) and zfs(8): the JSON output of OpenZFS ≥ 2.3 (zpool status -j
// --json-int, zpool list -j --json-int, zfs list -j --json-int), with a
// fallback to the parsable text output (LC_ALL=C) of older releases.
package zfs

import "time"

// Pool is one pool as zpool status and zpool list describe it.
type Pool struct {
	Name  string
	State string // ONLINE, DEGRADED, FAULTED, OFFLINE, UNAVAIL, REMOVED, SUSPENDED
	// DataErrors is the count of permanent (data) errors; -1 when unknown.
	DataErrors int64
	Scan       *Scan // nil: no scan ever ran ("none requested" or a new pool)
	Vdevs      []Vdev

	// From zpool list; HasList is false when the pool was not listed.
	HasList       bool
	Size          float64
	Allocated     float64
	Free          float64
	Fragmentation float64 // 0–1; NaN when not applicable ("-")
	Capacity      float64 // 0–1
	DedupRatio    float64
}

// Vdev is one node of the vdev tree (the pool's root node excluded).
type Vdev struct {
	Name   string
	Path   string // device path when known
	Type   string // disk, file, mirror, raidz, draid, replacing, spare, ...; "" when unknown (text)
	Group  string // data, log, cache, spare, special, dedup
	Parent string // the parent vdev's name; "" for top-level vdevs
	State  string
	Read   float64
	Write  float64
	Cksum  float64
	Slow   float64 // NaN when not reported
}

// Scan is the pool's current or last scan (scrub, resilver, error scrub).
type Scan struct {
	Function string // scrub, resilver, errorscrub
	State    string // scanning, finished, canceled, paused
	Start    time.Time
	End      time.Time // zero while scanning
	Errors   float64
	// Progress is the fraction done (0–1) while scanning; NaN when unknown.
	Progress  float64
	ToExamine float64 // bytes; NaN when unknown
	Examined  float64 // bytes; NaN when unknown
}

// Dataset is one filesystem or volume.
type Dataset struct {
	Name       string
	Type       string // filesystem, volume
	Used       float64
	Available  float64
	Referenced float64
	Quota      float64 // 0: none
}

// SnapshotStats summarises one dataset's snapshots.
type SnapshotStats struct {
	Count  int
	Newest time.Time
}

// poolStates are the pool and vdev states, in the order of the
// hlexporter_zfs_pool_health enum (its value is the index).
var poolStates = []string{"ONLINE", "DEGRADED", "FAULTED", "OFFLINE", "UNAVAIL", "REMOVED", "SUSPENDED"}

// stateIndex maps a state to its enum value; unknown states are len(poolStates) ("other").
func stateIndex(s string) int {
	if s == "HEALTHY" { // early JSON builds and the zpool-status(8) example
		s = "ONLINE"
	}
	for i, x := range poolStates {
		if x == s {
			return i
		}
	}
	return len(poolStates)
}

// scanStates are the values of the scan state set.
var scanStates = []string{"scanning", "paused", "finished", "canceled"}
