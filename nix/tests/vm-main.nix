# NixOS VM test of the main role (needs KVM): the services start,
# VictoriaMetrics scrapes hlexporter and hlalert, and an alert reaches a
# local SMTP sink (Mailpit).
#   nix build .#checks.x86_64-linux.vm-main -L
{ self }:
{ lib, ... }:
{
  name = "hlalert-main";

  nodes.main =
    { pkgs, ... }:
    {
      imports = [ self.nixosModules.default ];
      virtualisation.memorySize = 2048;
      networking.hostName = "main";
      environment.systemPackages = [ pkgs.curl ];

      homelab.services.monitoring = {
        enable = true;
        role = "main";
        email = "operator@example.org";
        smtp = {
          host = "127.0.0.1:1025";
          requireTLS = false;
        };
        # A test key (Grafana has no default secret_key since nixpkgs 26.05).
        grafana.secretKeyFile = "${pkgs.writeText "grafana-secret-key" "vm-test-key-not-a-secret"}";
      };

      # A rule that fires at once, so a mail is due within a minute.
      services.hlalert.extraRules = [
        {
          name = "vm-test";
          interval = "10s";
          rules = [
            {
              alert = "VMTestAlwaysFiring";
              expr = "vector(1)";
              labels.severity = "info";
              annotations.summary = "the VM test's alert";
            }
          ];
        }
      ];

      systemd.services.mailpit = {
        wantedBy = [ "multi-user.target" ];
        serviceConfig = {
          ExecStart = "${pkgs.mailpit}/bin/mailpit --smtp 127.0.0.1:1025 --listen 127.0.0.1:8025";
          DynamicUser = true;
        };
      };
    };

  testScript = ''
    main.wait_for_unit("mailpit.service")
    for unit in ["victoriametrics", "loki", "grafana", "alloy", "hlexporter-deploy", "hlalert", "prometheus-node-exporter"]:
        main.wait_for_unit(unit + ".service")
    main.wait_for_open_port(8880)
    main.wait_for_open_port(8428)

    # VictoriaMetrics scrapes the hlexporter unit and hlalert.
    for job in ["hlexporter-deploy", "hlalert", "node"]:
        main.wait_until_succeeds(
            "curl -sf 'http://127.0.0.1:8428/api/v1/query?query=up%7Bjob%3D%22" + job + "%22%7D' | grep -q '\"1\"'",
            timeout=180,
        )

    # Nothing beyond loopback.
    main.fail("ss -Htln | awk '{print $4}' | grep -v -E '^(127\\.|\\[::1\\]|\\[::ffff:127)' | grep -q .")

    # The alert reaches the SMTP sink.
    main.wait_until_succeeds(
        "curl -sf http://127.0.0.1:8025/api/v1/messages | grep -q VMTestAlwaysFiring",
        timeout=300,
    )
  '';
}
