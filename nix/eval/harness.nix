# The upstream NixOS options the modules set, declared with their upstream
# names and the types that matter (how lists and attribute sets merge, what
# a systemd unit option may hold), for lib.evalModules without a nixpkgs
# checkout. Only what the modules touch; defaults follow upstream where the
# tests depend on them (node_exporter listens on 0.0.0.0 upstream).
{
  lib,
  pkgs,
  config,
  ...
}:
let
  inherit (lib) mkOption types;
  yaml = (pkgs.formats.yaml { }).type;

  # A systemd unit setting: a bool, number, string, path or a list of them;
  # lists from several definitions concatenate (as upstream's unitOption).
  atom = v: builtins.isBool v || builtins.isInt v || builtins.isString v || builtins.isPath v;
  unitOption = lib.mkOptionType {
    name = "systemd option";
    description = "systemd unit setting (bool, int, string, path or a list of them)";
    check = v: atom v || (builtins.isList v && lib.all atom v);
    merge =
      loc: defs:
      let
        vals = map (d: d.value) defs;
      in
      if lib.any builtins.isList vals then lib.concatMap lib.toList vals else lib.mergeEqualOption loc defs;
  };

  enable = name: lib.mkEnableOption name;
  strList = mkOption {
    type = types.listOf types.str;
    default = [ ];
  };
in
{
  options = {
    assertions = mkOption {
      type = types.listOf (
        types.submodule {
          options.assertion = mkOption { type = types.bool; };
          options.message = mkOption { type = types.str; };
        }
      );
      default = [ ];
    };
    warnings = mkOption {
      type = types.listOf types.str;
      default = [ ];
    };

    nixpkgs.overlays = mkOption {
      type = types.listOf types.anything;
      default = [ ];
    };

    virtualisation.memorySize = mkOption {
      type = types.int;
      default = 1024;
    };
    environment.systemPackages = mkOption {
      type = types.listOf types.package;
      default = [ ];
    };

    networking.hostName = mkOption {
      type = types.str;
      default = "nixos";
    };
    networking.firewall = {
      enable = mkOption {
        type = types.bool;
        default = true;
      };
      allowedTCPPorts = mkOption {
        type = types.listOf types.port;
        default = [ ];
      };
      allowedUDPPorts = mkOption {
        type = types.listOf types.port;
        default = [ ];
      };
    };

    boot.zfs.package = mkOption {
      type = types.package;
      default = pkgs.zfs;
    };

    environment.etc = mkOption {
      default = { };
      type = types.attrsOf (
        types.submodule (
          { name, config, ... }:
          {
            options = {
              text = mkOption {
                type = types.nullOr types.lines;
                default = null;
              };
              source = mkOption { type = types.path; };
              target = mkOption {
                type = types.str;
                default = name;
              };
              mode = mkOption {
                type = types.str;
                default = "symlink";
              };
            };
            config.source = lib.mkIf (config.text != null) (
              lib.mkDefault (pkgs.writeText "etc-${baseNameOf name}" config.text)
            );
          }
        )
      );
    };

    users.users = mkOption {
      default = { };
      type = types.attrsOf (
        types.submodule {
          freeformType = types.attrsOf types.anything;
          options.isSystemUser = mkOption {
            type = types.bool;
            default = false;
          };
          options.group = mkOption {
            type = types.str;
            default = "";
          };
          options.extraGroups = strList;
        }
      );
    };
    users.groups = mkOption {
      default = { };
      type = types.attrsOf (types.submodule { freeformType = types.attrsOf types.anything; });
    };

    systemd.services = mkOption {
      default = { };
      type = types.attrsOf (
        types.submodule {
          options = {
            description = mkOption {
              type = types.str;
              default = "";
            };
            wantedBy = strList;
            requiredBy = strList;
            wants = strList;
            requires = strList;
            after = strList;
            before = strList;
            path = mkOption {
              type = types.listOf (types.either types.package types.str);
              default = [ ];
            };
            environment = mkOption {
              type = types.attrsOf (types.nullOr (types.oneOf [ types.str types.path types.package ]));
              default = { };
            };
            reloadTriggers = mkOption {
              type = types.listOf unitOption;
              default = [ ];
            };
            restartTriggers = mkOption {
              type = types.listOf unitOption;
              default = [ ];
            };
            startLimitBurst = mkOption {
              type = types.nullOr types.int;
              default = null;
            };
            unitConfig = mkOption {
              type = types.attrsOf unitOption;
              default = { };
            };
            serviceConfig = mkOption {
              type = types.attrsOf unitOption;
              default = { };
            };
            script = mkOption {
              type = types.lines;
              default = "";
            };
            preStart = mkOption {
              type = types.lines;
              default = "";
            };
            postStart = mkOption {
              type = types.lines;
              default = "";
            };
          };
        }
      );
    };

    services.victoriametrics = {
      enable = enable "VictoriaMetrics";
      listenAddress = mkOption {
        type = types.str;
        default = ":8428";
      };
      retentionPeriod = mkOption {
        type = types.nullOr types.str;
        default = null;
      };
      stateDir = mkOption {
        type = types.str;
        default = "victoriametrics";
      };
      extraOptions = strList;
      prometheusConfig = mkOption {
        type = types.submodule { freeformType = yaml; };
        default = { };
      };
    };

    services.loki = {
      enable = enable "Loki";
      dataDir = mkOption {
        type = types.path;
        default = "/var/lib/loki";
      };
      configuration = mkOption {
        type = (pkgs.formats.json { }).type;
        default = { };
      };
      configFile = mkOption {
        type = types.nullOr types.path;
        default = null;
      };
      extraFlags = strList;
    };

    services.alloy = {
      enable = enable "Grafana Alloy";
      configPath = mkOption {
        type = types.path;
        default = "/etc/alloy";
      };
      extraFlags = strList;
    };

    services.grafana = {
      enable = enable "Grafana";
      settings = mkOption {
        default = { };
        type = types.submodule {
          freeformType = types.attrsOf (types.attrsOf types.anything);
          options.server = {
            http_addr = mkOption {
              type = types.str;
              default = "127.0.0.1";
            };
            http_port = mkOption {
              type = types.port;
              default = 3000;
            };
          };
          options.security.admin_password = mkOption {
            type = types.str;
            default = "admin";
          };
          # No default since nixpkgs 26.05 (the old well-known key was dropped).
          options.security.secret_key = mkOption { type = types.str; };
        };
      };
      provision = {
        enable = enable "provisioning";
        datasources.settings = mkOption {
          default = null;
          type = types.nullOr (
            types.submodule {
              freeformType = yaml;
              options.datasources = mkOption {
                default = [ ];
                type = types.listOf (
                  types.submodule {
                    freeformType = yaml;
                    options.name = mkOption { type = types.str; };
                    options.type = mkOption { type = types.str; };
                    options.uid = mkOption {
                      type = types.nullOr types.str;
                      default = null;
                    };
                    options.url = mkOption {
                      type = types.str;
                      default = "";
                    };
                  }
                );
              };
            }
          );
        };
        dashboards.settings = mkOption {
          default = null;
          type = types.nullOr (
            types.submodule {
              freeformType = yaml;
              options.providers = mkOption {
                default = [ ];
                type = types.listOf (
                  types.submodule {
                    freeformType = yaml;
                    options.name = mkOption { type = types.str; };
                    options.type = mkOption {
                      type = types.str;
                      default = "file";
                    };
                    options.options.path = mkOption { type = types.nullOr types.str; };
                  }
                );
              };
            }
          );
        };
      };
    };

    services.homepage-dashboard = {
      enable = enable "Homepage";
      listenPort = mkOption {
        type = types.port;
        default = 8082;
      };
      services = mkOption {
        type = types.listOf yaml;
        default = [ ];
      };
    };

    services.caddy = {
      enable = enable "Caddy";
      virtualHosts = mkOption {
        default = { };
        type = types.attrsOf (
          types.submodule {
            options.extraConfig = mkOption {
              type = types.lines;
              default = "";
            };
            options.listenAddresses = strList;
          }
        );
      };
    };

    services.prometheus.exporters.node = {
      enable = enable "node_exporter";
      listenAddress = mkOption {
        type = types.str;
        default = "0.0.0.0";
      };
      port = mkOption {
        type = types.port;
        default = 9100;
      };
      openFirewall = mkOption {
        type = types.bool;
        default = false;
      };
    };
  };
}
