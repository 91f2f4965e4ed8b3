# services.hlexporter: one systemd unit per collector, each with only the
# privilege its tools need, each on its own loopback port.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
  hl = import ../lib.nix { inherit lib; };
  cfg = config.services.hlexporter;
  yaml = pkgs.formats.yaml { };

  defaultPorts = {
    zfs = 9808;
    smart = 9809;
    backup = 9810;
    deploy = 9811;
    nvr = 9812;
  };

  collectorOptions =
    name: extra:
    mkOption {
      default = { };
      description = "The ${name} collector (unit `hlexporter-${name}`).";
      type = types.submodule {
        options = {
          enable = lib.mkEnableOption "the ${name} collector of hlexporter";
          port = mkOption {
            type = types.port;
            default = defaultPorts.${name};
            description = "Port of the unit's /metrics and /api/homepage.";
          };
          settings = mkOption {
            type = yaml.type;
            default = { };
            description = ''
              The collector's section of hlexporter's configuration
              (`collectors.${name}`, see exporters/catalog.md and
              testdata/hlexporter/hlexporter.example.yaml). Tool paths are
              set by the module.
            '';
          };
        }
        // extra;
      };
    };

  # enabled is the list of enabled collectors' names.
  enabled = lib.filter (n: cfg.collectors.${n}.enable) (lib.attrNames defaultPorts);

  # What the module fills in per collector: tool paths from the host's
  # packages, never a PATH lookup.
  toolSettings = {
    zfs = {
      zpool_command = "${cfg.zfsPackage}/bin/zpool";
      zfs_command = "${cfg.zfsPackage}/bin/zfs";
    };
    smart = {
      smartctl_command = "${pkgs.smartmontools}/bin/smartctl";
    };
    backup = { };
    deploy = {
      systemctl = "${pkgs.systemd}/bin/systemctl";
      nixos_version_command = [
        "/run/current-system/sw/bin/nixos-version"
        "--json"
      ];
    };
    nvr = { };
  };

  # Each repository gets its tool from the module and a cache under the
  # unit's CacheDirectory (remote repositories are slow without one).
  backupRepository =
    r:
    {
      cache_dir = "/var/cache/hlexporter-backup/${r.name or "repository"}";
      binary =
        if (r.tool or "restic") == "borg" then
          "${pkgs.borgbackup}/bin/borg"
        else
          "${pkgs.restic}/bin/restic";
    }
    // r;

  sectionOf =
    name:
    let
      s = toolSettings.${name} // cfg.collectors.${name}.settings;
    in
    if name == "backup" && s ? repositories then
      s // { repositories = map backupRepository s.repositories; }
    else
      s;

  unitName = name: "hlexporter-${name}";

  # backup runs as the user owning the repositories' password files and
  # reads them itself; the others run as a DynamicUser and get their
  # secrets as systemd credentials.
  sectionFor =
    name:
    if name == "backup" then
      {
        value = sectionOf name;
        credentials = [ ];
      }
    else
      hl.toCredentials (unitName name) [ name ] (sectionOf name);

  configFor = name: placeholderSecrets: {
    listen_address = "${cfg.listenAddress}:${toString cfg.collectors.${name}.port}";
    log_level = cfg.logLevel;
    collectors.${name} =
      if placeholderSecrets then
        hl.toPlaceholders placeholder (sectionOf name)
      else
        (sectionFor name).value;
  };

  placeholder = pkgs.writeText "hlexporter-secret-placeholder" "placeholder-not-a-secret\n";

  configFile = name: yaml.generate "hlexporter-${name}.yaml" (configFor name false);
  checkFile = name: yaml.generate "hlexporter-${name}.check.yaml" (configFor name true);
  # Beyond loopback hlexporter wants authentication (--web.config.file) or
  # an explicit --web.allow-unauthenticated-remote. The web config is a
  # credential the build cannot read: the build-time check stands in the
  # allow flag for it, and the unit checks the file itself when it starts.
  webFlags =
    unit:
    lib.optionals (cfg.webConfigFile != null) [
      "--web.config.file"
      "/run/credentials/${unit}.service/web-config"
    ]
    ++ lib.optional cfg.allowUnauthenticatedRemote "--web.allow-unauthenticated-remote";
  checkWebFlags = lib.optionalString (
    cfg.webConfigFile != null || cfg.allowUnauthenticatedRemote
  ) " --web.allow-unauthenticated-remote";

  checkedConfig =
    name:
    pkgs.runCommand "hlexporter-${name}-config-checked" { nativeBuildInputs = [ cfg.package ]; } ''
      hlexporter check --config ${checkFile name} --collectors ${name}${checkWebFlags}
      ln -s ${configFile name} $out
    '';

  # What each collector's unit may do beyond the common sandbox.
  privileges = {
    zfs = {
      DynamicUser = true;
      # zpool and zfs talk to the kernel through /dev/zfs (read-only ioctls
      # need no capability); the rest of /dev stays hidden.
      PrivateDevices = false;
      DeviceAllow = [ "/dev/zfs rw" ];
      ProcSubset = "all"; # zpool reads /proc/spl/kstat
    };
    smart = {
      DynamicUser = true;
      # smartctl passes ATA/SCSI commands through SG_IO (CAP_SYS_RAWIO);
      # NVMe admin commands need CAP_SYS_ADMIN.
      PrivateDevices = false;
      PrivateUsers = false;
      SupplementaryGroups = [ "disk" ];
      AmbientCapabilities = [ "CAP_SYS_RAWIO" ] ++ lib.optional cfg.collectors.smart.nvme "CAP_SYS_ADMIN";
      CapabilityBoundingSet = [ "CAP_SYS_RAWIO" ] ++ lib.optional cfg.collectors.smart.nvme "CAP_SYS_ADMIN";
      DeviceAllow =
        let
          devices = cfg.collectors.smart.settings.devices or [ ];
        in
        if devices != [ ] then
          map (d: "${d.path} r") devices
        else
          [
            "block-sd r"
            "block-blkext r"
            "char-nvme r"
          ];
      SystemCallFilter = [
        "@system-service"
        "~@resources"
      ];
    };
    backup = {
      User = cfg.collectors.backup.user;
      Group = cfg.collectors.backup.group;
      PrivateUsers = false;
      ProtectHome = "read-only";
      CacheDirectory = "hlexporter-backup";
      ReadWritePaths = cfg.collectors.backup.readWritePaths;
    };
    deploy = {
      DynamicUser = true;
      # reads /nix/var/nix/profiles, /run/current-system, /run/booted-system
      # and asks systemd (D-Bus, AF_UNIX) for nixos-upgrade.service.
    };
    nvr = {
      DynamicUser = true;
    };
  };
in
{
  options.services.hlexporter = {
    enable = lib.mkEnableOption "hlexporter (one unit per enabled collector)";

    package = mkOption {
      type = types.package;
      default = pkgs.hlexporter;
      defaultText = lib.literalExpression "pkgs.hlexporter";
      description = "The hlexporter package.";
    };

    listenAddress = mkOption {
      type = types.str;
      default = "127.0.0.1";
      description = "Host every collector's unit listens on (loopback by default).";
    };

    logLevel = mkOption {
      type = types.enum [
        "debug"
        "info"
        "warn"
        "error"
      ];
      default = "info";
      description = "log_level of every unit.";
    };

    openFirewall = mkOption {
      type = types.bool;
      default = false;
      description = "Open the enabled collectors' ports in the firewall (for a scraper on another host).";
    };

    webConfigFile = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "/run/agenix/hlexporter-web-config";
      description = ''
        Prometheus web configuration (exporter-toolkit format: basic_auth_users
        with bcrypt hashes, tls_server_config) that every unit serves with;
        needed to listen beyond loopback. Handed to each unit as a systemd
        credential (agenix-friendly); files it names must be readable by the
        units.
      '';
    };

    allowUnauthenticatedRemote = mkOption {
      type = types.bool;
      default = false;
      description = "Serve beyond loopback without authentication (--web.allow-unauthenticated-remote): anyone who reaches the port reads the metrics.";
    };

    zfsPackage = mkOption {
      type = types.package;
      default = config.boot.zfs.package;
      defaultText = lib.literalExpression "config.boot.zfs.package";
      description = "The ZFS whose zpool and zfs the zfs collector runs.";
    };

    collectors = {
      zfs = collectorOptions "zfs" { };
      smart = collectorOptions "smart" {
        nvme = mkOption {
          type = types.bool;
          default = true;
          description = "Grant CAP_SYS_ADMIN, which smartctl needs for NVMe disks (off: SATA/SAS only, CAP_SYS_RAWIO).";
        };
      };
      backup = collectorOptions "backup" {
        user = mkOption {
          type = types.nullOr types.str;
          default = null;
          example = "restic";
          description = "User the backup unit runs as: the owner of the repositories' password, repository and env files.";
        };
        group = mkOption {
          type = types.nullOr types.str;
          default = null;
          description = "Group of the backup unit (default: the user's primary group).";
        };
        readWritePaths = mkOption {
          type = types.listOf types.str;
          default = [ ];
          description = "Local repositories the unit may write (restic/borg `check` takes a lock); everything else is read-only.";
        };
      };
      deploy = collectorOptions "deploy" { };
      nvr = collectorOptions "nvr" { };
    };

    scrapeTargets = mkOption {
      type = types.listOf (types.attrsOf types.str);
      readOnly = true;
      description = "One entry per enabled collector's unit: { collector, unit, address } (the appliance's scrape config uses it).";
      default = map (n: {
        collector = n;
        unit = unitName n;
        address = "${cfg.listenAddress}:${toString cfg.collectors.${n}.port}";
      }) enabled;
    };

    configFiles = mkOption {
      type = types.attrsOf types.path;
      readOnly = true;
      internal = true;
      description = "Per enabled collector: its rendered config, checked by `hlexporter check` at build time.";
      default = lib.genAttrs enabled checkedConfig;
    };
  };

  config = lib.mkIf cfg.enable {
    assertions = [
      {
        assertion = enabled != [ ];
        message = "services.hlexporter.enable is set but no collector is: enable at least one of services.hlexporter.collectors.{${lib.concatStringsSep "," (lib.attrNames defaultPorts)}}.enable.";
      }
      {
        assertion = hl.isLoopback cfg.listenAddress || cfg.webConfigFile != null || cfg.allowUnauthenticatedRemote;
        message = "services.hlexporter.listenAddress = \"${cfg.listenAddress}\" is beyond loopback: set services.hlexporter.webConfigFile (basic auth or TLS client certificates) or, to serve anyone who reaches it, services.hlexporter.allowUnauthenticatedRemote = true.";
      }
      {
        assertion = cfg.collectors.backup.enable -> cfg.collectors.backup.user != null;
        message = "services.hlexporter.collectors.backup.user must name the user that owns the restic/borg password files.";
      }
    ];

    networking.firewall.allowedTCPPorts = lib.optionals cfg.openFirewall (
      map (n: cfg.collectors.${n}.port) enabled
    );

    systemd.services = lib.listToAttrs (
      map (
        name:
        lib.nameValuePair (unitName name) {
          description = "hlexporter ${name} collector";
          wantedBy = [ "multi-user.target" ];
          after = [ "network.target" ] ++ lib.optional (name == "zfs") "zfs.target";
          serviceConfig =
            hl.hardening
            // {
              ExecStart = lib.concatStringsSep " " (
                [ "${cfg.package}/bin/hlexporter serve --config ${checkedConfig name} --collectors ${name}" ]
                ++ webFlags (unitName name)
              );
              LoadCredential =
                (sectionFor name).credentials
                ++ lib.optional (cfg.webConfigFile != null) "web-config:${cfg.webConfigFile}";
              Restart = "on-failure";
              RestartSec = 5;
            }
            // lib.filterAttrs (_: v: v != null) privileges.${name};
        }
      ) enabled
    );
  };
}
