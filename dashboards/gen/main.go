// Command gen writes hlalert's Grafana dashboards (go generate
// ./dashboards/...).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/hlalert/hlalert/dashboards"
)

func main() {
	rules := flag.String("rules", "../rules", "folder of the *.rules.yml files the thresholds are read from")
	out := flag.String("out", ".", "folder the board JSON files are written to")
	flag.Parse()
	if err := dashboards.Generate(*rules, *out); err != nil {
		fmt.Fprintln(os.Stderr, "dashboards/gen:", err)
		os.Exit(1)
	}
}
