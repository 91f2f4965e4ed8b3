# The vendorHash of nix/package.nix. NOT YET COMPUTED: this is lib.fakeHash
# (it could not be computed where the flake was written, without nixpkgs or
# network). The first `nix build .#hlalert` fails with
#   error: hash mismatch in fixed-output derivation ...-go-modules.drv
#     specified: sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
#        got:    sha256-...
# Paste the "got:" value here and commit it; redo this whenever go.sum changes.
"sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
