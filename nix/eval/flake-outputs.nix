# The outputs of ../../flake.nix, evaluated with the pinned nixpkgs lib and
# stand-in packages instead of a nixpkgs checkout (nix/eval_test.go reads
# which packages, modules, checks and shells it exposes per system, and the
# package's ldflags).
{ lib, pkgRoot }:
let
  flake = import ../../flake.nix;
  standin = import ./pkgs.nix { inherit lib pkgRoot; };
  fake = name: {
    type = "derivation";
    inherit name;
    outPath = "${builtins.storeDir}/00000000000000000000000000000000-${name}";
  };
  # buildGoModule records its arguments (the sources are not read: lib.fileset
  # needs a newer Nix than Debian's).
  buildGoModule = {
    __functor = _: args: fake "${args.pname}-${args.version}" // {
      inherit (args) pname version vendorHash ldflags subPackages postInstall doCheck;
    };
    override = _: buildGoModule;
  };
  pkgsFor =
    system:
    standin
    // {
      inherit system buildGoModule;
      callPackage = f: args: import f ({ inherit lib buildGoModule; } // args);
      testers.runNixOSTest = test: fake "nixos-test" // { inherit test; };
      mkShell = args: fake "shell" // { inherit (args) packages; };
      go = fake "go";
      go_1_26 = fake "go-1.26";
      gopls = fake "gopls";
      nix = fake "nix";
      victoriametrics = fake "victoriametrics";
      grafana-loki = fake "grafana-loki";
      mailpit = fake "mailpit";
    };
  nixpkgs = {
    inherit lib;
    legacyPackages = lib.genAttrs [ "x86_64-linux" "aarch64-linux" ] pkgsFor;
  };
  self = outputs // {
    rev = "0123456789abcdef0123456789abcdef01234567";
    shortRev = "0123456";
  };
  outputs = flake.outputs { inherit self nixpkgs; };
in
outputs // { inherit (flake) inputs; }
