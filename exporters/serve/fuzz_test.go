package serve_test

import (
	"testing"
	"time"

	"github.com/hlalert/hlalert/exporters/serve"
	"github.com/hlalert/hlalert/exporters/serve/servetest"
)

// anyCfg has every kind of field the collector sections use.
type anyCfg struct {
	Pools    []string `yaml:"pools"`
	Datasets *bool    `yaml:"datasets"`
	Devices  []struct {
		Path    string        `yaml:"path"`
		Timeout time.Duration `yaml:"timeout"`
		Remote  *bool         `yaml:"remote"`
		LastRun *struct {
			Unit string `yaml:"unit"`
		} `yaml:"last_run"`
	} `yaml:"devices"`
	Disabled bool          `yaml:"disabled"`
	Timeout  time.Duration `yaml:"timeout"`
}

func FuzzLoad(f *testing.F) {
	for _, b := range servetest.SeedFiles(f, "testdata/config/*.yaml") {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := serve.Load(b, "fuzz.yaml", "/base")
		if err != nil {
			return
		}
		for _, s := range cfg.Collectors {
			var c anyCfg
			_ = s.Decode(&c)
		}
	})
}
