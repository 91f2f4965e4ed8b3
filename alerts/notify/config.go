package notify

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/prometheus/alertmanager/timeinterval"

	"github.com/hlalert/hlalert/alerts/amconfig"
	"github.com/hlalert/hlalert/alerts/yamlnode"
)

// Config is a parsed routing configuration: the route tree, receivers,
// inhibit_rules and time_intervals of an Alertmanager configuration file
// (read by alerts/amconfig, with Alertmanager's semantics).
//
// hlalert delivers by email only (and optionally hands alerts to an
// external Alertmanager, configured outside the routing file), so a receiver
// may hold email_configs or nothing (a "null" receiver that drops alerts);
// any other integration is refused with an error naming the receiver.
type Config struct {
	// File is the file the config was read from (or a description of
	// in-memory input).
	File string
	// Receivers are the routing file's receivers, with their email_configs
	// and the global smtp_* defaults applied.
	Receivers []amconfig.Receiver
	// Templates are the routing file's template globs, resolved against
	// its folder.
	Templates []string

	root         *amconfig.Route
	inhibit      []amconfig.InhibitRule
	intervals    map[string][]timeinterval.TimeInterval
	sendResolved map[string]bool // receiver -> send resolved notifications
	integrations map[string]int  // receiver -> number of email configs
}

// Root returns the root of the route tree.
func (c *Config) Root() *amconfig.Route { return c.root }

// SendResolved reports whether receiver gets resolved notifications.
//
// Alertmanager defaults email send_resolved to false; hlalert defaults it
// to true. An email_configs entry that sets send_resolved explicitly is
// honoured. All email_configs of one receiver must agree (checked at load).
func (c *Config) SendResolved(receiver string) bool { return c.sendResolved[receiver] }

// HasIntegrations reports whether receiver delivers anywhere; a receiver
// without email_configs drops alerts, as in Alertmanager.
func (c *Config) HasIntegrations(receiver string) bool { return c.integrations[receiver] > 0 }

// LoadConfig reads and validates an Alertmanager-format routing file.
// Relative paths inside it resolve against its folder. Every problem is
// reported at file:line:col; all of them are joined.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read routing config: %w", err)
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("routing config: %w", err)
	}
	return load(path, dir, data)
}

// Load parses routing config data; name is used in errors (a file path or
// a description such as "built-in routing").
func Load(name string, data []byte) (*Config, error) {
	return load(name, ".", data)
}

func load(name, dir string, data []byte) (*Config, error) {
	am, err := amconfig.Load(name, dir, data)
	if err != nil {
		return nil, err
	}
	c := &Config{
		File:         name,
		Receivers:    am.Receivers,
		Templates:    am.Templates,
		root:         am.Route,
		inhibit:      am.InhibitRules,
		intervals:    am.TimeIntervals,
		sendResolved: map[string]bool{},
		integrations: map[string]int{},
	}
	var errs []error
	for _, r := range am.Receivers {
		c.integrations[r.Name] = len(r.Email)
		resolved := true
		for i, ec := range r.Email {
			v := ec.SendResolved == nil || *ec.SendResolved
			if i > 0 && v != resolved {
				errs = append(errs, yamlnode.Errorf(r.Pos, "receiver %q: email_configs disagree on send_resolved; hlalert needs one value per receiver (split it into two receivers)", r.Name))
				break
			}
			resolved = v
		}
		c.sendResolved[r.Name] = resolved
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}
