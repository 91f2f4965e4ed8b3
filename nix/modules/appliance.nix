# homelab.services.monitoring: the observability appliance. One enable and
# a role per machine; standard nixpkgs services underneath, set with
# lib.mkDefault wherever a user's own setting should win.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkDefault mkIf mkOption types;
  hl = import ../lib.nix { inherit lib; };
  cfg = config.homelab.services.monitoring;
  isMain = cfg.role == "main";
  isNas = cfg.role == "nas";
  isHa = cfg.role == "ha";

  ports = {
    victoriametrics = 8428;
    loki = 3100;
    grafana = 3000;
    alloy = 12345;
    node = 9100;
  };
  local = port: "127.0.0.1:${toString port}";

  # Every dashboard of dashboards/ (read at evaluation time; none yet is fine).
  dashboardsDir = ../../dashboards;
  dashboardFiles =
    if builtins.pathExists dashboardsDir then
      lib.sort lib.lessThan (
        lib.filter (f: lib.hasSuffix ".json" f) (lib.attrNames (builtins.readDir dashboardsDir))
      )
    else
      [ ];
  dashboards = pkgs.linkFarm "hlalert-dashboards" (
    map (f: {
      name = f;
      path = dashboardsDir + "/${f}";
    }) dashboardFiles
  );

  target = job: address: host: { inherit job address host; };

  # The main server's scrape jobs: every hlexporter unit, node_exporter,
  # hlalert and the appliance's own servers, then the remote targets; one
  # job per name (VictoriaMetrics refuses duplicate job names), a target
  # per host with its `host` label.
  scrapeConfigs = lib.mapAttrsToList (job: targets: {
    job_name = job;
    static_configs = map (t: {
      targets = [ t.address ];
      labels.host = t.host;
    }) targets;
  }) (lib.groupBy (t: t.job) (
    map (t: target t.unit t.address cfg.hostName) config.services.hlexporter.scrapeTargets
    ++ [
      (target "node" (local ports.node) cfg.hostName)
      (target "hlalert" config.services.hlalert.settings.listen cfg.hostName)
      (target "victoriametrics" (local ports.victoriametrics) cfg.hostName)
      (target "loki" (local ports.loki) cfg.hostName)
      (target "alloy" (local ports.alloy) cfg.hostName)
      (target "grafana" (local ports.grafana) cfg.hostName)
    ]
    ++ map (t: target t.job t.address t.host) cfg.scrapeTargets
  ));

  lokiPushUrl = "${lib.removeSuffix "/" cfg.lokiUrl}/loki/api/v1/push";

  # The journal, shipped with the labels the LogQL rules use: job, host,
  # unit and level (the journal priority keyword: emerg, alert, crit,
  # error, warning, notice, info, debug).
  alloyJournal = ''
    // Written by hlalert's NixOS module (homelab.services.monitoring).
    loki.relabel "hlalert_journal" {
      forward_to = []
      rule {
        source_labels = ["__journal__systemd_unit"]
        target_label  = "unit"
      }
      rule {
        source_labels = ["__journal_priority_keyword"]
        target_label  = "level"
      }
    }

    loki.source.journal "hlalert_journal" {
      forward_to    = [loki.write.hlalert.receiver]
      relabel_rules = loki.relabel.hlalert_journal.rules
      labels        = {job = "systemd-journal", host = "${cfg.hostName}"}
    }

    loki.write "hlalert" {
      endpoint {
        url = "${lokiPushUrl}"
      }
    }
  '';

  lokiConfig = {
    auth_enabled = false;
    server = {
      http_listen_address = "127.0.0.1";
      http_listen_port = ports.loki;
      grpc_listen_address = "127.0.0.1";
      grpc_listen_port = 9096;
    };
    common = {
      path_prefix = "/var/lib/loki";
      replication_factor = 1;
      # The address the ring and the querier workers use to reach this
      # Loki's frontend: without it they pick the LAN interface, where
      # nothing listens, and every query hangs.
      instance_addr = "127.0.0.1";
      ring.kvstore.store = "inmemory";
      storage.filesystem = {
        chunks_directory = "/var/lib/loki/chunks";
        rules_directory = "/var/lib/loki/rules";
      };
    };
    schema_config.configs = [
      {
        from = "2024-01-01";
        store = "tsdb";
        object_store = "filesystem";
        schema = "v13";
        index = {
          prefix = "index_";
          period = "24h";
        };
      }
    ];
    limits_config.retention_period = cfg.retention.logs;
    compactor = {
      working_directory = "/var/lib/loki/compactor";
      retention_enabled = true;
      delete_request_store = "filesystem";
    };
    analytics.reporting_enabled = false;
  };

  routing = {
    route = {
      receiver = "operator";
      group_by = [
        "alertname"
        "host"
      ];
      group_wait = "30s";
      group_interval = "5m";
      repeat_interval = "4h";
    };
    receivers = [
      {
        name = "operator";
        email_configs = [
          (
            {
              to = cfg.email;
              from = cfg.smtp.from;
              smarthost = cfg.smtp.host;
            }
            // lib.optionalAttrs (!cfg.smtp.requireTLS) { require_tls = false; }
            // lib.optionalAttrs (cfg.smtp.username != null) { auth_username = cfg.smtp.username; }
            // lib.optionalAttrs (cfg.smtp.passwordFile != null) { auth_password_file = cfg.smtp.passwordFile; }
          )
        ];
      }
    ];
  };

  homepageEntries = map (t: {
    "${t.unit}" = {
      description = "hlexporter ${t.collector} on ${cfg.hostName}";
      widget = {
        type = "customapi";
        url = "http://${t.address}/api/homepage/${t.collector}";
        mappings = [
          {
            field = "${t.collector}_success";
            label = "OK";
            format = "number";
          }
          {
            field = "${t.collector}_last_success";
            label = "Updated";
            format = "relativeDate";
          }
        ];
      };
    };
  }) config.services.hlexporter.scrapeTargets;

  # Caddy virtual hosts answer private addresses only (`route` keeps the
  # order: the abort runs before the proxy).
  privateProxy = port: ''
    @outside not remote_ip private_ranges
    route {
      abort @outside
      reverse_proxy ${local port}
    }
  '';
in
{
  options.homelab.services.monitoring = {
    enable = lib.mkEnableOption "the hlalert observability appliance on this machine";

    role = mkOption {
      type = types.enum [
        "main"
        "nas"
        "ha"
      ];
      description = ''
        main: VictoriaMetrics, Loki, Grafana, hlalert and the exporters;
        nas: ZFS, SMART, backup and deploy exporters, node_exporter, Alloy
        shipping to the main server's Loki; ha: node_exporter, Alloy and a
        standalone hlalert that watches the main server.
      '';
    };

    hostName = mkOption {
      type = types.str;
      default = config.networking.hostName;
      defaultText = lib.literalExpression "config.networking.hostName";
      description = "The `host` label of this machine's metrics and logs.";
    };

    email = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "me@example.org";
      description = "Where alerts are mailed (main and ha). null: mails stay in hlalert's outbox folder.";
    };

    smtp = {
      host = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "smtp.example.org:587";
        description = "SMTP server (host:port; STARTTLS unless 465). null: mails stay in the outbox folder.";
      };
      from = mkOption {
        type = types.str;
        default = "hlalert@${cfg.hostName}";
        defaultText = lib.literalExpression ''"hlalert@''${hostName}"'';
        description = "Sender address.";
      };
      username = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "SMTP user name.";
      };
      passwordFile = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "/run/agenix/smtp-password";
        description = "File holding the SMTP password (agenix).";
      };
      requireTLS = mkOption {
        type = types.bool;
        default = true;
        description = "false: plaintext SMTP, for a relay on the same machine only (credentials are never sent unencrypted).";
      };
    };

    lokiUrl = mkOption {
      type = types.str;
      default = "http://${local ports.loki}";
      description = "Base URL of the Loki that Alloy ships the journal to (nas and ha: the main server's).";
    };

    retention = {
      metrics = mkOption {
        type = types.str;
        default = "90d";
        description = "VictoriaMetrics' retentionPeriod (main).";
      };
      logs = mkOption {
        type = types.str;
        default = "744h";
        description = "Loki's retention_period (main).";
      };
    };

    scrapeTargets = mkOption {
      default = [ ];
      description = "Remote targets the main server's VictoriaMetrics scrapes (other machines' hlexporter units and node_exporters).";
      type = types.listOf (
        types.submodule {
          options = {
            job = mkOption {
              type = types.str;
              example = "nas-hlexporter-zfs";
            };
            address = mkOption {
              type = types.str;
              example = "nas.home.arpa:9808";
            };
            host = mkOption {
              type = types.str;
              description = "The `host` label.";
            };
          };
        }
      );
    };

    watch = mkOption {
      default = [ ];
      description = "ha: the main server's endpoints the standalone hlalert scrapes itself; an `up == 0` for 3m mails the operator.";
      type = types.listOf (
        types.submodule {
          options = {
            job = mkOption { type = types.str; };
            url = mkOption {
              type = types.str;
              example = "http://main.home.arpa:8428/metrics";
            };
          };
        }
      );
    };

    grafana.adminPasswordFile = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "/run/agenix/grafana-admin";
      description = "File holding Grafana's admin password (main).";
    };
    grafana.secretKeyFile = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "/run/agenix/grafana-secret-key";
      description = ''
        File holding Grafana's secret_key, which signs its cookies and
        encrypts stored secrets (main). nixpkgs has no default for it since
        26.05: set this or services.grafana.settings.security.secret_key.
      '';
    };

    caddy = {
      enable = mkOption {
        type = types.bool;
        default = false;
        description = "Caddy virtual hosts for Grafana and hlalert (main), answering private addresses only.";
      };
      domain = mkOption {
        type = types.str;
        default = "home.arpa";
        description = "Virtual hosts are grafana.<domain> and hlalert.<domain>.";
      };
    };

    dashboards = mkOption {
      type = types.listOf types.str;
      readOnly = true;
      default = dashboardFiles;
      description = "The dashboards/*.json files provisioned to Grafana.";
    };
  };

  config = mkIf cfg.enable (
    lib.mkMerge [
      {
        assertions = [
          {
            assertion = isMain || cfg.lokiUrl != "http://${local ports.loki}";
            message = "homelab.services.monitoring.lokiUrl must point at the main server's Loki on role \"${cfg.role}\" (it has no Loki of its own).";
          }
          {
            assertion = isHa -> cfg.watch != [ ];
            message = "homelab.services.monitoring.watch must list the main server's endpoints on role \"ha\".";
          }
        ];

        warnings = lib.optional ((isMain || isHa) && (cfg.email == null || cfg.smtp.host == null)) (
          "homelab.services.monitoring: email and smtp.host are not both set: hlalert keeps its mails in its outbox folder (/var/lib/hlalert/outbox) and sends none."
        );

        # Every role: node_exporter, the deploy collector and Alloy shipping
        # the journal.
        services.prometheus.exporters.node = {
          enable = mkDefault true;
          listenAddress = mkDefault "127.0.0.1";
          port = mkDefault ports.node;
        };
        services.hlexporter = {
          enable = mkDefault true;
          collectors.deploy.enable = mkDefault true;
        };
        services.alloy.enable = mkDefault true;
        environment.etc."alloy/hlalert-journal.alloy".text = alloyJournal;
        # Upstream reloads Alloy for config.alloy only; this file too.
        systemd.services.alloy.reloadTriggers = [ config.environment.etc."alloy/hlalert-journal.alloy".source ];
      }

      (mkIf (isMain || isHa) {
        services.hlalert = {
          enable = mkDefault true;
          routing = mkIf (cfg.email != null && cfg.smtp.host != null) (mkDefault routing);
        };
      })

      (mkIf isMain {
        services.victoriametrics = {
          enable = mkDefault true;
          listenAddress = mkDefault (local ports.victoriametrics);
          retentionPeriod = mkDefault cfg.retention.metrics;
          prometheusConfig = {
            global.scrape_interval = mkDefault "15s";
            scrape_configs = scrapeConfigs;
          };
        };

        services.loki = {
          enable = mkDefault true;
          # A user's own services.loki.configFile wins: then the appliance
          # writes no configuration.
          configuration = mkIf (config.services.loki.configFile == null) (
            lib.mapAttrsRecursive (_: mkDefault) lokiConfig
          );
        };

        services.grafana = {
          enable = mkDefault true;
          settings = {
            server = {
              http_addr = mkDefault "127.0.0.1";
              http_port = mkDefault ports.grafana;
            };
            analytics.reporting_enabled = mkDefault false;
            security.admin_password = mkIf (cfg.grafana.adminPasswordFile != null) (
              mkDefault "$__file{${cfg.grafana.adminPasswordFile}}"
            );
            security.secret_key = mkIf (cfg.grafana.secretKeyFile != null) (
              mkDefault "$__file{${cfg.grafana.secretKeyFile}}"
            );
          };
          provision = {
            enable = mkDefault true;
            datasources.settings.datasources = [
              {
                name = "VictoriaMetrics";
                uid = "victoriametrics";
                type = "prometheus";
                access = "proxy";
                url = "http://${config.services.victoriametrics.listenAddress}";
              }
              {
                name = "Loki";
                uid = "loki";
                type = "loki";
                access = "proxy";
                url = cfg.lokiUrl;
              }
            ];
            dashboards.settings.providers = [
              {
                name = "hlalert";
                type = "file";
                folder = "hlalert";
                options.path = dashboards;
              }
            ];
          };
        };

        services.hlalert.settings = {
          datasource = {
            victoriametrics.url = mkDefault "http://${config.services.victoriametrics.listenAddress}";
            loki.url = mkDefault cfg.lokiUrl;
          };
          history.url = mkDefault cfg.lokiUrl;
          notify.grafana_url = mkDefault "http://${local ports.grafana}";
        };

        services.homepage-dashboard.services = mkIf config.services.homepage-dashboard.enable [
          { "Homelab monitoring" = homepageEntries; }
        ];

        services.caddy = mkIf cfg.caddy.enable {
          enable = mkDefault true;
          virtualHosts = {
            "grafana.${cfg.caddy.domain}".extraConfig = privateProxy ports.grafana;
            "hlalert.${cfg.caddy.domain}".extraConfig = privateProxy (hl.portOf config.services.hlalert.settings.listen);
          };
        };
      })

      (mkIf isNas {
        services.hlexporter.collectors = {
          zfs.enable = mkDefault true;
          smart.enable = mkDefault true;
          backup.enable = mkDefault true;
        };
      })

      (mkIf isHa {
        services.hlalert = {
          # Standalone: hlalert scrapes the main server itself, so an alert
          # still arrives when the main server's VictoriaMetrics is down.
          settings.datasource.embedded.targets = map (w: {
            inherit (w) job url;
            interval = "15s";
          }) cfg.watch;
          ruleFiles = mkDefault [ ];
          extraRules = [
            {
              name = "homelab-ha-watch";
              interval = "30s";
              rules = [
                {
                  alert = "HomelabMainServerUnreachable";
                  expr = "up == 0";
                  "for" = "3m";
                  labels.severity = "critical";
                  annotations = {
                    summary = "{{ $labels.job }} on the main server is unreachable from ${cfg.hostName}";
                    description = "Scrapes of {{ $labels.instance }} have failed for 3 minutes; the main server or its network is down.";
                  };
                }
              ];
            }
          ];
        };
      })
    ]
  );
}
