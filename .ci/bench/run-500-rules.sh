#!/usr/bin/env bash
# Runs `hlalert run` with 500 generated rules (3 alerting : 2 recording, in
# 20 groups of 25) against a real VictoriaMetrics v1.150.0 holding an hour of
# a 4-node homelab's series, for N evaluation cycles, and prints the daemon's
# memory (VmRSS, VmHWM from /proc/PID/status) and CPU time per evaluation
# cycle. Beside it, on the same rules, interval and VictoriaMetrics, runs
# vmalert v1.150.0 (notifications to -notifier.blackhole; recording results
# remote-written to the same VictoriaMetrics, as hlalert does by default) and
# prints its VmRSS and the ratio hlalert/vmalert.
# Targets: RSS under 40 MiB and at or below vmalert's. Exits 1 when either
# is missed.
#
# usage: .ci/bench/run-500-rules.sh [CYCLES] [INTERVAL]
#        (CYCLES: evaluation cycles to measure, default 10;
#         INTERVAL: evaluation interval, default 5s)
# env:   HLALERT_TOOLS_CACHE  where the VictoriaMetrics binary is cached
#        RULES                number of rules (default 500)
#        TARGET_MIB           RSS target (default 40)
#        PROFILE_DIR          when set, the daemon serves Go profiles and the
#                             script saves heap.pprof, allocs.pprof and (over
#                             10s after the measured cycles) cpu.pprof there
#        HLALERT_FLAGS        extra flags for `hlalert run`
#        LDFLAGS              -ldflags for building hlalert (e.g. "-s -w")
#        RESIDENCY            when 1, prints which ELF sections and .text
#                             modules of both daemons are resident
#                             (.ci/bench/residency; reads /proc/PID/pagemap;
#                             RESIDENCY_TOP rows, default 20)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cycles=${1:-10}
interval=${2:-5s}
nrules=${RULES:-500}
target_mib=${TARGET_MIB:-40}
cache=${HLALERT_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hlalert-tools}
vmbin=$cache/victoria-metrics-v1.150.0
vmalertbin=$cache/vmalert-v1.150.0
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
  echo $((20000 + RANDOM % 20000)); }

wait_http() { # URL SECONDS
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for $1" >&2
  return 1
}

if [[ ! -x $vmbin ]]; then
  echo "building VictoriaMetrics v1.150.0 into $cache" >&2
  (cd "$root" && go test -count=1 -run 'TestBuildTools/victoria-metrics$' ./alerts/internal/realserver >&2)
fi
if [[ ! -x $vmalertbin ]]; then
  echo "building vmalert v1.150.0 into $cache" >&2
  (cd "$root" && go test -count=1 -run 'TestBuildTools/vmalert$' ./alerts/internal/realserver >&2)
fi
echo "building hlalert and the generator" >&2
(cd "$root" && go build -ldflags="${LDFLAGS:-}" -o "$work/hlalert" ./cmd/hlalert && go build -o "$work/gen500" ./.ci/bench/gen500 &&
  go build -o "$work/residency" ./.ci/bench/residency)

# VictoriaMetrics with an hour of series.
vmport=$(free_port)
"$vmbin" -httpListenAddr=127.0.0.1:"$vmport" -storageDataPath="$work/vm" -retentionPeriod=100y \
  -loggerLevel=ERROR -search.latencyOffset=0s >"$work/vm.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$vmport/health" 60
"$work/gen500" series 1 >"$work/series.jsonl"
curl -fsS --data-binary @"$work/series.jsonl" "http://127.0.0.1:$vmport/api/v1/import"
curl -fsS -o /dev/null "http://127.0.0.1:$vmport/internal/force_flush"
nseries=$(wc -l <"$work/series.jsonl")

# hlalert with the generated rules.
"$work/gen500" rules "$nrules" >"$work/rules.yaml"
"$work/hlalert" check "$work/rules.yaml" >/dev/null
hport=$(free_port)
cat >"$work/hlalert.yaml" <<YAML
datasource:
  victoriametrics:
    url: http://127.0.0.1:$vmport
rule_files: [rules.yaml]
evaluation_interval: $interval
listen: 127.0.0.1:$hport
state_dir: state
outbox_dir: outbox
YAML
extra=()
if [[ -n ${PROFILE_DIR:-} ]]; then
  pport=$(free_port)
  extra+=(--debug.pprof-listen=127.0.0.1:"$pport")
fi
# shellcheck disable=SC2206
extra+=(${HLALERT_FLAGS:-})
"$work/hlalert" run --config "$work/hlalert.yaml" --log.level=warn "${extra[@]}" >"$work/hlalert.log" 2>&1 &
hpid=$!
pids+=($hpid)
# vmalert beside it: same rules, interval and datasource.
vaport=$(free_port)
# Its own defaults: no GOGC/GOMEMLIMIT from this shell (they are hlalert's knobs).
env -u GOGC -u GOMEMLIMIT "$vmalertbin" -rule="$work/rules.yaml" -datasource.url="http://127.0.0.1:$vmport" \
  -remoteWrite.url="http://127.0.0.1:$vmport" \
  -evaluationInterval="$interval" -notifier.blackhole -httpListenAddr=127.0.0.1:"$vaport" \
  -loggerLevel=ERROR >"$work/vmalert.log" 2>&1 &
vapid=$!
pids+=($vapid)
wait_http "http://127.0.0.1:$hport/-/ready" 60 || { cat "$work/hlalert.log" >&2; exit 1; }
wait_http "http://127.0.0.1:$vaport/health" 60 || { cat "$work/vmalert.log" >&2; exit 1; }

metric() { # sum of a metric's samples in hlalert's /metrics
  curl -fsS "http://127.0.0.1:$hport/metrics" | awk -v m="$1" '$1 == m || index($1, m "{") == 1 { s += $NF } END { printf "%.6f\n", s + 0 }'
}
evals() { metric hlalert_rule_group_evaluations_total | cut -d. -f1; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$hpid/stat"; }
status_kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/${2:-$hpid}/status"; }
vmalert_evals() {
  curl -fsS "http://127.0.0.1:$vaport/metrics" | awk '$1 ~ /^vmalert_iteration_total[{]/ { s += $NF } END { printf "%d\n", s + 0 }'
}

ngroups=$(( (nrules + 24) / 25 ))
# Warm-up: one full cycle of every group.
until (( $(evals) >= ngroups )); do sleep 0.2; kill -0 "$hpid"; done
e0=$(evals)
c0=$(cpu_ticks)
d0=$(metric hlalert_rule_group_evaluation_duration_seconds_sum)
want=$((e0 + cycles * ngroups))
t0=$(date +%s.%N)
# Poll once a second: every poll is a /metrics scrape (a Gather reading
# /proc), and at 5/s those scrapes were a visible part of the CPU measured.
until (( $(evals) >= want )); do sleep 1; kill -0 "$hpid"; kill -0 "$vapid"; done
t1=$(date +%s.%N)
e1=$(evals)
c1=$(cpu_ticks)
d1=$(metric hlalert_rule_group_evaluation_duration_seconds_sum)
rss=$(status_kib VmRSS)
hwm=$(status_kib VmHWM)
rssfile=$(status_kib RssFile)
rssanon=$(status_kib RssAnon)
varss=$(status_kib VmRSS "$vapid")
vahwm=$(status_kib VmHWM "$vapid")
varssfile=$(status_kib RssFile "$vapid")
varssanon=$(status_kib RssAnon "$vapid")
vaevals=$(vmalert_evals)
heapinuse=$(metric go_memstats_heap_inuse_bytes)
gosys=$(metric go_memstats_sys_bytes)
stacks=$(metric go_memstats_stack_sys_bytes)
gcmeta=$(awk -v a="$(metric go_memstats_gc_sys_bytes)" -v b="$(metric go_memstats_mspan_sys_bytes)" -v c="$(metric go_memstats_mcache_sys_bytes)" -v d="$(metric go_memstats_buck_hash_sys_bytes)" -v e="$(metric go_memstats_other_sys_bytes)" 'BEGIN { print a + b + c + d + e }')
heapidle=$(awk -v a="$(metric go_memstats_heap_idle_bytes)" -v b="$(metric go_memstats_heap_released_bytes)" 'BEGIN { print a - b }')
hz=$(getconf CLK_TCK)
done_cycles=$(awk -v a="$e0" -v b="$e1" -v g="$ngroups" 'BEGIN { printf "%.2f", (b - a) / g }')

if [[ -n ${PROFILE_DIR:-} ]]; then
  mkdir -p "$PROFILE_DIR"
  curl -fsS -o "$PROFILE_DIR/heap.pprof" "http://127.0.0.1:$pport/debug/pprof/heap"
  curl -fsS -o "$PROFILE_DIR/allocs.pprof" "http://127.0.0.1:$pport/debug/pprof/allocs"
  curl -fsS -o "$PROFILE_DIR/cpu.pprof" "http://127.0.0.1:$pport/debug/pprof/profile?seconds=10"
  cp "$work/hlalert" "$PROFILE_DIR/hlalert"
fi

if [[ ${RESIDENCY:-} == 1 ]]; then
  echo "== hlalert: resident pages of its executable"
  "$work/residency" "$hpid" "${RESIDENCY_TOP:-20}"
  echo "== vmalert: resident pages of its executable"
  "$work/residency" "$vapid" "${RESIDENCY_TOP:-20}"
fi

firing=$(curl -fsS "http://127.0.0.1:$hport/api/v1/alerts" | grep -o '"state":"firing"' | wc -l || true)
failures=$(metric hlalert_rule_group_evaluation_failures_total)

echo "hlalert run: $nrules rules in $ngroups groups, every $interval, against VictoriaMetrics v1.150.0 ($nseries series, 1h at 15s)"
awk -v c="$done_cycles" -v dc="$((c1 - c0))" -v hz="$hz" -v d="$(awk -v a="$d0" -v b="$d1" 'BEGIN{print b-a}')" \
  -v t="$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')" -v rss="$rss" -v hwm="$hwm" -v tgt="$target_mib" \
  -v firing="$firing" -v fail="$failures" -v rf="$rssfile" -v ra="$rssanon" -v hi="$heapinuse" -v gs="$gosys" -v st="$stacks" -v gm="$gcmeta" -v hid="$heapidle" \
  -v varss="$varss" -v vahwm="$vahwm" -v varf="$varssfile" -v vara="$varssanon" -v vac="$(awk -v e="$vaevals" -v g="$ngroups" 'BEGIN { printf "%.2f", e / g }')" 'BEGIN {
  printf "cycles measured:          %s (%.1fs wall)\n", c, t
  printf "CPU per cycle:            %.1f ms (user+sys; %d ticks total at %d Hz)\n", dc / hz / c * 1000, dc, hz
  printf "evaluation time per cycle: %.1f ms (sum over groups, wall)\n", d / c * 1000
  printf "VmRSS:                    %.1f MiB\n", rss / 1024
  printf "VmHWM (peak RSS):         %.1f MiB\n", hwm / 1024
  printf "RssFile / RssAnon:        %.1f / %.1f MiB\n", rf / 1024, ra / 1024
  printf "Go heap in use / Go sys:  %.1f / %.1f MiB\n", hi / 1048576, gs / 1048576
  printf "Go stacks / runtime meta / heap idle not released: %.1f / %.1f / %.1f MiB\n", st / 1048576, gm / 1048576, hid / 1048576
  printf "firing alerts:            %d; group evaluations with failures: %d\n", firing, fail
  printf "vmalert v1.150.0 beside it: %s cycles done in all\n", vac
  printf "vmalert VmRSS / VmHWM:    %.1f / %.1f MiB\n", varss / 1024, vahwm / 1024
  printf "vmalert RssFile / RssAnon: %.1f / %.1f MiB\n", varf / 1024, vara / 1024
  printf "VmRSS ratio hlalert/vmalert: %.2f\n", rss / varss
  bad = 0
  if (rss / 1024 > tgt) { printf "RESULT: VmRSS above the %d MiB target\n", tgt; bad = 1 }
  else printf "RESULT: VmRSS within the %d MiB target\n", tgt
  if (rss > varss) { printf "RESULT: VmRSS above vmalert\x27s\n"; bad = 1 }
  else printf "RESULT: VmRSS at or below vmalert\x27s\n"
  exit bad
}'
