package nix

import (
	"encoding/base64"
	"encoding/hex"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var updateVendorHash = flag.Bool("update-vendor-hash", false, "rewrite nix/vendor-hash.nix with the computed hash")

// TestVendorHash keeps nix/vendor-hash.nix in step with go.sum. nixpkgs'
// buildGoModule fetches the dependencies in a fixed-output derivation that
// runs `go mod vendor` on the package's source (package.nix's fileset: the
// checkout without nix/, the flake files and .ci/) and keeps the vendor
// folder; vendorHash is that folder's NAR hash. This test does the same
// here and compares; `go test ./nix -run TestVendorHash -update-vendor-hash`
// writes the new value after go.sum changes.
func TestVendorHash(t *testing.T) {
	if testing.Short() {
		t.Skip("copies the checkout and vendors every module")
	}
	if _, err := exec.LookPath("nix-hash"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but nix-hash is not installed (apt-get install nix-bin)")
		}
		t.Skip("nix-hash is not installed (apt-get install nix-bin)")
	}
	root, err := gitOut(".", "rev-parse", "--show-toplevel")
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	if err := copySource(root, src); err != nil {
		t.Fatal(err)
	}
	vendor := exec.Command("go", "mod", "vendor")
	vendor.Dir = src
	vendor.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	if out, err := vendor.CombinedOutput(); err != nil {
		t.Fatalf("go mod vendor: %v\n%s", err, out)
	}
	out, err := exec.Command("nix-hash", "--type", "sha256", filepath.Join(src, "vendor")).Output()
	if err != nil {
		t.Fatalf("nix-hash: %v", err)
	}
	digest, err := hex.DecodeString(strings.TrimSpace(string(out)))
	if err != nil || len(digest) != 32 {
		t.Fatalf("nix-hash printed %q: %v", out, err)
	}
	got := "sha256-" + base64.StdEncoding.EncodeToString(digest)

	file := filepath.Join(root, "nix", "vendor-hash.nix")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	hashRE := regexp.MustCompile(`"sha256-[A-Za-z0-9+/]{43}="`)
	cur := hashRE.Find(data)
	if cur == nil {
		t.Fatalf("%s holds no quoted sha256-... hash", file)
	}
	if *updateVendorHash {
		if err := os.WriteFile(file, hashRE.ReplaceAll(data, []byte(`"`+got+`"`)), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want := strings.Trim(string(cur), `"`); got != want {
		t.Errorf("%s is %s, but go mod vendor gives %s: go.sum changed; run\n  go test ./nix -run TestVendorHash -update-vendor-hash", file, want, got)
	}
}

// copySource copies the files a flake of the checkout at root holds (the
// ones git tracks) that package.nix's fileset keeps into dst.
func copySource(root, dst string) error {
	out, err := gitOut(root, "ls-files", "-z")
	if err != nil {
		return err
	}
	skip := []string{"nix/", ".ci/", "flake.nix", "flake.lock", "vendor/"}
	for _, rel := range strings.Split(strings.Trim(out, "\x00"), "\x00") {
		if rel == "" || slices.ContainsFunc(skip, func(s string) bool { return rel == s || strings.HasPrefix(rel, s) }) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(target, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
