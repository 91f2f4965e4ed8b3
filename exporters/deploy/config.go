// Package deploy is hlexporter's NixOS deploy collector: the current system
// generation (number, creation time, count), whether the running system
// differs from the booted one in kernel, initrd or kernel modules (a reboot
// is pending), nixos-version --json, and the last result of
// nixos-upgrade.service.
package deploy

import (
	"errors"
	"path/filepath"
	"time"

	"github.com/hlalert/hlalert/alerts/yamlnode"
)

// Config configures the deploy collector. Zero values take the defaults of
// a NixOS host (see Defaults).
type Config struct {
	// ProfilesDir holds the system profile and its system-<N>-link generations.
	ProfilesDir string `yaml:"profiles_dir"`
	// CurrentSystem and BootedSystem are the running and booted system links.
	CurrentSystem string `yaml:"current_system"`
	BootedSystem  string `yaml:"booted_system"`
	// NixosVersion is the argv printing the version JSON.
	NixosVersion []string `yaml:"nixos_version_command"`
	// Systemctl is the systemctl binary; UpgradeUnit the auto-upgrade unit
	// ("" with upgrade_unit_disabled: true skips it).
	Systemctl           string `yaml:"systemctl"`
	UpgradeUnit         string `yaml:"upgrade_unit"`
	UpgradeUnitDisabled bool   `yaml:"upgrade_unit_disabled"`
	// Timeout bounds each command.
	Timeout time.Duration `yaml:"timeout"`
}

// Defaults returns c with empty fields set to the NixOS defaults.
func (c Config) Defaults() Config {
	if c.ProfilesDir == "" {
		c.ProfilesDir = "/nix/var/nix/profiles"
	}
	if c.CurrentSystem == "" {
		c.CurrentSystem = "/run/current-system"
	}
	if c.BootedSystem == "" {
		c.BootedSystem = "/run/booted-system"
	}
	if len(c.NixosVersion) == 0 {
		c.NixosVersion = []string{"nixos-version", "--json"}
	}
	if c.Systemctl == "" {
		c.Systemctl = "systemctl"
	}
	if c.UpgradeUnit == "" && !c.UpgradeUnitDisabled {
		c.UpgradeUnit = "nixos-upgrade.service"
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	return c
}

// Validate checks the configuration (after Defaults) and reports every bad
// field, each a *yamlnode.FieldError named by its key.
func (c Config) Validate() error {
	c = c.Defaults()
	var errs []error
	for _, p := range []struct{ field, v string }{
		{"profiles_dir", c.ProfilesDir}, {"current_system", c.CurrentSystem}, {"booted_system", c.BootedSystem},
	} {
		if !filepath.IsAbs(p.v) {
			errs = append(errs, yamlnode.FieldErrorf(p.field, "%q is not an absolute path", p.v))
		}
	}
	if c.NixosVersion[0] == "" {
		errs = append(errs, yamlnode.FieldErrorf("nixos_version_command[0]", "empty program"))
	}
	if c.UpgradeUnitDisabled && c.UpgradeUnit != "" {
		errs = append(errs, yamlnode.FieldErrorf("upgrade_unit", "%q is set but upgrade_unit_disabled is true", c.UpgradeUnit))
	}
	if c.Timeout < 0 {
		errs = append(errs, yamlnode.FieldErrorf("timeout", "%s is negative", c.Timeout))
	}
	return errors.Join(errs...)
}
