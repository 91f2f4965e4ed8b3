package serve_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/exporters/serve"
)

func TestLoadBad(t *testing.T) {
	files, _ := filepath.Glob("testdata/config/*.bad.yaml")
	if len(files) == 0 {
		t.Fatal("no bad configs")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(fh)
			sc.Scan()
			fh.Close()
			want, ok := strings.CutPrefix(sc.Text(), "# want: ")
			if !ok {
				t.Fatal("first line must be '# want: <error substring>'")
			}
			_, err = serve.LoadFile(f)
			if err == nil {
				t.Fatal("loaded without error")
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
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
	// Strictness reaches into the collector's own section, with positions.
	var wrong zfsLike
	if err := b.Decode(&wrong); err == nil || !strings.Contains(err.Error(), "full.good.yaml:10:5: collectors.backup.repositories: unknown field") {
		t.Errorf("decode backup into zfs config: %v", err)
	}
	empty, err := serve.LoadFile("testdata/config/empty.good.yaml")
	if err != nil || empty.ListenAddress != serve.DefaultListenAddress {
		t.Errorf("empty config: %v %+v", err, empty)
	}
}

func TestDecodeStrictNested(t *testing.T) {
	type inner struct {
		A int `yaml:"a"`
	}
	type outer struct {
		Items []inner          `yaml:"items"`
		M     map[string]inner `yaml:"m"`
	}
	cfg, err := serve.Load([]byte("collectors:\n  x:\n    items:\n      - a: 1\n      - b: 2\n    m:\n      k: {c: 3}\n"), "x.yaml", "")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := cfg.Section("x")
	var o outer
	err = s.Decode(&o)
	if err == nil {
		t.Fatal("unknown nested keys accepted")
	}
	for _, want := range []string{`x.yaml:5:9: collectors.x.items[1].b: unknown field "b"`, `x.yaml:7:11: collectors.x.m.k.c: unknown field "c"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestDecodeTypeErrors(t *testing.T) {
	type inner struct {
		A int `yaml:"a"`
	}
	type outer struct {
		Items []inner `yaml:"items"`
	}
	cfg, err := serve.Load([]byte("collectors:\n  x:\n    items:\n      - a: 1\n      - a: many\n      - a: [2]\n"), "x.yaml", "")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := cfg.Section("x")
	var o outer
	err = s.Decode(&o)
	// yaml.v3 names the line of a type error, not its column.
	want := "x.yaml:5: cannot unmarshal !!str `many` into int\nx.yaml:6: cannot unmarshal !!seq into int"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}
