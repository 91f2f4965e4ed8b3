package dashboards

import (
	"fmt"
	"strconv"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/loki"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
)

// num renders a threshold into a query without trailing zeros.
func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// Boards builds the eight hlalert boards with the rules' thresholds.
func Boards(th Thresholds) ([]Board, error) {
	builders := []struct {
		file string
		b    cog.Builder[dashboard.Dashboard]
	}{
		{"overview.json", overview(th)},
		{"backups.json", backups(th)},
		{"storage.json", storage(th)},
		{"deploys.json", deploys(th)},
		{"cameras.json", cameras(th)},
		{"alerting.json", alerting()},
		{"logs.json", logsBoard()},
		{"hosts.json", hosts()},
	}
	out := make([]Board, 0, len(builders))
	for _, x := range builders {
		d, err := x.b.Build()
		if err != nil {
			return nil, fmt.Errorf("build %s: %w", x.file, err)
		}
		finish(&d)
		out = append(out, Board{File: x.file, Dashboard: d})
	}
	return out, nil
}

// finish gives every panel an id and every query a refId (A, B, ...), and
// shows the links above the panels rather than in the controls menu.
func finish(d *dashboard.Dashboard) {
	id := uint32(0)
	for i := range d.Panels {
		id++
		switch p := d.Panels[i]; {
		case p.RowPanel != nil:
			p.RowPanel.Id = id
		case p.Panel != nil:
			p.Panel.Id = ptr(id)
			for j, t := range p.Panel.Targets {
				ref := ptr(string(rune('A' + j)))
				switch x := t.(type) {
				case prometheus.Dataquery:
					x.RefId = ref
					p.Panel.Targets[j] = x
				case *prometheus.Dataquery:
					x.RefId = ref
				case loki.Dataquery:
					x.RefId = ref
					p.Panel.Targets[j] = x
				case *loki.Dataquery:
					x.RefId = ref
				}
			}
		}
	}
	for i := range d.Links {
		d.Links[i].Placement = nil
	}
}

// Queries shared by the overview and the detail boards: one definition of
// "a problem" per domain.
func backupProblems(th Thresholds) string {
	return `count(
  (time() - max by (repository, tier) (hlexporter_backup_last_successful_run_timestamp_seconds) > ` + num(th.BackupAge) + `)
  or max by (repository, tier) (hlexporter_backup_last_run_success == 0)
  or max by (repository, tier) (hlexporter_backup_check_success == 0)
  or max by (repository, tier) (hlexporter_backup_restore_test_success == 0)
  or max by (repository, tier) (hlexporter_backup_source_success == 0)
) or vector(0)`
}

func poolProblems(th Thresholds) string {
	return `count(
  max by (instance, pool) (hlexporter_zfs_pool_health > 0)
  or max by (instance, pool) (hlexporter_zfs_pool_data_errors > 0)
  or max by (instance, pool) (hlexporter_zfs_vdev_read_errors + hlexporter_zfs_vdev_write_errors + hlexporter_zfs_vdev_checksum_errors > 0)
  or max by (instance, pool) (hlexporter_zfs_pool_capacity_ratio > ` + num(th.PoolCapacity) + `)
  or (time() - max by (instance, pool) (hlexporter_zfs_scan_end_timestamp_seconds{function="scrub"}) > ` + num(th.ScrubAge) + `)
) or vector(0)`
}

func diskProblems(th Thresholds) string {
	return `count(
  max by (instance, device) (hlexporter_smart_health_passed == 0)
  or max by (instance, device) (hlexporter_smart_pending_sectors > 0)
  or max by (instance, device) (hlexporter_smart_nvme_critical_warning > 0)
  or max by (instance, device) (hlexporter_smart_temperature_celsius > ` + num(th.DiskTemperature) + `)
  or max by (instance, device) (hlexporter_smart_nvme_percentage_used_ratio > ` + num(th.NvmeWear) + `)
) or vector(0)`
}

func deployProblems(th Thresholds) string {
	return `count(
  max by (instance) (hlexporter_deploy_upgrade_result{result!="success"} == 1)
  or max by (instance) (hlexporter_deploy_switch_pending == 1)
  or max by (instance) (hlexporter_deploy_reboot_pending == 1)
  or (time() - max by (instance) (hlexporter_deploy_generation_timestamp_seconds) > ` + num(th.GenerationAge) + `)
) or vector(0)`
}

func cameraProblems(th Thresholds) string {
	return `count(
  max by (instance, camera) (hlexporter_nvr_camera_recording == 0)
  or max by (instance, camera) (hlexporter_nvr_camera_fps == 0)
  or (time() - max by (instance, camera) (hlexporter_nvr_camera_last_recording_end_timestamp_seconds) > ` + num(th.RecordingAge) + `)
) or vector(0)`
}

func collectorProblems(th Thresholds) string {
	return `count(
  max by (instance, collector) (hlexporter_collector_success == 0)
  or (time() - max by (instance, collector) (hlexporter_collector_last_success_timestamp_seconds) > ` + num(th.CollectorDataStale) + `)
  or max by (instance, job) (up == 0)
) or vector(0)`
}

func overview(th Thresholds) *dashboard.DashboardBuilder {
	return base("hlalert-overview", "Homelab overview",
		"Is anything wrong? One tile per domain turns red where the shipped alerting rules fire; the rows below show what.").
		WithRow(dashboard.NewRowBuilder("Is anything wrong?")).
		WithPanel(status("Firing alerts", "Warning and critical alerts hlalert reports as firing (the ALERTS series it writes to VictoriaMetrics); info alerts and the Watchdog are left out.", "none", anyRed(), 4,
			qi(`count(ALERTS{alertstate="firing", severity=~"critical|warning"}) or vector(0)`, "firing"))).
		WithPanel(status("Backup problems", "Repositories × tiers with a stale or failed run, a failed check or restore test, or a source that cannot be read.", "none", anyRed(), 4,
			qi(backupProblems(th), "repositories"))).
		WithPanel(status("Pool problems", "Pools not ONLINE, with vdev or data errors, too full, or without a recent scrub.", "none", anyRed(), 4,
			qi(poolProblems(th), "pools"))).
		WithPanel(status("Disks at risk", "Disks failing SMART, with pending sectors, NVMe critical warnings, too hot or worn.", "none", anyRed(), 3,
			qi(diskProblems(th), "disks"))).
		WithPanel(status("Hosts needing attention", "Hosts whose upgrade failed, with a switch or reboot pending, or running an old generation.", "none", anyRed(), 3,
			qi(deployProblems(th), "hosts"))).
		WithPanel(status("Cameras not recording", "Cameras without a recent recording segment or without frames.", "none", anyRed(), 3,
			qi(cameraProblems(th), "cameras"))).
		WithPanel(status("Blind spots", "Collectors failing or stale and targets down: alerts about them cannot fire.", "none", anyRed(), 3,
			qi(collectorProblems(th), "collectors"))).
		WithRow(dashboard.NewRowBuilder("Backups: 3-2-1 per repository and tier")).
		WithPanel(status("Last successful backup", "Age of the last successful run per repository and tier; red where BackupStale fires.", "s", redAbove(th.BackupAge), 8,
			qi(`time() - max by (repository, tier) (hlexporter_backup_last_successful_run_timestamp_seconds)`, "{{repository}} · {{tier}}"))).
		WithPanel(status("Newest snapshot", "Age of the newest snapshot per repository and tier (all hosts); red where BackupSnapshotStale fires.", "s", redAbove(th.SnapshotAge), 8,
			qi(`time() - max by (repository, tier) (hlexporter_backup_last_snapshot_timestamp_seconds)`, "{{repository}} · {{tier}}"))).
		WithPanel(status("Last verified restore", "Age of the last successful restore test; red where BackupRestoreTestStale fires.", "s", redAbove(th.RestoreTestAge), 8,
			qi(`time() - max by (repository, tier) (hlexporter_backup_last_successful_restore_test_timestamp_seconds)`, "{{repository}} · {{tier}}"))).
		WithRow(dashboard.NewRowBuilder("Storage, deploys, cameras")).
		WithPanel(status("Pool health", "0 ONLINE, 1 DEGRADED, 2 FAULTED, 3 OFFLINE, 4 UNAVAIL, 5 REMOVED, 6 SUSPENDED.", "none", steps(green, 1, red), 8,
			qi(`max by (instance, pool) (hlexporter_zfs_pool_health)`, "{{instance}} {{pool}}"))).
		WithPanel(status("Scrub age", "Time since the last scrub ended; red where ZfsScrubStale fires.", "s", redAbove(th.ScrubAge), 8,
			qi(`time() - max by (instance, pool) (hlexporter_zfs_scan_end_timestamp_seconds{function="scrub"})`, "{{instance}} {{pool}}"))).
		WithPanel(status("Generation age", "Age of the running NixOS generation; red where NixosGenerationOld fires.", "s", redAbove(th.GenerationAge), 8,
			qi(`time() - max by (instance) (hlexporter_deploy_generation_timestamp_seconds)`, "{{instance}}"))).
		WithPanel(status("Reboot pending", "1: the running kernel, initrd or modules differ from the booted ones.", "none", steps(green, 1, orange), 8,
			qi(`max by (instance) (hlexporter_deploy_reboot_pending)`, "{{instance}}"))).
		WithPanel(status("Recording age", "Time since each camera's newest segment ended; red where CameraNotRecording fires.", "s", redAbove(th.RecordingAge), 16,
			qi(`time() - max by (instance, camera) (hlexporter_nvr_camera_last_recording_end_timestamp_seconds)`, "{{camera}}"))).
		WithRow(dashboard.NewRowBuilder("Firing alerts")).
		WithPanel(tbl("Firing alerts", "Every firing alert but the Watchdog: one row per alert (the journal alerts of the LogQL rules name host and unit, the others instance).", "none", nil, 24,
			qi(`max by (alertname, severity, instance, host, unit, repository, pool, device, camera) (ALERTS{alertstate="firing", alertname!="Watchdog"})`, "")).
			NoValue("No alert is firing"))
}

func backups(th Thresholds) *dashboard.DashboardBuilder {
	return base("hlalert-backups", "Backups", "Backup freshness, repository checks, restore tests and locks per repository, location and tier.").
		WithRow(dashboard.NewRowBuilder("Freshness")).
		WithPanel(status("Last successful backup", "Red where BackupStale fires.", "s", redAbove(th.BackupAge), 12,
			qi(`time() - max by (repository, location, tier) (hlexporter_backup_last_successful_run_timestamp_seconds)`, "{{repository}} ({{location}})"))).
		WithPanel(status("Last run", "1 if the backup unit's last run since boot succeeded.", "none", steps(red, 1, green), 12,
			qi(`min by (repository, location) (hlexporter_backup_last_run_success)`, "{{repository}} ({{location}})"))).
		WithPanel(tbl("Newest snapshot per host", "Age of the newest snapshot of each host/paths group.", "s", nil, 24,
			qi(`time() - max by (repository, host, paths) (hlexporter_backup_last_snapshot_timestamp_seconds)`, ""))).
		WithRow(dashboard.NewRowBuilder("Integrity")).
		WithPanel(status("Repository check", "1 if the last check found no errors.", "none", steps(red, 1, green), 8,
			qi(`min by (repository, location) (hlexporter_backup_check_success)`, "{{repository}}"))).
		WithPanel(status("Restore test", "1 if the last restore test restored every file.", "none", steps(red, 1, green), 8,
			qi(`min by (repository, location) (hlexporter_backup_restore_test_success)`, "{{repository}}"))).
		WithPanel(status("Last verified restore", "Red where BackupRestoreTestStale fires.", "s", redAbove(th.RestoreTestAge), 8,
			qi(`time() - max by (repository, location) (hlexporter_backup_last_successful_restore_test_timestamp_seconds)`, "{{repository}}"))).
		WithPanel(tbl("Sources", "Each source of each repository: 0 means its values are withheld until a refresh succeeds.", "none", steps(red, 1, green), 12,
			qi(`min by (repository, source) (hlexporter_backup_source_success)`, ""))).
		WithPanel(tbl("Locks", "Locks in the repository (restic); a stale lock blocks backups.", "none", nil, 12,
			qi(`max by (repository) (hlexporter_backup_locks)`, ""))).
		WithRow(dashboard.NewRowBuilder("Size")).
		WithPanel(graph("Repository size", "Stored after deduplication and compression.", "bytes", 12,
			q(`max by (repository) (hlexporter_backup_repository_size_bytes)`, "{{repository}}"))).
		WithPanel(graph("Snapshots", "Snapshots or archives in the repository.", "none", 12,
			q(`max by (repository) (hlexporter_backup_repository_snapshots)`, "{{repository}}")))
}

func storage(th Thresholds) *dashboard.DashboardBuilder {
	return base("hlalert-storage", "Storage", "ZFS pools, vdev errors, scrubs, capacity with a fill forecast, and SMART per disk.").
		WithVariable(instanceVar("hlexporter_zfs_pool_health")).
		WithRow(dashboard.NewRowBuilder("Pools")).
		WithPanel(status("Pool health", "0 ONLINE, 1 DEGRADED, 2 FAULTED, 3 OFFLINE, 4 UNAVAIL, 5 REMOVED, 6 SUSPENDED.", "none", steps(green, 1, red), 8,
			qi(`max by (instance, pool) (hlexporter_zfs_pool_health{instance=~"$instance"})`, "{{instance}} {{pool}}"))).
		WithPanel(status("Capacity", "Red where ZfsPoolAlmostFull fires.", "percentunit", redAbove(th.PoolCapacity), 8,
			qi(`max by (instance, pool) (hlexporter_zfs_pool_capacity_ratio{instance=~"$instance"})`, "{{instance}} {{pool}}"))).
		WithPanel(status("Scrub age", "Red where ZfsScrubStale fires.", "s", redAbove(th.ScrubAge), 8,
			qi(`time() - max by (instance, pool) (hlexporter_zfs_scan_end_timestamp_seconds{function="scrub", instance=~"$instance"})`, "{{instance}} {{pool}}"))).
		WithPanel(graph("Capacity and 30-day forecast", "Used ratio and where a linear fit of the last day puts it in 30 days.", "percentunit", 12,
			q(`max by (instance, pool) (hlexporter_zfs_pool_capacity_ratio{instance=~"$instance"})`, "{{pool}} used"),
			q(`clamp_max(predict_linear(hlexporter_zfs_pool_capacity_ratio{instance=~"$instance"}[1d], 30 * 86400), 1)`, "{{pool}} in 30 days"))).
		WithPanel(tbl("Vdev errors", "Read, write and checksum errors per vdev since import or zpool clear.", "none", steps(green, 1, red), 12,
			qi(`max by (instance, pool, vdev) (hlexporter_zfs_vdev_read_errors{instance=~"$instance"} + hlexporter_zfs_vdev_write_errors{instance=~"$instance"} + hlexporter_zfs_vdev_checksum_errors{instance=~"$instance"})`, ""))).
		WithPanel(tbl("Scrub and resilver history", "Errors the current or last scan found.", "none", steps(green, 1, red), 12,
			qi(`max by (instance, pool, function) (hlexporter_zfs_scan_errors{instance=~"$instance"})`, ""))).
		WithPanel(graph("Scan progress", "Fraction of the current scrub or resilver done.", "percentunit", 12,
			q(`max by (instance, pool, function) (hlexporter_zfs_scan_progress_ratio{instance=~"$instance"})`, "{{pool}} {{function}}"))).
		WithRow(dashboard.NewRowBuilder("Disks (SMART)")).
		WithPanel(status("SMART health", "1 passed, 0 failing.", "none", steps(red, 1, green), 8,
			qi(`min by (instance, device) (hlexporter_smart_health_passed{instance=~"$instance"})`, "{{device}}"))).
		WithPanel(status("Temperature", "Red where DiskTooHot fires.", "celsius", redAbove(th.DiskTemperature), 8,
			qi(`max by (instance, device) (hlexporter_smart_temperature_celsius{instance=~"$instance"})`, "{{device}}"))).
		WithPanel(tbl("Reallocated sectors", "ATA attribute 5; a count that grows means a dying disk.", "none", steps(green, 1, red), 8,
			qi(`max by (instance, device) (hlexporter_smart_reallocated_sectors{instance=~"$instance"})`, ""))).
		WithPanel(status("NVMe wear", "Red where NvmeWearHigh fires.", "percentunit", redAbove(th.NvmeWear), 12,
			qi(`max by (instance, device) (hlexporter_smart_nvme_percentage_used_ratio{instance=~"$instance"})`, "{{device}}"))).
		WithPanel(status("NVMe critical warning", "Bit field; 0 is fine.", "none", steps(green, 1, red), 12,
			qi(`max by (instance, device) (hlexporter_smart_nvme_critical_warning{instance=~"$instance"})`, "{{device}}")))
}

func deploys(th Thresholds) *dashboard.DashboardBuilder {
	return base("hlalert-deploys", "Deploys", "NixOS generations, pending switches and reboots, and automatic upgrade results per host.").
		WithVariable(instanceVar("hlexporter_deploy_generation")).
		WithPanel(status("Generation age", "Red where NixosGenerationOld fires.", "s", redAbove(th.GenerationAge), 8,
			qi(`time() - max by (instance) (hlexporter_deploy_generation_timestamp_seconds{instance=~"$instance"})`, "{{instance}}"))).
		WithPanel(status("Switch pending", "1: the profile points to a system that is not running (nixos-rebuild boot).", "none", steps(green, 1, orange), 8,
			qi(`max by (instance) (hlexporter_deploy_switch_pending{instance=~"$instance"})`, "{{instance}}"))).
		WithPanel(status("Reboot pending", "1: kernel, initrd or modules differ from the booted system.", "none", steps(green, 1, orange), 8,
			qi(`max by (instance) (hlexporter_deploy_reboot_pending{instance=~"$instance"})`, "{{instance}}"))).
		WithPanel(graph("Generation", "Number of the running generation per host.", "none", 12,
			q(`max by (instance) (hlexporter_deploy_generation{instance=~"$instance"})`, "{{instance}}"))).
		WithPanel(tbl("NixOS version", "nixos-version --json of the running system.", "none", nil, 12,
			qi(`max by (instance, nixos_version, configuration_revision) (hlexporter_deploy_nixos_info{instance=~"$instance"})`, ""))).
		WithPanel(graph("Upgrade results over time", "1 for the result of the upgrade unit's last finished run (systemd Result).", "none", 24,
			q(`max by (instance, unit, result) (hlexporter_deploy_upgrade_result{instance=~"$instance"}) == 1`, "{{instance}} {{unit}}: {{result}}")))
}

func cameras(th Thresholds) *dashboard.DashboardBuilder {
	return base("hlalert-cameras", "Cameras", "Frigate: recording freshness, camera and detector fps, storage.").
		WithPanel(status("Recording age", "Red where CameraNotRecording fires.", "s", redAbove(th.RecordingAge), 12,
			qi(`time() - max by (instance, camera) (hlexporter_nvr_camera_last_recording_end_timestamp_seconds)`, "{{camera}}"))).
		WithPanel(status("Recording", "1 if the camera has a segment in the lookback window.", "none", steps(red, 1, green), 12,
			qi(`max by (instance, camera) (hlexporter_nvr_camera_recording)`, "{{camera}}"))).
		WithPanel(graph("Camera fps", "Frames per second each camera delivers; 0 means the stream is down.", "fps", 12,
			q(`max by (instance, camera) (hlexporter_nvr_camera_fps)`, "{{camera}}"))).
		WithPanel(graph("Detection fps", "Object detections per second.", "fps", 12,
			q(`max by (instance, camera) (hlexporter_nvr_camera_detection_fps)`, "{{camera}}"))).
		WithPanel(graph("Detector inference", "Average inference time per detector.", "s", 12,
			q(`max by (instance, detector) (hlexporter_nvr_detector_inference_seconds)`, "{{detector}}"))).
		WithPanel(status("Recordings storage", "Used share of the recordings filesystem; red where NvrStorageAlmostFull fires.", "percentunit", redAbove(th.NvrStorageUsed), 12,
			qi(`max by (instance, path) (hlexporter_nvr_storage_used_bytes / hlexporter_nvr_storage_size_bytes)`, "{{path}}"))).
		WithPanel(tbl("Frigate", "Version and the latest release Frigate knows of.", "none", nil, 24,
			qi(`max by (instance, version, latest_version) (hlexporter_nvr_info)`, "")))
}

func alerting() *dashboard.DashboardBuilder {
	return base("hlalert-alerting", "Alerting", "hlalert itself: evaluations per group, datasource errors, alerts, the notification outbox.").
		WithPanel(status("Firing", "Alerts firing, from hlalert's own /metrics.", "none", anyRed(), 6,
			qi(`sum(hlalert_alerts{state="firing"})`, "firing"))).
		WithPanel(status("Pending", "Alerts waiting out their for:.", "none", steps(green, 1, orange), 6,
			qi(`sum(hlalert_alerts{state="pending"})`, "pending"))).
		WithPanel(status("Outbox", "E-mails queued for delivery.", "none", steps(green, 1, orange), 6,
			qi(`sum(hlalert_email_queued)`, "queued"))).
		WithPanel(status("Oldest queued e-mail", "How long the oldest queued e-mail has waited.", "s", steps(green, 600, orange, 3600, red), 6,
			qi(`max(hlalert_email_oldest_queued_age_seconds)`, "age"))).
		WithPanel(graph("Evaluation duration (p90)", "90th percentile of group evaluation time.", "s", 12,
			q(`histogram_quantile(0.9, sum by (group, le) (rate(hlalert_rule_group_evaluation_duration_seconds_bucket[10m])))`, "{{group}}"))).
		WithPanel(graph("Evaluations failing and missed", "Group evaluations with a failed rule, and skipped iterations.", "none", 12,
			q(`sum by (group) (increase(hlalert_rule_group_evaluation_failures_total[1h]))`, "{{group}} failed"),
			q(`sum by (group) (increase(hlalert_rule_group_iterations_missed_total[1h]))`, "{{group}} missed"))).
		WithPanel(graph("Datasource errors", "Failed queries per datasource.", "none", 12,
			q(`sum by (datasource) (increase(hlalert_datasource_errors_total[1h]))`, "{{datasource}}"))).
		WithPanel(graph("Notifications", "Notifications handed to the notifier, by result.", "none", 12,
			q(`sum by (result) (increase(hlalert_notifications_total[1h]))`, "{{result}}"))).
		WithPanel(graph("E-mail delivery", "Sent, failed and rejected e-mails.", "none", 12,
			q(`sum(increase(hlalert_email_sent_total[1h]))`, "sent"),
			q(`sum(increase(hlalert_email_delivery_failures_total[1h]))`, "delivery failures"))).
		WithPanel(tbl("Alerts by group", "Active alerts per group and state.", "none", nil, 12,
			qi(`sum by (group, state) (hlalert_alerts)`, "")))
}

// journal is the stream selector of the systemd journal as Alloy ships it.
// journalErrors are its lines at level error or worse (Alloy's level is the
// journal priority keyword: emerg, alert, crit, error, warning, notice,
// info, debug; priority 3 is "error", not syslog's "err").
const (
	journal       = `{job="systemd-journal", host=~"$host"}`
	journalErrors = `{job="systemd-journal", host=~"$host", level=~"error|crit|alert|emerg"}`
)

func logsBoard() *dashboard.DashboardBuilder {
	explore := func(title, expr string) cog.Builder[dashboard.DashboardLink] {
		return dashboard.NewDashboardLinkBuilder(title).Type(dashboard.DashboardLinkTypeLink).
			Url(`/explore?schemaVersion=1&panes={"a":{"datasource":"${loki}","queries":[{"refId":"A","expr":` +
				strconv.Quote(expr) + `}],"range":{"from":"now-24h","to":"now"}}}`).TargetBlank(true)
	}
	errorsExpr := `sum by (host, unit) (count_over_time(` + journalErrors + ` [1h]))`
	sshExpr := `sum by (host) (count_over_time({job="systemd-journal", host=~"$host", unit="sshd.service"} |~ "Failed password|Invalid user|authentication failure" [1h]))`
	// The kernel's "Out of memory: Killed process" and a memory cgroup's
	// "Memory cgroup out of memory: Killed process", as OOMKill reads them.
	oomExpr := journal + ` |~ "[Oo]ut of memory: Killed process"`
	return base("hlalert-logs", "Logs", "The systemd journal in Loki: errors by host and unit, SSH failures, OOM kills; links open Explore.").
		WithVariable(dashboard.NewQueryVariableBuilder("host").Label("Host").
			Datasource(logsDS()).
			Query(dashboard.StringOrMap{String: ptr(`label_values({job="systemd-journal"}, host)`)}).
			Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
			Multi(true).IncludeAll(true).AllValue(".*").Current(option("All", "$__all"))).
		WithPanel(graph("Journal errors by host and unit", "Lines at level error or worse per hour.", "none", 24,
			lq(errorsExpr, "{{host}} {{unit}}")).
			Links([]cog.Builder[dashboard.DashboardLink]{explore("Explore error lines", journalErrors)})).
		WithPanel(graph("SSH authentication failures", "Failed passwords and invalid users per host and hour.", "none", 12,
			lq(sshExpr, "{{host}}")).
			Links([]cog.Builder[dashboard.DashboardLink]{explore("Explore sshd", `{job="systemd-journal", unit="sshd.service"}`)})).
		WithPanel(graph("OOM kills", "Kernel OOM killer invocations per host and hour.", "none", 12,
			lq(`sum by (host) (count_over_time(`+oomExpr+` [1h]))`, "{{host}}")).
			NoValue("No OOM kill").
			Links([]cog.Builder[dashboard.DashboardLink]{explore("Explore OOM kills", oomExpr)})).
		WithPanel(logPanel("Error lines", "The newest journal lines at level error or worse.", 24,
			lq(journalErrors, "")))
}

func hosts() *dashboard.DashboardBuilder {
	inst := `instance=~"$instance"`
	return base("hlalert-hosts", "Hosts", "node_exporter essentials per host: load, memory, filesystems, network, systemd.").
		WithVariable(instanceVar("node_uname_info")).
		WithPanel(status("Up", "1 if VictoriaMetrics scrapes node_exporter on the host.", "none", steps(red, 1, green), 6,
			qi(`max by (instance) (up{job=~".*node.*", `+inst+`})`, "{{instance}}"))).
		WithPanel(status("Uptime", "Since the last boot.", "s", nil0(), 6,
			qi(`time() - max by (instance) (node_boot_time_seconds{`+inst+`})`, "{{instance}}"))).
		WithPanel(status("Memory available", "MemAvailable / MemTotal.", "percentunit", steps(red, 0.1, orange, 0.2, green), 6,
			qi(`max by (instance) (node_memory_MemAvailable_bytes{`+inst+`} / node_memory_MemTotal_bytes{`+inst+`})`, "{{instance}}"))).
		WithPanel(status("Root filesystem free", "Free share of /.", "percentunit", steps(red, 0.1, orange, 0.2, green), 6,
			qi(`min by (instance) (node_filesystem_avail_bytes{mountpoint="/", `+inst+`} / node_filesystem_size_bytes{mountpoint="/", `+inst+`})`, "{{instance}}"))).
		WithPanel(graph("CPU busy", "Share of CPU time not idle.", "percentunit", 12,
			q(`1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle", `+inst+`}[5m]))`, "{{instance}}"))).
		WithPanel(graph("Load (1m) per CPU", "Load average over the number of CPUs.", "none", 12,
			q(`max by (instance) (node_load1{`+inst+`}) / count by (instance) (node_cpu_seconds_total{mode="idle", `+inst+`})`, "{{instance}}"))).
		WithPanel(graph("Network", "Bytes received and sent per second, loopback excluded.", "Bps", 12,
			q(`sum by (instance) (rate(node_network_receive_bytes_total{device!="lo", `+inst+`}[5m]))`, "{{instance}} in"),
			q(`sum by (instance) (rate(node_network_transmit_bytes_total{device!="lo", `+inst+`}[5m]))`, "{{instance}} out"))).
		WithPanel(tbl("Filesystems", "Free share per mount point (tmpfs and overlays left out).", "percentunit", steps(red, 0.1, orange, 0.2, green), 12,
			qi(`min by (instance, mountpoint) (node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|ramfs", `+inst+`} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|ramfs", `+inst+`})`, "")))
}

// nil0 is a single neutral step: a value with no judgement.
func nil0() *dashboard.ThresholdsConfigBuilder { return steps("text") }
