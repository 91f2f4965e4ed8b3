package backup

import (
	"slices"

	"github.com/hlalert/hlalert/exporters/serve"
)

var (
	repoLabels  = []string{"repository", "tool", "location", "tier"}
	groupLabels = append(append([]string(nil), repoLabels...), "host", "paths", "tags", "archive")
	srcLabels   = append(append([]string(nil), repoLabels...), "source")
)

func def(name, help string, labels []string) *serve.MetricDef {
	return serve.NewMetricDef("hlexporter_backup_"+name, help, serve.Gauge, labels...)
}

var (
	mSnapshots = def("snapshots",
		"Snapshots (restic) or archives (borg) of the host/paths/tags group; borg groups by archive name prefix.", groupLabels)
	mLastSnapshot = def("last_snapshot_timestamp_seconds",
		"Time of the group's newest snapshot (borg: end of the newest archive).", groupLabels)
	mLastFiles = def("last_snapshot_files",
		"Files processed by the run that made the group's newest snapshot (restic >= 0.17; borg: newest archive only).", groupLabels)
	mLastAdded = def("last_snapshot_added_bytes",
		"New data the group's newest snapshot added to the repository.", groupLabels)
	mLastProcessed = def("last_snapshot_processed_bytes",
		"Bytes read by the run that made the group's newest snapshot.", groupLabels)
	mLastDuration = def("last_snapshot_duration_seconds",
		"Duration of the run that made the group's newest snapshot.", groupLabels)

	mRepoSnapshots = def("repository_snapshots", "Snapshots or archives in the repository.", repoLabels)
	mRepoSize      = def("repository_size_bytes",
		"Data stored in the repository after deduplication and compression (restic stats --mode raw-data; borg unique_csize).", repoLabels)

	mLocks          = def("locks", "Locks in the repository (restic).", repoLabels)
	mExclusiveLocks = def("exclusive_locks", "Exclusive locks in the repository (restic).", repoLabels)
	mOldestLock     = def("oldest_lock_timestamp_seconds",
		"Creation time of the repository's oldest lock; a stale lock blocks backups.", repoLabels)

	mCheckSuccess = def("check_success", "1 if the last check that ran found no errors.", repoLabels)
	mCheckErrors  = def("check_errors", "Errors the last check found (restic >= 0.18).", repoLabels)
	mCheckTime    = def("last_check_timestamp_seconds", "When the last check that ran finished.", repoLabels)
	mCheckGood    = def("last_successful_check_timestamp_seconds",
		"When a check last found no errors (known since the exporter started).", repoLabels)

	mRunTime    = def("last_run_timestamp_seconds", "When the backup unit's last run since boot finished.", repoLabels)
	mRunSuccess = def("last_run_success", "1 if the backup unit's last run since boot succeeded.", repoLabels)
	mRunGood    = def("last_successful_run_timestamp_seconds",
		"When a backup run last succeeded (marker file mtime, or the unit's exit), whether or not it made a snapshot.", repoLabels)

	mRestoreTime    = def("restore_test_timestamp_seconds", "When the last restore test finished.", repoLabels)
	mRestoreSuccess = def("restore_test_success", "1 if the last restore test restored every file.", repoLabels)
	mRestoreFiles   = def("restore_test_files", "Files the last restore test restored or verified.", repoLabels)
	mRestoreBytes   = def("restore_test_bytes", "Bytes the last restore test restored or verified.", repoLabels)
	mRestoreGood    = def("last_successful_restore_test_timestamp_seconds",
		"When a restore test last succeeded.", repoLabels)

	mSourceSuccess = def("source_success",
		"1 if the source's last refresh succeeded; on 0 its values are withheld until a refresh succeeds.", srcLabels)
	mSourceAttempt = def("source_last_attempt_timestamp_seconds", "When the source was last refreshed.", srcLabels)
	mSourceGood    = def("source_last_success_timestamp_seconds",
		"When the source last refreshed successfully: the age of the values served.", srcLabels)
	mSourceInterval = def("source_interval_seconds",
		"How often the source is refreshed (0: on every update).", srcLabels)
)

// Metrics lists every metric the backup collector can emit, for the
// catalog; it needs no configuration.
func Metrics() []*serve.MetricDef { return slices.Clone(defs) }

var defs = []*serve.MetricDef{
	mSnapshots, mLastSnapshot, mLastFiles, mLastAdded, mLastProcessed, mLastDuration,
	mRepoSnapshots, mRepoSize, mLocks, mExclusiveLocks, mOldestLock,
	mCheckSuccess, mCheckErrors, mCheckTime, mCheckGood,
	mRunTime, mRunSuccess, mRunGood,
	mRestoreTime, mRestoreSuccess, mRestoreFiles, mRestoreBytes, mRestoreGood,
	mSourceSuccess, mSourceAttempt, mSourceGood, mSourceInterval,
}
