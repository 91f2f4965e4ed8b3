#!/usr/bin/env bash
# Times the LogQL rule test suite (rules/journal.test.yml) under
# `hlalert test` against the same queries answered by a real Loki v3.7.8
# (a fresh Loki per test: push the test's lines, then every query the suite
# makes — each LogQL rule at each evaluation tick and each logql_expr_test),
# one at a time on both sides, and prints both times, the ratio and the
# metric answers that differ (the first of each expression). Loki is built
# and cached by alerts/internal/realserver.
#
# usage: .ci/bench/logql-vs-loki.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=$(go test -run '^$' -bench '^BenchmarkLogQLSuiteVsLoki$' -benchtime 1x ./alerts/unittest/ 2>&1) || { echo "$out"; exit 1; }
echo "$out" | grep -vE '^(goos|goarch|pkg|cpu|PASS|ok|Benchmark)'
