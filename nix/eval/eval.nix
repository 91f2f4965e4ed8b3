# Evaluates hlalert's NixOS modules over machine modules with lib.evalModules
# (no nixpkgs checkout: harness.nix declares the upstream options, pkgs.nix
# stands in for the packages) and returns what the tests look at, as JSON
# (the test points NIX_STORE_DIR, NIX_STATE_DIR, ... at a temporary folder,
# so that it needs no root and no daemon):
#   nix-instantiate --eval --strict --json --read-write-mode nix/eval/eval.nix \
#     --arg lib 'import ../shared/nixpkgs-lib/lib' --argstr pkgRoot /tmp/pkg \
#     --arg modules '[ ./nix/eval/machines/main.nix ]'
# Failed assertions throw, listing their messages, as nixos-rebuild does.
{
  lib,
  pkgRoot,
  modules,
}:
let
  pkgs = import ./pkgs.nix { inherit lib pkgRoot; };
  eval = lib.evalModules {
    modules = [
      ./harness.nix
      ../modules/default.nix
      { _module.args.pkgs = pkgs; }
    ]
    ++ modules;
  };
  c = eval.config;
  failed = map (a: a.message) (lib.filter (a: !a.assertion) c.assertions);
  s = c.services;
in
if failed != [ ] then
  throw "Failed assertions:\n${lib.concatMapStringsSep "\n" (m: "- ${m}") failed}"
else
  {
    systemd = lib.mapAttrs (_: u: {
      inherit (u) description wantedBy after serviceConfig reloadTriggers restartTriggers;
    }) c.systemd.services;
    etc = lib.mapAttrs (_: e: {
      inherit (e) text;
      source = "${e.source}";
    }) c.environment.etc;
    firewall = c.networking.firewall;
    inherit (c) warnings;
    hlalert = {
      inherit (s.hlalert) enable;
    }
    // lib.optionalAttrs s.hlalert.enable {
      configFile = "${s.hlalert.configFile}";
    };
    hlexporter = {
      inherit (s.hlexporter) enable;
    }
    // lib.optionalAttrs s.hlexporter.enable {
      inherit (s.hlexporter) scrapeTargets configFiles;
    };
    monitoring = {
      inherit (c.homelab.services.monitoring) role dashboards;
    };
    victoriametrics = s.victoriametrics;
    loki = s.loki;
    alloy = s.alloy;
    # Upstream asks for secret_key only when Grafana is on.
    grafana = if s.grafana.enable then s.grafana else { enable = false; };
    homepage = s.homepage-dashboard;
    caddy = s.caddy;
    node = s.prometheus.exporters.node;
  }
