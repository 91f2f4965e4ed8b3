package serve_test

import (
	"testing"

	"github.com/hlalert/hlalert/exporters/serve"
	"github.com/hlalert/hlalert/exporters/serve/servetest"
)

type anyCfg struct {
	Pools   []string `yaml:"pools"`
	Devices []struct {
		Path string `yaml:"path"`
	} `yaml:"devices"`
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
