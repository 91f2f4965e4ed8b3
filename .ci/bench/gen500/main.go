// Command gen500 writes the inputs of .ci/bench/run-500-rules.sh:
//
//	gen500 series HOURS   > series.jsonl  (VictoriaMetrics /api/v1/import lines
//	                                       of a 4-node homelab, 15s resolution,
//	                                       ending now)
//	gen500 rules N        > rules.yaml    (N rules, ~60% alerting, in groups of 25)
//
// It lives under .ci (ignored by ./... patterns); run it with
// `go run ./.ci/bench/gen500`.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gen500 series HOURS | gen500 rules N")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n <= 0 {
		fmt.Fprintf(os.Stderr, "gen500: %q: want a positive number\n", os.Args[2])
		os.Exit(2)
	}
	w := bufio.NewWriter(os.Stdout)
	switch os.Args[1] {
	case "series":
		err = series(w, n, time.Now())
	case "rules":
		err = rules(w, n)
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gen500: %v\n", err)
		os.Exit(1)
	}
}

var hosts = []string{"main", "ha", "nas", "edge"}

type line struct {
	Metric     map[string]string `json:"metric"`
	Values     []float64         `json:"values"`
	Timestamps []int64           `json:"timestamps"`
}

// series writes hours of 15s samples for about 60 series per host.
func series(w *bufio.Writer, hours int, end time.Time) error {
	enc := json.NewEncoder(w)
	steps := hours * 240
	endMs := end.UnixMilli() / 15000 * 15000
	ts := make([]int64, steps)
	for i := range ts {
		ts[i] = endMs - int64(steps-1-i)*15000
	}
	emit := func(labels map[string]string, f func(i int) float64) error {
		vs := make([]float64, steps)
		for i := range vs {
			vs[i] = f(i)
		}
		return enc.Encode(line{Metric: labels, Values: vs, Timestamps: ts})
	}
	type s struct {
		labels map[string]string
		f      func(i int) float64
	}
	for hi, h := range hosts {
		inst := h + ":9100"
		var all []s
		all = append(all, s{map[string]string{"__name__": "up", "job": "node", "instance": inst}, func(i int) float64 {
			if h == "edge" && i%240 > 200 {
				return 0 // edge drops out now and then
			}
			return 1
		}})
		all = append(all, s{map[string]string{"__name__": "up", "job": "hlexporter", "instance": h + ":9180"}, func(int) float64 { return 1 }})
		for cpu := 0; cpu < 4; cpu++ {
			for mi, mode := range []string{"user", "system", "idle", "iowait"} {
				rate := []float64{0.2, 0.05, 0.7, 0.05}[mi] * (1 + 0.3*float64(hi))
				all = append(all, s{map[string]string{"__name__": "node_cpu_seconds_total", "job": "node", "instance": inst, "cpu": strconv.Itoa(cpu), "mode": mode},
					func(i int) float64 { return 1e6 + float64(i)*15*rate }})
			}
		}
		total := float64(8<<30) * float64(hi+1)
		all = append(all,
			s{map[string]string{"__name__": "node_memory_MemTotal_bytes", "job": "node", "instance": inst}, func(int) float64 { return total }},
			s{map[string]string{"__name__": "node_memory_MemAvailable_bytes", "job": "node", "instance": inst}, func(i int) float64 {
				return total * (0.3 + 0.2*math.Sin(float64(i)/40))
			}},
			s{map[string]string{"__name__": "node_load1", "job": "node", "instance": inst}, func(i int) float64 { return 1 + float64(hi) + math.Sin(float64(i)/10) }},
		)
		for mi, mp := range []string{"/", "/nix", "/home", "/tank"} {
			size := float64(100<<30) * float64(mi+1)
			all = append(all,
				s{map[string]string{"__name__": "node_filesystem_size_bytes", "job": "node", "instance": inst, "mountpoint": mp, "fstype": "zfs"}, func(int) float64 { return size }},
				s{map[string]string{"__name__": "node_filesystem_avail_bytes", "job": "node", "instance": inst, "mountpoint": mp, "fstype": "zfs"}, func(i int) float64 {
					return size * (0.5 - 0.1*float64(hi) - float64(i)*1e-4)
				}},
			)
		}
		for _, dev := range []string{"eth0", "wlan0"} {
			all = append(all, s{map[string]string{"__name__": "node_network_receive_errs_total", "job": "node", "instance": inst, "device": dev}, func(i int) float64 { return float64(i / 20) }})
			all = append(all, s{map[string]string{"__name__": "node_network_receive_bytes_total", "job": "node", "instance": inst, "device": dev}, func(i int) float64 { return float64(i) * 15 * 1e6 }})
		}
		for ri, repo := range []string{"photos", "documents", "nixos"} {
			all = append(all, s{map[string]string{"__name__": "backup_last_success_timestamp_seconds", "job": "hlexporter", "instance": h + ":9180", "repo": repo}, func(i int) float64 {
				return float64(ts[i]/1000) - float64(3600*(ri+hi*8))
			}})
			all = append(all, s{map[string]string{"__name__": "backup_last_run_success", "job": "hlexporter", "instance": h + ":9180", "repo": repo}, func(i int) float64 {
				if ri == 2 && hi == 3 {
					return 0
				}
				return 1
			}})
		}
		for pi, pool := range []string{"rpool", "tank"} {
			all = append(all, s{map[string]string{"__name__": "zfs_pool_healthy", "job": "hlexporter", "instance": h + ":9180", "pool": pool}, func(int) float64 {
				if pi == 1 && hi == 2 {
					return 0
				}
				return 1
			}})
		}
		for _, c := range []string{"backup", "zfs", "deploy", "nvr"} {
			all = append(all, s{map[string]string{"__name__": "hlexporter_collector_success", "job": "hlexporter", "instance": h + ":9180", "collector": c}, func(int) float64 { return 1 }})
		}
		all = append(all, s{map[string]string{"__name__": "deploy_last_success_timestamp_seconds", "job": "hlexporter", "instance": h + ":9180"}, func(i int) float64 { return float64(ts[i]/1000) - 7200 }})
		if h == "nas" {
			for cam := 1; cam <= 6; cam++ {
				all = append(all, s{map[string]string{"__name__": "nvr_camera_recording", "job": "hlexporter", "instance": h + ":9180", "camera": "cam" + strconv.Itoa(cam)}, func(i int) float64 {
					if cam == 6 && i%100 > 80 {
						return 0
					}
					return 1
				}})
			}
		}
		for _, x := range all {
			if err := emit(x.labels, x.f); err != nil {
				return err
			}
		}
	}
	return nil
}

// Templates of realistic homelab rules; %[1]s is a host, %[2]d a number
// that varies per rule.
var alertTemplates = []string{
	`up{job="node",instance="%[1]s:9100"} == 0`,
	`(node_filesystem_avail_bytes{instance="%[1]s:9100",fstype!="tmpfs"} / node_filesystem_size_bytes{instance="%[1]s:9100"}) < 0.%[2]d`,
	`predict_linear(node_filesystem_avail_bytes{instance="%[1]s:9100"}[1h], %[2]d * 3600) < 0`,
	`sum by (instance) (rate(node_cpu_seconds_total{instance="%[1]s:9100",mode!="idle"}[5m])) > %[2]d`,
	`1 - node_memory_MemAvailable_bytes{instance="%[1]s:9100"} / node_memory_MemTotal_bytes{instance="%[1]s:9100"} > 0.%[2]d`,
	`time() - backup_last_success_timestamp_seconds{instance="%[1]s:9180"} > %[2]d * 3600`,
	`backup_last_run_success{instance="%[1]s:9180"} == 0`,
	`zfs_pool_healthy{instance="%[1]s:9180"} != 1`,
	`increase(node_network_receive_errs_total{instance="%[1]s:9100"}[10m]) > %[2]d`,
	`avg_over_time(node_load1{instance="%[1]s:9100"}[5m]) > %[2]d`,
	`min_over_time(hlexporter_collector_success{instance="%[1]s:9180"}[15m]) == 0`,
	`time() - deploy_last_success_timestamp_seconds{instance="%[1]s:9180"} > %[2]d * 86400`,
	`min_over_time(nvr_camera_recording[5m]) == 0 and on() vector(%[2]d) > 0`,
	`absent_over_time(up{job="hlexporter",instance="%[1]s:9180"}[5m])`,
}

var recordTemplates = []struct{ name, expr string }{
	{"instance:node_cpu_utilisation:rate5m", `sum by (instance) (rate(node_cpu_seconds_total{instance="%[1]s:9100",mode!="idle"}[5m])) / %[2]d`},
	{"instance:node_memory_utilisation:ratio", `1 - node_memory_MemAvailable_bytes{instance="%[1]s:9100"} / node_memory_MemTotal_bytes{instance="%[1]s:9100"} + 0 * %[2]d`},
	{"instance_mountpoint:node_filesystem_used:ratio", `1 - node_filesystem_avail_bytes{instance="%[1]s:9100"} / node_filesystem_size_bytes{instance="%[1]s:9100"} + 0 * %[2]d`},
	{"instance:node_network_receive_bytes:rate5m", `sum by (instance) (rate(node_network_receive_bytes_total{instance="%[1]s:9100"}[5m])) * %[2]d`},
	{"repo:backup_age_seconds:max", `max by (repo) (time() - backup_last_success_timestamp_seconds{instance="%[1]s:9180"}) + 0 * %[2]d`},
	{"instance:node_load1:quantile_1h", `quantile_over_time(0.%[2]d, node_load1{instance="%[1]s:9100"}[1h])`},
}

// rules writes n rules in groups of 25, 3 alerting for 2 recording.
func rules(w *bufio.Writer, n int) error {
	fmt.Fprintln(w, "groups:")
	for i := 0; i < n; i++ {
		if i%25 == 0 {
			fmt.Fprintf(w, "  - name: bench-%02d\n    rules:\n", i/25)
		}
		h := hosts[i%len(hosts)]
		k := 1 + i%9
		if i%5 < 3 {
			expr := fmt.Sprintf(alertTemplates[i%len(alertTemplates)], h, k)
			fmt.Fprintf(w, "      - alert: Bench%03d\n        expr: %s\n        for: %dm\n        labels:\n          severity: %s\n        annotations:\n          summary: %s\n          description: %s\n",
				i, strconv.Quote(expr), i%3, []string{"warning", "critical"}[i%2], strconv.Quote("{{ $labels.instance }} tripped rule "+strconv.Itoa(i)+" (value {{ $value }})"),
				strconv.Quote("Benchmark rule "+strconv.Itoa(i)+" on "+h+": {{ $labels }}"))
		} else {
			r := recordTemplates[i%len(recordTemplates)]
			fmt.Fprintf(w, "      - record: %s\n        expr: %s\n        labels:\n          bench_rule: \"%d\"\n", r.name, strconv.Quote(fmt.Sprintf(r.expr, h, k)), i)
		}
	}
	return nil
}
