# services.hlalert: the rule evaluator daemon (`hlalert run`).
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
  hl = import ../lib.nix { inherit lib; };
  cfg = config.services.hlalert;
  yaml = pkgs.formats.yaml { };

  # One file for the extra rules (Nix attrs in the rule file format).
  extraRulesFile = yaml.generate "hlalert-extra.rules.yml" { groups = cfg.extraRules; };
  ruleFiles = map toString cfg.ruleFiles ++ lib.optional (cfg.extraRules != [ ]) "${extraRulesFile}";

  # A value every secret points at during the build-time check.
  placeholder = pkgs.writeText "hlalert-secret-placeholder" "placeholder-not-a-secret\n";

  routing = hl.toCredentials "hlalert" [ "routing" ] cfg.routing;
  routingFile = yaml.generate "hlalert-alertmanager.yml" routing.value;
  routingCheckFile = yaml.generate "hlalert-alertmanager.check.yml" (hl.toPlaceholders placeholder cfg.routing);

  withRouting =
    file: settings:
    if cfg.routing == null then
      settings
    else
      lib.recursiveUpdate settings { notify.routing_file = "${file}"; };

  base = removeAttrs cfg.settings [ "_module" ] // {
    rule_files = ruleFiles;
  };
  settings = hl.toCredentials "hlalert" [ ] base;
  runConfig = withRouting routingFile settings.value;
  checkConfig = withRouting routingCheckFile (hl.toPlaceholders placeholder base);

  # The settings a reload cannot apply (hlalert rejects a reload that
  # changes them): a change here restarts the unit instead.
  restartOnly = {
    inherit (runConfig) listen state_dir outbox_dir;
    remote_write = runConfig.remote_write or null;
    history = runConfig.history or null;
    embedded = (runConfig.datasource or { }) ? embedded;
  };

  configFile = yaml.generate "hlalert.yaml" runConfig;
  checkFile = yaml.generate "hlalert.check.yaml" checkConfig;

  # The run config as installed: validated by `hlalert check --config` at
  # build time, so a bad config fails nixos-rebuild, not the service.
  checkedConfig = pkgs.runCommand "hlalert-config-checked" { nativeBuildInputs = [ cfg.package ]; } ''
    hlalert check --config ${checkFile}
    ln -s ${configFile} $out
  '';
in
{
  options.services.hlalert = {
    enable = lib.mkEnableOption "hlalert, the rule evaluator and notifier (`hlalert run`)";

    package = mkOption {
      type = types.package;
      default = pkgs.hlalert;
      defaultText = lib.literalExpression "pkgs.hlalert";
      description = "The hlalert package (the overlay of this flake provides `pkgs.hlalert`).";
    };

    settings = mkOption {
      description = ''
        The run config of `hlalert run` (see README, "`hlalert run`"), as Nix
        attributes. Secrets only as `*_file` paths (e.g. agenix's
        `/run/agenix/...`): the module hands each to the unit with systemd's
        `LoadCredential` and points the rendered key at the copy.
        `rule_files` comes from `ruleFiles` and `extraRules`.
      '';
      default = { };
      type = types.submodule {
        freeformType = yaml.type;
        options = {
          listen = mkOption {
            type = hl.listenAddress;
            default = "127.0.0.1:8880";
            description = "Address of the status page, API and /metrics (loopback by default).";
          };
          state_dir = mkOption {
            type = types.str;
            default = "/var/lib/hlalert/state";
            description = "Alert state, silences and notification log.";
          };
          outbox_dir = mkOption {
            type = types.str;
            default = "/var/lib/hlalert/outbox";
            description = "Durable outbox of notifications.";
          };
        };
      };
    };

    ruleFiles = mkOption {
      type = types.listOf (types.either types.path types.str);
      default = [ "${cfg.package}/share/hlalert/rules/*.rules.yml" ];
      defaultText = lib.literalExpression ''[ "''${cfg.package}/share/hlalert/rules/*.rules.yml" ]'';
      description = "Rule files or globs (default: the rules shipped with the package).";
    };

    extraRules = mkOption {
      type = types.listOf yaml.type;
      default = [ ];
      description = "Rule groups in the rule file format, written to one extra rule file.";
    };

    routing = mkOption {
      type = types.nullOr yaml.type;
      default = null;
      description = ''
        Alertmanager-format routing (route, receivers with email_configs,
        inhibit_rules, time_intervals), rendered to the file that
        `notify.routing_file` names. `auth_password_file` and the like are
        passed as credentials. null: the built-in routing, which keeps every
        mail in the outbox folder.
      '';
    };

    openFirewall = mkOption {
      type = types.bool;
      default = false;
      description = "Open the port of `settings.listen` in the firewall.";
    };

    configFile = mkOption {
      type = types.path;
      readOnly = true;
      default = checkedConfig;
      description = "The rendered, build-time checked run config (installed as /etc/hlalert/hlalert.yaml).";
    };
  };

  config = lib.mkIf cfg.enable {
    environment.etc."hlalert/hlalert.yaml".source = checkedConfig;

    networking.firewall.allowedTCPPorts = lib.optional cfg.openFirewall (hl.portOf cfg.settings.listen);

    systemd.services.hlalert = {
      description = "hlalert rule evaluator and notifier";
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      after = [ "network-online.target" ];
      # A changed config is reloaded (SIGHUP) rather than restarted: alert
      # state and held notifications stay in memory. What a reload cannot
      # apply restarts it.
      reloadTriggers = [ checkedConfig ];
      restartTriggers = [ (builtins.toJSON restartOnly) ];
      serviceConfig = hl.hardening // {
        ExecStart = "${cfg.package}/bin/hlalert run --config /etc/hlalert/hlalert.yaml";
        ExecReload = "${pkgs.coreutils}/bin/kill -HUP $MAINPID";
        DynamicUser = true;
        StateDirectory = "hlalert";
        StateDirectoryMode = "0700";
        WorkingDirectory = "/var/lib/hlalert";
        LoadCredential = settings.credentials ++ lib.optionals (cfg.routing != null) routing.credentials;
        Restart = "on-failure";
        RestartSec = 5;
      };
    };
  };
}
