package serve_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hlalert/hlalert/exporters/serve"
)

type anyCfg struct {
	Pools   []string `yaml:"pools"`
	Devices []struct {
		Path string `yaml:"path"`
	} `yaml:"devices"`
}

func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/config/*.yaml")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
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
