package smart

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"

	"github.com/hlalert/hlalert/alerts/yamlnode"
	"github.com/hlalert/hlalert/exporters/cmdrun"
	"github.com/hlalert/hlalert/exporters/serve"
)

// Config is the smart section of hlexporter's configuration.
type Config struct {
	// Devices to query; empty means every device `smartctl --scan --json` finds.
	Devices []Device `yaml:"devices"`
	// SmartctlCommand names the tool (default "smartctl", looked up in PATH).
	SmartctlCommand string `yaml:"smartctl_command"`
}

// Device is one disk: its /dev path and, optionally, smartctl's -d type.
type Device struct {
	Path string `yaml:"path"`
	Type string `yaml:"type"`
}

// Validate reports every bad field, each a *yamlnode.FieldError named by
// its key path (devices[0].path).
func (c Config) Validate() error {
	var errs []error
	first := map[string]int{}
	for i, d := range c.Devices {
		if !strings.HasPrefix(d.Path, "/dev/") || strings.ContainsAny(d.Path, " \t\n") {
			errs = append(errs, yamlnode.FieldErrorf(fmt.Sprintf("devices[%d].path", i), "%q is not a /dev path", d.Path))
		}
		if d.Type != "" && (strings.HasPrefix(d.Type, "-") || strings.ContainsAny(d.Type, " \t\n")) {
			errs = append(errs, yamlnode.FieldErrorf(fmt.Sprintf("devices[%d].type", i), "%q is not a smartctl device type", d.Type))
		}
		// Disks behind a RAID controller share its path and differ by
		// type (-d megaraid,0, -d megaraid,1, ...).
		key := d.Path + " " + d.Type
		if j, seen := first[key]; seen {
			errs = append(errs, yamlnode.FieldErrorf(fmt.Sprintf("devices[%d]", i), "%q listed twice (also devices[%d])", strings.TrimSpace(key), j))
		} else {
			first[key] = i
		}
	}
	return errors.Join(errs...)
}

// Collector is the smart collector.
type Collector struct {
	cfg      Config
	run      cmdrun.Runner
	log      *slog.Logger
	smartctl string
	m        metrics
}

var _ serve.Collector = (*Collector)(nil)

// New returns the smart collector.
func New(cfg Config, run cmdrun.Runner, log *slog.Logger) (*Collector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("smart config: %w", err)
	}
	if run == nil {
		return nil, errors.New("smart: nil runner")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Collector{cfg: cfg, run: run, log: log.With("collector", "smart"), smartctl: cfg.SmartctlCommand, m: newMetrics()}
	if c.smartctl == "" {
		c.smartctl = "smartctl"
	}
	return c, nil
}

// Name implements serve.Collector.
func (c *Collector) Name() string { return "smart" }

// Describe implements serve.Collector.
func (c *Collector) Describe() []*serve.MetricDef { return c.m.all() }

// Argv is the command run for one device.
func (c *Collector) Argv(d Device) []string {
	argv := []string{c.smartctl, "--json", "--nocheck=standby", "-a"}
	if d.Type != "" {
		argv = append(argv, "-d", d.Type)
	}
	return append(argv, d.Path)
}

// scannedType is the -d type to pass for a device `smartctl --scan` found.
// The scan does not open devices and calls every libata disk "scsi", but
// `-d scsi` on a SATA disk reads only its SCSI pages (no health, no ATA
// attributes, exit status 4); without -d smartctl detects SAT itself.
func scannedType(t string) string {
	if t == "scsi" {
		return ""
	}
	return t
}

// Update implements serve.Collector: one smartctl per device, in turn.
// Devices that fail are reported in the returned error; the others' values
// are still returned.
func (c *Collector) Update(ctx context.Context) (serve.Result, error) {
	devices := c.cfg.Devices
	if len(devices) == 0 {
		out, err := c.run.Run(ctx, []string{c.smartctl, "--scan", "--json"}, nil)
		if err != nil {
			return serve.Result{}, fmt.Errorf("smartctl --scan: %w", err)
		}
		scan, err := ParseScan(out)
		if err != nil {
			return serve.Result{}, err
		}
		for _, d := range scan {
			devices = append(devices, Device{Path: d.Name, Type: scannedType(d.Type)})
		}
	}
	var b serve.Metrics
	var errs []error
	hp := map[string]any{"disks": len(devices)}
	failing, standby, maxTemp := 0, 0, -1.0
	labels := deviceLabels(devices)
	for i, d := range devices {
		out, err := c.run.Run(ctx, c.Argv(d), nil)
		code := 0
		var ee *cmdrun.ExitError
		if errors.As(err, &ee) {
			code, out, err = ee.Code, ee.Stdout, nil
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", labels[i], err))
			continue
		}
		r, err := Parse(out, code)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", labels[i], err))
			continue
		}
		r.Device = labels[i]
		if r.OpenFailed {
			errs = append(errs, fmt.Errorf("%s: smartctl could not open the device (exit %d): %s", labels[i], r.ExitStatus, strings.Join(r.Messages, "; ")))
		}
		c.emit(&b, r)
		if r.Standby {
			standby++
		}
		if (r.HealthKnown && !r.HealthPassed) || r.ExitStatus&(BitDiskFailing|BitPrefail) != 0 {
			failing++
		}
		maxTemp = math.Max(maxTemp, r.TemperatureC)
	}
	hp["failing"] = failing
	hp["standby"] = standby
	if maxTemp >= 0 {
		hp["max_temperature_celsius"] = maxTemp
	}
	list, err := b.List()
	if err != nil {
		errs = append(errs, err)
	}
	return serve.Result{Metrics: list, Homepage: hp}, errors.Join(errs...)
}

// deviceLabels is each device's `device` label: its path, or, for disks
// that share a path (behind a RAID controller: `-d megaraid,N /dev/bus/0`),
// the path and the type as smartctl's info_name writes them
// ("/dev/bus/0 [megaraid,1]").
func deviceLabels(devices []Device) []string {
	n := map[string]int{}
	for _, d := range devices {
		n[d.Path]++
	}
	out := make([]string, len(devices))
	for i, d := range devices {
		out[i] = d.Path
		if n[d.Path] > 1 {
			out[i] = d.Path + " [" + d.Type + "]"
		}
	}
	return out
}

type metrics struct {
	info, standby, exitStatus, exitBit, health, temp, powerOn, cycles *serve.MetricDef
	realloc, pending, uncorrectable, crc                              *serve.MetricDef
	pctUsed, spare, media, critical, unsafe                           *serve.MetricDef
	grownDefects, scsiUncorrected                                     *serve.MetricDef
}

func newMetrics() metrics {
	const p = "hlexporter_smart_"
	d := []string{"device"}
	return metrics{
		info:            serve.NewMetricDef(p+"device_info", "Disk identity as smartctl reports it (vendor is SCSI only; model, serial, firmware are empty while the disk sleeps).", serve.Info, "device", "type", "protocol", "vendor", "model", "serial", "firmware"),
		standby:         serve.NewMetricDef(p+"device_standby", "1 when the disk was in a low-power mode and was not woken (--nocheck=standby); its health values are then absent.", serve.Gauge, d...),
		exitStatus:      serve.NewMetricDef(p+"exit_status", "smartctl's exit status (a bit mask, see smartctl(8)).", serve.Gauge, d...),
		exitBit:         serve.NewMetricDef(p+"exit_status_bit", "One smartctl exit status bit: 0 command line, 1 open failed or low power, 2 SMART command failed, 3 disk failing, 4 prefail attribute at threshold, 5 attribute at threshold in the past, 6 error log has errors, 7 self-test log has errors.", serve.Gauge, "device", "bit"),
		health:          serve.NewMetricDef(p+"health_passed", "SMART overall health self-assessment: 1 passed, 0 failing.", serve.Gauge, d...),
		temp:            serve.NewMetricDef(p+"temperature_celsius", "Current disk temperature.", serve.Gauge, d...),
		powerOn:         serve.NewMetricDef(p+"power_on_seconds", "Power-on time.", serve.Gauge, d...),
		cycles:          serve.NewMetricDef(p+"power_cycles", "Power cycle count.", serve.Gauge, d...),
		realloc:         serve.NewMetricDef(p+"reallocated_sectors", "ATA attribute 5 (Reallocated_Sector_Ct), raw.", serve.Gauge, d...),
		pending:         serve.NewMetricDef(p+"pending_sectors", "ATA attribute 197 (Current_Pending_Sector), raw.", serve.Gauge, d...),
		uncorrectable:   serve.NewMetricDef(p+"offline_uncorrectable_sectors", "ATA attribute 198 (Offline_Uncorrectable), raw.", serve.Gauge, d...),
		crc:             serve.NewMetricDef(p+"udma_crc_errors", "ATA attribute 199 (UDMA_CRC_Error_Count), raw: cabling errors.", serve.Gauge, d...),
		pctUsed:         serve.NewMetricDef(p+"nvme_percentage_used_ratio", "NVMe endurance used, 0–1 (may exceed 1).", serve.Gauge, d...),
		spare:           serve.NewMetricDef(p+"nvme_available_spare_ratio", "NVMe available spare, 0–1.", serve.Gauge, d...),
		media:           serve.NewMetricDef(p+"nvme_media_errors", "NVMe media and data integrity errors.", serve.Gauge, d...),
		critical:        serve.NewMetricDef(p+"nvme_critical_warning", "NVMe critical warning bit field (0 is fine).", serve.Gauge, d...),
		unsafe:          serve.NewMetricDef(p+"nvme_unsafe_shutdowns", "NVMe unsafe shutdowns.", serve.Gauge, d...),
		grownDefects:    serve.NewMetricDef(p+"scsi_grown_defects", "SCSI/SAS grown defect list: blocks the disk remapped since it left the factory.", serve.Gauge, d...),
		scsiUncorrected: serve.NewMetricDef(p+"scsi_uncorrected_errors", "SCSI/SAS error counter log: errors the disk could not correct, per operation (read, write, verify), since manufacture or the last log reset.", serve.Gauge, "device", "operation"),
	}
}

// Metrics lists every metric the smart collector can emit, for the catalog;
// it needs no configuration.
func Metrics() []*serve.MetricDef { return newMetrics().all() }

func (m metrics) all() []*serve.MetricDef {
	return []*serve.MetricDef{m.info, m.standby, m.exitStatus, m.exitBit, m.health, m.temp, m.powerOn, m.cycles,
		m.realloc, m.pending, m.uncorrectable, m.crc, m.pctUsed, m.spare, m.media, m.critical, m.unsafe, m.grownDefects, m.scsiUncorrected}
}

func (c *Collector) emit(b *serve.Metrics, r Report) {
	m, dev := c.m, r.Device
	b.Add(m.info, 1, dev, r.Type, r.Protocol, r.Vendor, r.Model, r.Serial, r.Firmware)
	sb := 0.0
	if r.Standby {
		sb = 1
	}
	b.Add(m.standby, sb, dev)
	b.Add(m.exitStatus, float64(r.ExitStatus), dev)
	for bit := 0; bit < 8; bit++ {
		b.Add(m.exitBit, float64(r.ExitStatus>>bit&1), dev, strconv.Itoa(bit))
	}
	if r.Standby || r.OpenFailed {
		return
	}
	if r.HealthKnown {
		h := 0.0
		if r.HealthPassed {
			h = 1
		}
		b.Add(m.health, h, dev)
	}
	opt := func(d *serve.MetricDef, v, scale float64) {
		if v >= 0 {
			b.Add(d, v*scale, dev)
		}
	}
	opt(m.temp, r.TemperatureC, 1)
	opt(m.powerOn, r.PowerOnHours, 3600)
	opt(m.cycles, r.PowerCycles, 1)
	opt(m.realloc, r.Reallocated, 1)
	opt(m.pending, r.Pending, 1)
	opt(m.uncorrectable, r.Uncorrectable, 1)
	opt(m.crc, r.CRCErrors, 1)
	opt(m.pctUsed, r.PercentUsed, 0.01)
	opt(m.spare, r.AvailableSpare, 0.01)
	opt(m.media, r.MediaErrors, 1)
	opt(m.critical, r.CriticalWarning, 1)
	opt(m.unsafe, r.UnsafeShutdowns, 1)
	opt(m.grownDefects, r.GrownDefects, 1)
	for _, op := range SCSIOperations {
		if v, ok := r.Uncorrected[op]; ok {
			b.Add(m.scsiUncorrected, v, dev, op)
		}
	}
}
