// Command gen writes hlalert's Grafana dashboards (go generate
// ./dashboards/...).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/hlalert/hlalert/dashboards"
)

func main() {
	rules := flag.String("rules", "../rules", "folder of the *.rules.yml files the thresholds are read from")
	out := flag.String("out", ".", "folder the board JSON files are written to")
	prev := flag.String("preview", "", "when set, also render the HTML preview of the boards over the replayed homelabs into this folder")
	root := flag.String("root", "..", "repository root (golden files, rules and scenarios of the preview)")
	flag.Parse()
	if err := dashboards.Generate(*rules, *out); err != nil {
		fmt.Fprintln(os.Stderr, "dashboards/gen:", err)
		os.Exit(1)
	}
	if *prev != "" {
		if err := dashboards.WritePreviews(context.Background(), *root, *out, *prev); err != nil {
			fmt.Fprintln(os.Stderr, "dashboards/gen:", err)
			os.Exit(1)
		}
	}
}
