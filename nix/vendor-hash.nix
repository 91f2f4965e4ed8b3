# The vendorHash of nix/package.nix: the NAR hash of the vendor folder
# `go mod vendor` writes for the package's source, which is what
# buildGoModule's go-modules derivation keeps. Computed and checked by
# `go test ./nix -run TestVendorHash` (nix-hash over a local `go mod
# vendor`); after go.sum changes, rewrite it with
#   go test ./nix -run TestVendorHash -update-vendor-hash
"sha256-5EtJCD1ZTBWaDyKJPKl9Q78M+0jTkQWDKhj1Z+oIW7c="
