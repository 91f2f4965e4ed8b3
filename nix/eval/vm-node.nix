# The main node of the VM test (nix/tests/vm-main.nix) as a module, so the
# evaluation tier checks its configuration too (it imports the flake's
# nixosModules.default).
{ lib, ... }:
let
  flake = import ./flake-outputs.nix {
    inherit lib;
    pkgRoot = "/nonexistent";
  };
  test = import ../tests/vm-main.nix { self = flake; } { inherit lib; };
in
{
  imports = [ test.nodes.main ];
}
