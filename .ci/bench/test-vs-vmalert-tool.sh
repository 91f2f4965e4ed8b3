#!/usr/bin/env bash
# Times `hlalert test` against `vmalert-tool unittest` on the same suite of
# generated, realistic rule test files (all passing under both tools), and
# prints both times and the speed-up. Target: hlalert >= 20x faster.
#
# usage: .ci/bench/test-vs-vmalert-tool.sh [FILES]   (FILES: number of test files, default 24)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
n=${1:-24}
cache=${HLALERT_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hlalert-tools}
vmtool=$cache/vmalert-tool-v1.150.0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [[ ! -x $vmtool ]]; then
  echo "building vmalert-tool v1.150.0 into $cache" >&2
  mkdir -p "$cache"
  (cd "$root/.ci/tools" && GOWORK=off GOFLAGS=-mod=mod go build -o "$vmtool" github.com/VictoriaMetrics/VictoriaMetrics/app/vmalert-tool)
fi
(cd "$root" && go build -o "$work/hlalert" ./cmd/hlalert)

suite=$work/suite
mkdir -p "$suite"
cp "$root/alerts/unittest/testdata/rules.yaml" "$suite/rules.yaml"
for i in $(seq 1 "$n"); do
  cat > "$suite/test-$i.yaml" <<YAML
rule_files: [rules.yaml]
evaluation_interval: 1m
group_eval_order: [disks, up, backup]
tests:
  - name: backup r$i fails then recovers
    interval: 1m
    input_series:
      - series: 'backup_success{repo="r$i", host="main"}'
        values: "1x4 0x9 1x300"
      - series: 'up{job="node", instance="main$i"}'
        values: "1x300"
    alert_rule_test:
      - {eval_time: 7m, groupname: backup, alertname: BackupFailed, exp_alerts: []}
      - eval_time: 10m
        groupname: backup
        alertname: BackupFailed
        exp_alerts:
          - exp_labels: {repo: r$i, host: main, severity: critical}
            exp_annotations: {summary: "Backup r$i failed (value 0)"}
      - {eval_time: 25m, groupname: backup, alertname: BackupFailed, exp_alerts: []}
      - {eval_time: 4h, groupname: up, alertname: HostDown, exp_alerts: []}
    metricsql_expr_test:
      - expr: job:up:sum
        eval_time: 3h
        exp_samples:
          - {labels: 'job:up:sum{job="node"}', value: 1}
  - name: disk on nas$i fills up
    interval: 1m
    input_series:
      - series: 'node_filesystem_size_bytes{instance="nas$i", mountpoint="/tank"}'
        values: "1000x120"
      - series: 'node_filesystem_avail_bytes{instance="nas$i", mountpoint="/tank"}'
        values: "200-10x15 50x100"
    alert_rule_test:
      - {eval_time: 12m, groupname: disks, alertname: DiskAlmostFull, exp_alerts: []}
      - eval_time: 14m
        groupname: disks
        alertname: DiskAlmostFull
        exp_alerts:
          - exp_labels: {instance: nas$i, mountpoint: /tank, severity: warning}
            exp_annotations: {summary: "/tank on nas$i is 93% full"}
    metricsql_expr_test:
      - expr: host:disk_used:ratio
        eval_time: 1h
        exp_samples:
          - {labels: 'host:disk_used:ratio{instance="nas$i", mountpoint="/tank"}', value: 0.95}
  - name: host$i goes down
    input_series:
      - series: 'up{job="node", instance="h$i"}'
        values: "1 1 0x60"
    alert_rule_test:
      - {eval_time: 4m, groupname: up, alertname: HostDown, exp_alerts: []}
      - eval_time: 5m
        groupname: up
        alertname: HostDown
        exp_alerts:
          - exp_labels: {job: node, instance: h$i, host: h$i, severity: critical}
YAML
done

now() { date +%s.%N; }

t0=$(now)
"$work/hlalert" test "$suite" > "$work/hlalert.out" || { echo "hlalert test failed:" >&2; cat "$work/hlalert.out" >&2; exit 1; }
t1=$(now)
files=()
for f in "$suite"/test-*.yaml; do files+=(-files "$f"); done
(cd "$work" && TMPDIR=$work "$vmtool" unittest "${files[@]}" > "$work/vmalert-tool.out" 2>&1) || { echo "vmalert-tool failed:" >&2; tail -30 "$work/vmalert-tool.out" >&2; exit 1; }
t2=$(now)

awk -v a="$t0" -v b="$t1" -v c="$t2" -v n="$n" 'BEGIN {
  h = b - a; v = c - b;
  printf "suite:          %d files, 3 tests each\n", n;
  printf "hlalert test:   %.3fs\n", h;
  printf "vmalert-tool:   %.3fs\n", v;
  printf "speed-up:       %.1fx (target >= 20x)\n", v / h;
}'
