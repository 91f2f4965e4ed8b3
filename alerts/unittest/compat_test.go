package unittest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/internal/realserver"
)

// compatCase is a test file and the flags both tools get.
type compatCase struct {
	file           string
	externalLabels map[string]string
	externalURL    string
	noGroupLabel   bool
}

func (c compatCase) vmalertToolArgs() []string {
	args := []string{"unittest", "-files", c.file}
	for k, v := range c.externalLabels {
		args = append(args, "-external.label", k+"="+v)
	}
	if c.externalURL != "" {
		args = append(args, "-external.url", c.externalURL)
	}
	if c.noGroupLabel {
		args = append(args, "-disableAlertgroupLabel")
	}
	return args
}

func (c compatCase) String() string {
	s := c.file
	if strings.Contains(s, "vmalert-tool") {
		s = "vmalert-tool/" + filepath.Base(s)
	}
	if len(c.externalLabels) > 0 || c.externalURL != "" {
		s += " +external"
	}
	if c.noGroupLabel {
		s += " +disableAlertgroupLabel"
	}
	return s
}

// vmTestdata finds vmalert-tool's own testdata in the module cache through
// the tools module.
func vmTestdata(t *testing.T) string {
	t.Helper()
	mod, err := realserver.ToolsModule()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/VictoriaMetrics/VictoriaMetrics")
	cmd.Dir = mod
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("locate the VictoriaMetrics module: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "app", "vmalert-tool", "unittest", "testdata")
}

// TestVerdictsMatchVMAlertTool runs vmalert-tool v1.150.0 and hlalert on the
// same files and requires the same pass/fail verdict for each.
func TestVerdictsMatchVMAlertTool(t *testing.T) {
	bin := realserver.BuildT(t, realserver.VMAlertToolTool())
	var cases []compatCase
	// Our own corpus, and the homelab's shipped rule tests.
	for _, pattern := range []string{"testdata/pass/*.yaml", "testdata/fail/*.yaml", "testdata/bad/*.yaml", "../../rules/*.test.yml"} {
		for _, f := range globT(t, pattern) {
			if hasLogTests(f) {
				continue // vmalert-tool has no log input
			}
			cases = append(cases, compatCase{file: f})
		}
	}
	vm := vmTestdata(t)
	ext := map[string]string{"cluster": "prod"}
	for _, name := range []string{"test1.yaml", "test2.yaml", "failed-test.yaml", "failed-test-with-missing-rulefile.yaml", "disable-group-label.yaml"} {
		f := filepath.Join(vm, name)
		cases = append(cases,
			compatCase{file: f},
			compatCase{file: f, externalLabels: ext, externalURL: "http://grafana:3000"},
			compatCase{file: f, noGroupLabel: true},
		)
	}
	// Its long series take vmalert-tool seconds; one variant is enough.
	cases = append(cases, compatCase{file: filepath.Join(vm, "long-period.yaml")})
	verdicts := map[bool]int{}
	for _, c := range cases {
		t.Run(c.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, c.vmalertToolArgs()...)
			cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			if ctx.Err() != nil {
				t.Fatalf("vmalert-tool timed out:\n%s", out.String())
			}
			if _, isExit := err.(*exec.ExitError); err != nil && !isExit {
				t.Fatalf("run vmalert-tool: %v", err)
			}
			vmPass := err == nil
			verdicts[vmPass]++

			opts := testOptions()
			opts.ExternalLabels = c.externalLabels
			opts.ExternalURL = c.externalURL
			opts.DisableAlertGroupLabel = c.noGroupLabel
			res, rerr := Run(ctx, []string{c.file}, opts)
			if rerr != nil {
				t.Fatal(rerr)
			}
			hlPass := !failed(res[0])
			if vmPass != hlPass {
				var b bytes.Buffer
				WriteText(&b, res)
				t.Errorf("verdicts differ: vmalert-tool pass=%v, hlalert pass=%v\nvmalert-tool:\n%s\nhlalert:\n%s", vmPass, hlPass, out.String(), b.String())
			}
		})
	}
	// The corpus must exercise both verdicts, or agreement means nothing.
	if verdicts[true] < 3 || verdicts[false] < 3 {
		t.Errorf("corpus too one-sided: %d passing, %d failing under vmalert-tool", verdicts[true], verdicts[false])
	}
}
