package serve_test

import (
	"flag"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/exporters/serve"
	"github.com/hlalert/hlalert/exporters/serve/servetest"
)

var update = flag.Bool("update", false, "rewrite the .err golden files")

// Each testdata/config/*.bad.yaml fails to load with exactly the errors of
// its .err golden (go test -update rewrites them).
func TestLoadBad(t *testing.T) {
	files, _ := filepath.Glob("testdata/config/*.bad.yaml")
	if len(files) == 0 {
		t.Fatal("no bad configs")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := serve.LoadFile(f)
			if err == nil {
				t.Fatal("loaded without error")
			}
			servetest.Golden(t, strings.TrimSuffix(f, ".yaml")+".err", []byte(err.Error()+"\n"), *update)
		})
	}
}

type zfsLike struct {
	Pools []string `yaml:"pools"`
}

type backupLike struct {
	Repositories []struct {
		Name         string `yaml:"name"`
		PasswordFile string `yaml:"password_file"`
	} `yaml:"repositories"`
}

func TestLoadGood(t *testing.T) {
	cfg, err := serve.LoadFile("testdata/config/full.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ListenAddress != "0.0.0.0:9808" || cfg.LogLevel != "debug" || len(cfg.Collectors) != 2 {
		t.Fatalf("%+v", cfg)
	}
	z, _ := cfg.Section("zfs")
	if z.Interval != time.Minute || z.Timeout != 30*time.Second {
		t.Errorf("zfs schedule %s/%s", z.Interval, z.Timeout)
	}
	var zc zfsLike
	if err := z.Decode(&zc); err != nil || len(zc.Pools) != 1 {
		t.Errorf("decode zfs: %v %+v", err, zc)
	}
	b, _ := cfg.Section("backup")
	var bc backupLike
	if err := b.Decode(&bc); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("testdata/config/secrets/restic-nas")
	if bc.Repositories[0].PasswordFile != abs {
		t.Errorf("password_file %q, want %q (relative to the config folder)", bc.Repositories[0].PasswordFile, abs)
	}
	// Strictness reaches into the collector's own section, with positions;
	// the serving keys are among the known ones.
	var wrong zfsLike
	want := `testdata/config/full.good.yaml:10:5: collectors.backup: unknown key "repositories" (known: interval, pools, update_timeout)`
	if err := b.Decode(&wrong); err == nil || err.Error() != want {
		t.Errorf("decode backup into zfs config: %v, want %s", err, want)
	}
	empty, err := serve.LoadFile("testdata/config/empty.good.yaml")
	if err != nil || empty.ListenAddress != serve.DefaultListenAddress {
		t.Errorf("empty config: %v %+v", err, empty)
	}
}

// Serving keys may come through a merge; a path reached through an alias
// or a merge is resolved against the config's folder once.
func TestSectionMergeAndPaths(t *testing.T) {
	src := `collectors:
  backup:
    <<: {interval: 5m}
    cache_dir: &dir cache
    repositories:
      - &nas {name: nas, password_file: secrets/nas}
      - {<<: *nas, name: copy}
      - {name: other, password_file: *dir}
`
	cfg, err := serve.Load([]byte(src), "c.yaml", "/etc/hlexporter")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := cfg.Section("backup")
	if b.Interval != 5*time.Minute {
		t.Errorf("interval %s, want 5m (merged)", b.Interval)
	}
	var bc struct {
		backupLike `yaml:",inline"`
		CacheDir   string `yaml:"cache_dir"`
	}
	if err := b.Decode(&bc); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range bc.Repositories {
		got = append(got, r.Name+"="+r.PasswordFile)
	}
	got = append(got, "cache_dir="+bc.CacheDir)
	want := "nas=/etc/hlexporter/secrets/nas copy=/etc/hlexporter/secrets/nas other=/etc/hlexporter/cache cache_dir=/etc/hlexporter/cache"
	if strings.Join(got, " ") != want {
		t.Errorf("got %s\nwant %s", strings.Join(got, " "), want)
	}
}
