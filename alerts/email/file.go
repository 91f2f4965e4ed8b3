package email

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// File is the e-mail section of hlalert's configuration, usable as its
// own file (hlalert notify test --config) until the run config embeds it:
//
//	outbox_dir: /var/lib/hlalert/outbox
//	grafana_url: https://grafana.home/d/alerts
//	templates: [templates/*.tmpl]
//	receivers:
//	  ops:
//	    - to: me@example.org
//	      from: hlalert@example.org
//	      smarthost: smtp.example.org:465
//	      auth_username: hlalert@example.org
//	      auth_password_file: /run/agenix/smtp
type File struct {
	OutboxDir  string              `yaml:"outbox_dir"`
	GrafanaURL string              `yaml:"grafana_url,omitempty"`
	Templates  []string            `yaml:"templates,omitempty"`
	Receivers  map[string][]Config `yaml:"receivers"`
	// BaseDir is the folder of the file; relative paths resolve against it.
	BaseDir string `yaml:"-"`
}

// Load decodes data strictly (unknown keys fail); name prefixes errors.
func Load(name string, data []byte) (*File, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var errs []error
	if f.OutboxDir == "" {
		errs = append(errs, fmt.Errorf("%s: outbox_dir: required", name))
	}
	if len(f.Receivers) == 0 {
		errs = append(errs, fmt.Errorf("%s: receivers: at least one receiver required", name))
	}
	f.BaseDir = filepath.Dir(name)
	f.OutboxDir = resolve(f.BaseDir, f.OutboxDir)
	return &f, errors.Join(errs...)
}

// LoadFile reads and decodes path.
func LoadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read email config: %w", err)
	}
	return Load(path, data)
}

// Validate checks every receiver config and renders the templates with a
// sample batch, without touching the outbox or the network (for
// `hlalert check`). It reports all errors, each naming the receiver and
// field.
func (f *File) Validate() error {
	tmpl, err := NewTemplates(f.BaseDir, f.Templates...)
	if err != nil {
		return fmt.Errorf("email: %w", err)
	}
	return validateReceivers(tmpl, f.Receivers, f.BaseDir, f.GrafanaURL, nil)
}
