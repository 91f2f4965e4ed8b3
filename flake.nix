{
  description = "hlalert: the observability and alerting appliance of a NixOS homelab";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      lib = nixpkgs.lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});

      version = "0.1.0-${self.shortRev or self.dirtyShortRev or "dirty"}";
      commit = self.rev or self.dirtyRev or "dirty";

      # go.mod asks for Go 1.26.
      packagesFor =
        pkgs:
        let
          buildGoModule = pkgs.buildGoModule.override { go = pkgs.go_1_26 or pkgs.go; };
          build =
            pname:
            pkgs.callPackage ./nix/package.nix {
              inherit
                buildGoModule
                pname
                version
                commit
                ;
            };
        in
        {
          hlalert = build "hlalert";
          hlexporter = build "hlexporter";
        };
    in
    {
      overlays.default = final: _prev: packagesFor final;

      packages = forAllSystems (
        pkgs:
        let
          p = packagesFor pkgs;
        in
        p // { default = p.hlalert; }
      );

      nixosModules = {
        hlalert = ./nix/modules/hlalert.nix;
        hlexporter = ./nix/modules/hlexporter.nix;
        appliance = ./nix/modules/appliance.nix;
        default = {
          imports = [ ./nix/modules/default.nix ];
          nixpkgs.overlays = [ self.overlays.default ];
        };
      };

      # NixOS VM tests: they need KVM (`nix flake check` or
      # `nix build .#checks.x86_64-linux.vm-main`); CI has none and runs the
      # evaluation tier of nix/eval_test.go instead.
      checks = forAllSystems (
        pkgs:
        {
          vm-main = pkgs.testers.runNixOSTest (import ./nix/tests/vm-main.nix { inherit self; });
        }
        // packagesFor pkgs
      );

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = [
            (pkgs.go_1_26 or pkgs.go)
            pkgs.gopls
            pkgs.nix
            # the servers the heavy test tiers talk to (the tests can also
            # build them from .ci/tools)
            pkgs.victoriametrics
            pkgs.grafana-loki
            pkgs.mailpit
          ];
        };
      });
    };
}
