// Package smart collects disk health from smartctl's JSON output
// (smartctl --json --nocheck=standby -a), without waking sleeping disks.
package smart

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Report is one disk's state as smartctl reports it.
type Report struct {
	Device   string // the path smartctl was given
	Type     string // smartctl device type (sat, nvme, scsi, ...)
	Protocol string // ATA, NVMe, SCSI
	Vendor   string // SCSI vendor; empty for ATA and NVMe
	Model    string
	Serial   string
	Firmware string
	// ExitStatus is smartctl's exit status (a bit mask, see smartctl(8)).
	ExitStatus int
	// Standby: the disk was asleep and was not woken (--nocheck=standby);
	// nothing below is known then.
	Standby bool
	// OpenFailed: exit bit 1 without a power-mode message (the device could
	// not be opened); nothing below is known.
	OpenFailed bool
	Messages   []string

	HealthKnown  bool
	HealthPassed bool
	// Values below are -1 when not reported.
	TemperatureC  float64
	PowerOnHours  float64
	PowerCycles   float64
	Reallocated   float64 // ATA attribute 5 raw
	Pending       float64 // ATA attribute 197 raw
	Uncorrectable float64 // ATA attribute 198 raw
	CRCErrors     float64 // ATA attribute 199 raw
	// NVMe health log.
	PercentUsed     float64
	AvailableSpare  float64
	MediaErrors     float64
	CriticalWarning float64
	UnsafeShutdowns float64
	// SCSI (SAS) logs.
	GrownDefects float64 // elements in the grown defect list
	// Uncorrected errors from the error counter log pages, by operation
	// (read, write, verify); an operation is absent when the disk has no
	// page for it.
	Uncorrected map[string]float64
}

// SCSIOperations are the error counter log pages smartctl reports, in order.
var SCSIOperations = []string{"read", "write", "verify"}

type smartJSON struct {
	JSONFormatVersion []int `json:"json_format_version"`
	Smartctl          struct {
		ExitStatus *int `json:"exit_status"`
		Messages   []struct {
			String   string `json:"string"`
			Severity string `json:"severity"`
		} `json:"messages"`
	} `json:"smartctl"`
	Device struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		Protocol string `json:"protocol"`
	} `json:"device"`
	ModelName       string `json:"model_name"`
	SerialNumber    string `json:"serial_number"`
	FirmwareVersion string `json:"firmware_version"`
	// SCSI identity: smartctl >= 7.3 prefixes the names with scsi_;
	// 7.1 and 7.2 print vendor, model_name and revision.
	SCSIVendor    string `json:"scsi_vendor"`
	Vendor        string `json:"vendor"`
	SCSIModelName string `json:"scsi_model_name"`
	SCSIRevision  string `json:"scsi_revision"`
	Revision      string `json:"revision"`
	// SCSI logs.
	SCSIGrownDefectList *float64 `json:"scsi_grown_defect_list"`
	SCSIErrorCounterLog map[string]struct {
		TotalUncorrectedErrors *float64 `json:"total_uncorrected_errors"`
	} `json:"scsi_error_counter_log"`
	SmartStatus *struct {
		Passed *bool `json:"passed"`
	} `json:"smart_status"`
	Temperature *struct {
		Current *float64 `json:"current"`
	} `json:"temperature"`
	PowerOnTime *struct {
		Hours   *float64 `json:"hours"`
		Minutes float64  `json:"minutes"`
	} `json:"power_on_time"`
	PowerCycleCount *float64 `json:"power_cycle_count"`
	ATAAttributes   *struct {
		Table []struct {
			ID  int `json:"id"`
			Raw struct {
				Value  float64 `json:"value"`
				String string  `json:"string"`
			} `json:"raw"`
		} `json:"table"`
	} `json:"ata_smart_attributes"`
	NVMeLog *struct {
		CriticalWarning *float64 `json:"critical_warning"`
		AvailableSpare  *float64 `json:"available_spare"`
		PercentageUsed  *float64 `json:"percentage_used"`
		MediaErrors     *float64 `json:"media_errors"`
		UnsafeShutdowns *float64 `json:"unsafe_shutdowns"`
	} `json:"nvme_smart_health_information_log"`
}

// Exit status bits (smartctl(8), RETURN VALUES).
const (
	BitCommandLine  = 1 << 0 // command line did not parse
	BitOpenFailed   = 1 << 1 // device open failed, or in a low-power mode (-n)
	BitSMARTFailed  = 1 << 2 // a SMART or other ATA command failed, or a checksum error
	BitDiskFailing  = 1 << 3 // SMART status: DISK FAILING
	BitPrefail      = 1 << 4 // prefail attributes at or below threshold
	BitPastPrefail  = 1 << 5 // some attributes were at or below threshold in the past
	BitErrorLog     = 1 << 6 // the device error log contains errors
	BitSelfTestFail = 1 << 7 // the self-test log contains errors
)

// Parse reads one `smartctl --json -a` document. exitCode is the process's
// exit status (used when the document has none).
func Parse(b []byte, exitCode int) (Report, error) {
	var j smartJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return Report{}, fmt.Errorf("smartctl JSON: %w", err)
	}
	if len(j.JSONFormatVersion) == 0 || j.JSONFormatVersion[0] != 1 {
		return Report{}, fmt.Errorf("smartctl JSON: json_format_version %v is not 1.x", j.JSONFormatVersion)
	}
	r := Report{Device: j.Device.Name, Type: j.Device.Type, Protocol: j.Device.Protocol,
		Vendor: first(j.SCSIVendor, j.Vendor), Model: first(j.ModelName, j.SCSIModelName), Serial: j.SerialNumber,
		Firmware: first(j.FirmwareVersion, j.SCSIRevision, j.Revision), ExitStatus: exitCode,
		TemperatureC: -1, PowerOnHours: -1, PowerCycles: -1, Reallocated: -1, Pending: -1, Uncorrectable: -1, CRCErrors: -1,
		PercentUsed: -1, AvailableSpare: -1, MediaErrors: -1, CriticalWarning: -1, UnsafeShutdowns: -1, GrownDefects: -1}
	if j.Smartctl.ExitStatus != nil {
		r.ExitStatus = *j.Smartctl.ExitStatus
	}
	lowPower := false
	for _, m := range j.Smartctl.Messages {
		r.Messages = append(r.Messages, m.String)
		// "Device is in STANDBY mode, exit(2)", "... SLEEP mode ...",
		// "... STANDBY BY COMMAND mode ..." (ataprint.cpp, scsiprint.cpp).
		if strings.HasPrefix(m.String, "Device is in ") && strings.Contains(m.String, " mode") {
			lowPower = true
		}
	}
	if r.ExitStatus&BitCommandLine != 0 {
		return r, fmt.Errorf("smartctl rejected its command line (exit %d): %s", r.ExitStatus, strings.Join(r.Messages, "; "))
	}
	if r.ExitStatus&BitOpenFailed != 0 {
		if lowPower {
			r.Standby = true
		} else {
			r.OpenFailed = true
		}
		return r, nil
	}
	if s := j.SmartStatus; s != nil && s.Passed != nil {
		r.HealthKnown, r.HealthPassed = true, *s.Passed
	}
	if t := j.Temperature; t != nil && t.Current != nil {
		r.TemperatureC = *t.Current
	}
	if p := j.PowerOnTime; p != nil && p.Hours != nil {
		r.PowerOnHours = *p.Hours + p.Minutes/60
	}
	if j.PowerCycleCount != nil {
		r.PowerCycles = *j.PowerCycleCount
	}
	if a := j.ATAAttributes; a != nil {
		for _, at := range a.Table {
			v := rawCount(at.Raw.String, at.Raw.Value)
			switch at.ID {
			case 5:
				r.Reallocated = v
			case 197:
				r.Pending = v
			case 198:
				r.Uncorrectable = v
			case 199:
				r.CRCErrors = v
			}
		}
	}
	if n := j.NVMeLog; n != nil {
		set := func(dst *float64, v *float64) {
			if v != nil {
				*dst = *v
			}
		}
		set(&r.CriticalWarning, n.CriticalWarning)
		set(&r.AvailableSpare, n.AvailableSpare)
		set(&r.PercentUsed, n.PercentageUsed)
		set(&r.MediaErrors, n.MediaErrors)
		set(&r.UnsafeShutdowns, n.UnsafeShutdowns)
	}
	if j.SCSIGrownDefectList != nil {
		r.GrownDefects = *j.SCSIGrownDefectList
	}
	for _, op := range SCSIOperations {
		if e, ok := j.SCSIErrorCounterLog[op]; ok && e.TotalUncorrectedErrors != nil {
			if r.Uncorrected == nil {
				r.Uncorrected = map[string]float64{}
			}
			r.Uncorrected[op] = *e.TotalUncorrectedErrors
		}
	}
	return r, nil
}

// first returns the first non-empty string.
func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// rawCount prefers the leading number of raw.string ("1975", "0"); vendors
// pack extra bytes into raw.value for some attributes.
func rawCount(s string, v float64) float64 {
	f := strings.Fields(s)
	if len(f) > 0 {
		if n, err := strconv.ParseUint(f[0], 10, 64); err == nil {
			return float64(n)
		}
	}
	return v
}

// ScanDevice is one entry of `smartctl --scan --json`.
type ScanDevice struct {
	Name string
	Type string
}

// ParseScan reads `smartctl --scan --json`.
func ParseScan(b []byte) ([]ScanDevice, error) {
	var j struct {
		JSONFormatVersion []int `json:"json_format_version"`
		Devices           []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"devices"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("smartctl --scan JSON: %w", err)
	}
	if len(j.JSONFormatVersion) == 0 {
		return nil, fmt.Errorf("smartctl --scan JSON: no json_format_version")
	}
	var out []ScanDevice
	for i, d := range j.Devices {
		if !strings.HasPrefix(d.Name, "/dev/") {
			return nil, fmt.Errorf("smartctl --scan JSON: devices[%d].name %q is not under /dev", i, d.Name)
		}
		out = append(out, ScanDevice{Name: d.Name, Type: d.Type})
	}
	return out, nil
}
