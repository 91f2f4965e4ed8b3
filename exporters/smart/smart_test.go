package smart

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/exporters/cmdrun"
	"github.com/hlalert/hlalert/exporters/serve/servetest"
)

var update = flag.Bool("update", false, "rewrite golden files")

var testNow = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func fixture(p string) string { return filepath.Join("testdata", p) }

// exitReply replays a captured document with the exit status smartctl
// recorded in it, as the real runner would return it.
func exitReply(t *testing.T, p string) cmdrun.Reply {
	t.Helper()
	b, err := os.ReadFile(fixture(p))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Parse(b, 0)
	if err != nil && r.ExitStatus == 0 {
		t.Fatalf("%s: %v", p, err)
	}
	return cmdrun.Reply{Stdout: b, ExitCode: r.ExitStatus}
}

func TestParseFixtures(t *testing.T) {
	cases := map[string]func(Report) error{
		"published/scrutiny-smartctl-7.0-ata-pass-trimmed.json": func(r Report) error {
			if !r.HealthKnown || !r.HealthPassed || r.TemperatureC != 32 || r.PowerOnHours != 1730 || r.Reallocated != 0 || r.Pending != 0 {
				return fmt.Errorf("%+v", r)
			}
			return nil
		},
		"published/scrutiny-smartctl-7.1-ata-failing-trimmed.json": func(r Report) error {
			if r.HealthPassed || r.ExitStatus != 216 || r.Reallocated != 1975 || r.Pending != 8 || r.ExitStatus&BitDiskFailing == 0 {
				return fmt.Errorf("%+v", r)
			}
			return nil
		},
		"smartctl-7.3-local/sleep-mode-sat-devnull.json": func(r Report) error {
			if !r.Standby || r.OpenFailed || r.HealthKnown {
				return fmt.Errorf("%+v", r)
			}
			return nil
		},
		"smartctl-7.3-local/open-failed-nvme.json": func(r Report) error {
			if !r.OpenFailed || r.Standby {
				return fmt.Errorf("%+v", r)
			}
			return nil
		},
		"smartctl-7.3-local/unable-to-detect-device-type.json": nil, // exit 1: error
		"smartctl-7.4-qemu/sda-sat-autodetected.json": func(r Report) error {
			if r.Protocol != "ATA" || !r.HealthKnown || !r.HealthPassed || r.ExitStatus != 0 {
				return fmt.Errorf("%+v", r)
			}
			return nil
		},
		// What `-d scsi` from the scan reads of the same SATA disk: no health.
		"smartctl-7.4-qemu/sda-d-scsi.json": func(r Report) error {
			if r.HealthKnown || r.ExitStatus != 4 {
				return fmt.Errorf("%+v", r)
			}
			return nil
		},
		"smartctl-7.4-qemu/nvme1-d-nvme-critical-warning.json": func(r Report) error {
			if r.Protocol != "NVMe" || r.HealthPassed || r.CriticalWarning != 4 || r.ExitStatus&BitDiskFailing == 0 {
				return fmt.Errorf("%+v", r)
			}
			return nil
		},
		// SAS disks: identity in scsi_* (smartctl >= 7.3) or vendor /
		// model_name / revision (7.1, 7.2); grown defects and the error
		// counter log pages.
		"published/smartctl_exporter-7.4-sas-seagate-st373453lc-grown-defects.json": func(r Report) error {
			if r.Protocol != "SCSI" || r.Vendor != "SEAGATE" || r.Model != "SEAGATE ST373453LC" || r.Firmware != "DX10" ||
				!r.HealthPassed || r.GrownDefects != 260 || len(r.Uncorrected) != 2 || r.Uncorrected["read"] != 1 || r.Uncorrected["write"] != 535 {
				return fmt.Errorf("%+v", r)
			}
			return nil
		},
		"published/smartctl_exporter-7.3-sas-hitachi-h109060sesun600g.json": func(r Report) error {
			if r.Vendor != "HITACHI" || r.Model != "HITACHI H109060SESUN600G" || r.Firmware != "A31A" ||
				r.GrownDefects != 0 || len(r.Uncorrected) != 3 || r.Uncorrected["verify"] != 0 {
				return fmt.Errorf("%+v", r)
			}
			return nil
		},
		"published/checkmk-smartctl-7.2-sas-toshiba-al13sxb60en.json": func(r Report) error {
			if r.Vendor != "TOSHIBA" || r.Model != "TOSHIBA AL13SXB60EN" || r.Firmware != "5702" || r.TemperatureC != 41 ||
				r.GrownDefects != 0 || len(r.Uncorrected) != 2 {
				return fmt.Errorf("%+v", r)
			}
			return nil
		},
		"published/smartctl_exporter-7.1-sas-megaraid-toshiba-mg08sca16tey.json": func(r Report) error {
			if r.Type != "megaraid,1" || r.Vendor != "TOSHIBA" || r.Model != "TOSHIBA MG08SCA16TEY" || r.Firmware != "EJ08" || len(r.Uncorrected) != 3 {
				return fmt.Errorf("%+v", r)
			}
			return nil
		},
		// ATA and NVMe documents have no SCSI logs.
		"published/scrutiny-smartctl-7.1-nvme.json": func(r Report) error {
			if r.Protocol != "NVMe" || r.Vendor != "" || r.GrownDefects != -1 || r.Uncorrected != nil ||
				r.PercentUsed != 0 || r.AvailableSpare != 100 || r.UnsafeShutdowns != 43 || r.TemperatureC != 36 {
				return fmt.Errorf("%+v", r)
			}
			return nil
		},
	}
	for p, check := range cases {
		b, err := os.ReadFile(fixture(p))
		if err != nil {
			t.Fatal(err)
		}
		r, err := Parse(b, 0)
		if check == nil {
			if err == nil {
				t.Errorf("%s: no error", p)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if err := check(r); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	if _, err := Parse([]byte(`{"smartctl":{}}`), 0); err == nil {
		t.Error("a document without json_format_version was accepted")
	}
}

func TestCollectorGolden(t *testing.T) {
	for _, sc := range []struct {
		name    string
		cfg     Config
		replies func(t *testing.T) map[string]cmdrun.Reply
		wantErr string
	}{
		{"ata-nvme-failing-standby", Config{Devices: []Device{{Path: "/dev/sda"}, {Path: "/dev/sdb"}, {Path: "/dev/nvme0"}, {Path: "/dev/sdc", Type: "sat"}}},
			func(t *testing.T) map[string]cmdrun.Reply {
				return map[string]cmdrun.Reply{
					"smartctl --json --nocheck=standby -a /dev/sda":        exitReply(t, "published/scrutiny-smartctl-7.0-ata-pass-trimmed.json"),
					"smartctl --json --nocheck=standby -a /dev/sdb":        exitReply(t, "published/scrutiny-smartctl-7.1-ata-failing-trimmed.json"),
					"smartctl --json --nocheck=standby -a /dev/nvme0":      exitReply(t, "published/scrutiny-smartctl-7.1-nvme.json"),
					"smartctl --json --nocheck=standby -a -d sat /dev/sdc": exitReply(t, "smartctl-7.3-local/sleep-mode-sat-devnull.json"),
				}
			}, ""},
		// smartctl 7.4 in a QEMU guest: the scan lists the AHCI disk as
		// "scsi" and two NVMe controllers, the second reporting critical
		// warning 0x04 (reliability degraded, exit status 8).
		{"qemu-scan-sat-nvme-critical-warning", Config{}, qemuReplies, ""},
		// The two healthy disks of the same guest, listed by hand: a
		// homelab whose disks are all fine (the dashboards' healthy
		// scenario).
		{"qemu-sat-nvme-healthy", Config{Devices: []Device{{Path: "/dev/sda"}, {Path: "/dev/nvme0", Type: "nvme"}}},
			func(t *testing.T) map[string]cmdrun.Reply {
				return map[string]cmdrun.Reply{
					"smartctl --json --nocheck=standby -a /dev/sda":           exitReply(t, "smartctl-7.4-qemu/sda-sat-autodetected.json"),
					"smartctl --json --nocheck=standby -a -d nvme /dev/nvme0": exitReply(t, "smartctl-7.4-qemu/nvme0-d-nvme.json"),
				}
			}, ""},
		{"scan-empty", Config{}, func(t *testing.T) map[string]cmdrun.Reply {
			return map[string]cmdrun.Reply{"smartctl --scan --json": {StdoutFile: fixture("smartctl-7.3-local/scan-empty.json")}}
		}, ""},
		{"open-failed-partial", Config{Devices: []Device{{Path: "/dev/sda"}, {Path: "/dev/nvme9"}}},
			func(t *testing.T) map[string]cmdrun.Reply {
				return map[string]cmdrun.Reply{
					"smartctl --json --nocheck=standby -a /dev/sda":   exitReply(t, "published/scrutiny-smartctl-7.0-ata-pass-trimmed.json"),
					"smartctl --json --nocheck=standby -a /dev/nvme9": exitReply(t, "smartctl-7.3-local/open-failed-nvme.json"),
				}
			}, "could not open"},
		{"tool-missing", Config{}, func(t *testing.T) map[string]cmdrun.Reply {
			return map[string]cmdrun.Reply{"smartctl --scan --json": {Err: fmt.Errorf("smartctl: %w", cmdrun.ErrNotFound)}}
		}, "tool not found"},
		{"garbage", Config{Devices: []Device{{Path: "/dev/sda"}}}, func(t *testing.T) map[string]cmdrun.Reply {
			return map[string]cmdrun.Reply{"smartctl --json --nocheck=standby -a /dev/sda": {Stdout: []byte("smartctl 7.3\nSMART overall-health: PASSED\n")}}
		}, "smartctl json"},
		{"permission-denied", Config{Devices: []Device{{Path: "/dev/sda"}}}, func(t *testing.T) map[string]cmdrun.Reply {
			return map[string]cmdrun.Reply{"smartctl --json --nocheck=standby -a /dev/sda": {Err: fmt.Errorf("smartctl: %w", cmdrun.ErrPermission)}}
		}, "permission denied"},
		// SAS disks as smartctl 7.1 to 7.4 print them: a healthy one behind
		// a MegaRAID controller, one with the old field names, and one whose
		// SMART health says PASSED with 260 grown defects and 535
		// uncorrected write errors.
		{"sas", Config{Devices: []Device{{Path: "/dev/bus/0", Type: "megaraid,1"}, {Path: "/dev/da5"}, {Path: "/dev/sdb"}, {Path: "/dev/sdc"}}},
			func(t *testing.T) map[string]cmdrun.Reply {
				return map[string]cmdrun.Reply{
					"smartctl --json --nocheck=standby -a -d megaraid,1 /dev/bus/0": exitReply(t, "published/smartctl_exporter-7.1-sas-megaraid-toshiba-mg08sca16tey.json"),
					"smartctl --json --nocheck=standby -a /dev/da5":                 exitReply(t, "published/checkmk-smartctl-7.2-sas-toshiba-al13sxb60en.json"),
					"smartctl --json --nocheck=standby -a /dev/sdb":                 exitReply(t, "published/smartctl_exporter-7.3-sas-hitachi-h109060sesun600g.json"),
					"smartctl --json --nocheck=standby -a /dev/sdc":                 exitReply(t, "published/smartctl_exporter-7.4-sas-seagate-st373453lc-grown-defects.json"),
				}
			}, ""},
		// Three SAS disks behind one MegaRAID controller share its path:
		// each gets the type in its device label.
		{"megaraid-shared-path", Config{Devices: []Device{{Path: "/dev/bus/0", Type: "megaraid,0"}, {Path: "/dev/bus/0", Type: "megaraid,1"}, {Path: "/dev/bus/0", Type: "megaraid,2"}}},
			func(t *testing.T) map[string]cmdrun.Reply {
				return map[string]cmdrun.Reply{
					"smartctl --json --nocheck=standby -a -d megaraid,0 /dev/bus/0": exitReply(t, "published/smartctl_exporter-7.4-sas-megaraid0-toshiba-al15seb24eqy.json"),
					"smartctl --json --nocheck=standby -a -d megaraid,1 /dev/bus/0": exitReply(t, "published/smartctl_exporter-7.1-sas-megaraid-toshiba-mg08sca16tey.json"),
					"smartctl --json --nocheck=standby -a -d megaraid,2 /dev/bus/0": exitReply(t, "published/smartctl_exporter-7.4-sas-megaraid2-toshiba-al15seb24eqy.json"),
				}
			}, ""},
	} {
		t.Run(sc.name, func(t *testing.T) {
			c, err := New(sc.cfg, cmdrun.NewFake(sc.replies(t)), nil)
			if err != nil {
				t.Fatal(err)
			}
			res, uerr := c.Update(context.Background())
			if sc.wantErr == "" && uerr != nil {
				t.Fatalf("update: %v", uerr)
			}
			if sc.wantErr != "" && (uerr == nil || !strings.Contains(strings.ToLower(uerr.Error()), sc.wantErr)) {
				t.Fatalf("update error %v, want %q", uerr, sc.wantErr)
			}
			c2, _ := New(sc.cfg, cmdrun.NewFake(sc.replies(t)), nil)
			out, _ := servetest.Scrape(t, c2, testNow)
			servetest.Golden(t, filepath.Join("testdata", "golden", sc.name+".prom"), out, *update)
			servetest.GoldenHomepage(t, filepath.Join("testdata", "golden", sc.name+".homepage.json"), c.Name(), c.Describe(), res, uerr, testNow, *update)
		})
	}
}

// A sleeping disk is asked once per update and never woken: the argv
// always carries --nocheck=standby.
func TestNeverWakes(t *testing.T) {
	c, _ := New(Config{Devices: []Device{{Path: "/dev/sda", Type: "sat"}}}, cmdrun.NewFake(nil), nil)
	argv := strings.Join(c.Argv(Device{Path: "/dev/sda", Type: "sat"}), " ")
	if !strings.Contains(argv, "--nocheck=standby") {
		t.Errorf("argv %q can wake the disk", argv)
	}
}

// Validate reports every bad field, each a *yamlnode.FieldError by its key
// path.
func TestValidate(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Devices: []Device{{Path: "sda"}}}, `devices[0].path: "sda" is not a /dev path`},
		{Config{Devices: []Device{{Path: "/dev/sda"}, {Path: "/dev/sda"}}}, `devices[1]: "/dev/sda" listed twice (also devices[0])`},
		{Config{Devices: []Device{{Path: "/dev/bus/0", Type: "megaraid,1"}, {Path: "/dev/bus/0", Type: "megaraid,1"}}}, `devices[1]: "/dev/bus/0 megaraid,1" listed twice (also devices[0])`},
		{Config{Devices: []Device{{Path: "/dev/sda", Type: "-x"}}}, `devices[0].type: "-x" is not a smartctl device type`},
		{Config{Devices: []Device{{Path: "sda", Type: "a b"}, {Path: "/dev/sdb"}, {Path: "/dev/sdb"}}},
			"devices[0].path: \"sda\" is not a /dev path\ndevices[0].type: \"a b\" is not a smartctl device type\ndevices[2]: \"/dev/sdb\" listed twice (also devices[1])"},
	} {
		servetest.ValidateError(t, c.cfg.Validate(), c.want)
	}
	servetest.ValidateError(t, Config{}.Validate(), "")
}

// A disk the scan calls "scsi" is read without -d, so smartctl finds SAT
// and its ATA health; `-d scsi` would read none (sda-d-scsi.json).
func TestScanDoesNotForceSCSI(t *testing.T) {
	run := cmdrun.NewFake(qemuReplies(t))
	c, err := New(Config{}, run, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Update(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := run.Calls("smartctl --json --nocheck=standby -a -d scsi /dev/sda"); n != 0 {
		t.Errorf("-d scsi used %d times", n)
	}
	if n := run.Calls("smartctl --json --nocheck=standby -a /dev/sda"); n != 1 {
		t.Errorf("autodetecting read run %d times, want 1", n)
	}
}

// qemuReplies replays the smartctl 7.4 captures of the QEMU guest: the scan,
// and each device read as the collector reads it — and sda also as
// `-d scsi`, the type the scan gives.
func qemuReplies(t *testing.T) map[string]cmdrun.Reply {
	return map[string]cmdrun.Reply{
		"smartctl --scan --json":                                  {StdoutFile: fixture("smartctl-7.4-qemu/scan.json")},
		"smartctl --json --nocheck=standby -a /dev/sda":           exitReply(t, "smartctl-7.4-qemu/sda-sat-autodetected.json"),
		"smartctl --json --nocheck=standby -a -d scsi /dev/sda":   exitReply(t, "smartctl-7.4-qemu/sda-d-scsi.json"),
		"smartctl --json --nocheck=standby -a -d nvme /dev/nvme0": exitReply(t, "smartctl-7.4-qemu/nvme0-d-nvme.json"),
		"smartctl --json --nocheck=standby -a -d nvme /dev/nvme1": exitReply(t, "smartctl-7.4-qemu/nvme1-d-nvme-critical-warning.json"),
	}
}
