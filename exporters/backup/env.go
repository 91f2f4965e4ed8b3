package backup

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
)

var envKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseEnvFile reads KEY=VALUE lines as systemd's EnvironmentFile writes
// them: blank lines and # comments are skipped, an optional "export " prefix
// and one pair of matching quotes around the value are removed. Errors name
// the line.
func ParseEnvFile(name string, b []byte) ([]string, error) {
	var env []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || !envKeyRE.MatchString(k) {
			return nil, fmt.Errorf("%s:%d: not KEY=VALUE", name, n)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		env = append(env, k+"="+v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return env, nil
}

// environment builds the tool's environment from files read now, so a
// rotated secret is picked up without a restart. The password file is
// passed by name to restic; borg has no such variable, so its content is
// passed as BORG_PASSPHRASE.
func (s settings) environment() ([]string, error) {
	var env []string
	if s.EnvFile != "" {
		b, err := os.ReadFile(s.EnvFile)
		if err != nil {
			return nil, fmt.Errorf("env_file: %w", err)
		}
		if env, err = ParseEnvFile(s.EnvFile, b); err != nil {
			return nil, fmt.Errorf("env_file: %w", err)
		}
	}
	switch s.Tool {
	case "restic":
		if s.RepositoryFile != "" {
			env = append(env, "RESTIC_REPOSITORY_FILE="+s.RepositoryFile)
		} else {
			env = append(env, "RESTIC_REPOSITORY="+s.Repository.Repository)
		}
		env = append(env, "RESTIC_PASSWORD_FILE="+s.PasswordFile)
		if s.CacheDir != "" {
			env = append(env, "RESTIC_CACHE_DIR="+s.CacheDir)
		}
	case "borg":
		repo := s.Repository.Repository
		if s.RepositoryFile != "" {
			b, err := os.ReadFile(s.RepositoryFile)
			if err != nil {
				return nil, fmt.Errorf("repository_file: %w", err)
			}
			repo = strings.TrimSpace(string(b))
		}
		pw, err := os.ReadFile(s.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("password_file: %w", err)
		}
		env = append(env, "BORG_REPO="+repo, "BORG_PASSPHRASE="+strings.TrimRight(string(pw), "\r\n"))
		if s.CacheDir != "" {
			env = append(env, "BORG_CACHE_DIR="+s.CacheDir)
		}
	}
	return env, nil
}
