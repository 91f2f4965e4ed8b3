# What flake.nix exposes, as JSON for nix/eval_test.go: the attribute names
# of every output per system, the overlay's packages, the input, and the
# hlalert/hlexporter build arguments.
{ lib, pkgRoot }:
let
  o = import ./flake-outputs.nix { inherit lib pkgRoot; };
  names = lib.mapAttrs (_: lib.attrNames);
  build = p: {
    inherit (p)
      name
      ldflags
      subPackages
      vendorHash
      postInstall
      ;
  };
  vmTest = o.checks.x86_64-linux.vm-main.test { inherit lib; };
in
{
  packages = names o.packages;
  checks = names o.checks;
  devShells = names o.devShells;
  nixosModules = lib.attrNames o.nixosModules;
  overlays = lib.attrNames o.overlays;
  overlayPackages = lib.attrNames (o.overlays.default o.packages.x86_64-linux { });
  inputs = o.inputs;
  hlalert = build o.packages.x86_64-linux.hlalert;
  hlexporter = build o.packages.aarch64-linux.hlexporter;
  vmTest = {
    inherit (vmTest) name testScript;
    nodes = lib.attrNames vmTest.nodes;
  };
}
