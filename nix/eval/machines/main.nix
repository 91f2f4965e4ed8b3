# Example main server: the appliance, e-mail through an SMTP server with an
# agenix password, the NVR collector, Homepage on, the NAS's exporters
# scraped remotely.
{
  networking.hostName = "main";
  homelab.services.monitoring = {
    enable = true;
    role = "main";
    email = "operator@example.org";
    smtp = {
      host = "smtp.example.org:587";
      username = "operator@example.org";
      passwordFile = "/run/agenix/smtp-password";
    };
    grafana.adminPasswordFile = "/run/agenix/grafana-admin";
    grafana.secretKeyFile = "/run/agenix/grafana-secret-key";
    scrapeTargets = [
      {
        job = "hlexporter-zfs";
        address = "nas.home.arpa:9808";
        host = "nas";
      }
      {
        job = "node";
        address = "nas.home.arpa:9100";
        host = "nas";
      }
    ];
  };
  services.hlexporter.collectors.nvr = {
    enable = true;
    settings = {
      url = "http://127.0.0.1:5000";
      username = "admin";
      password_file = "/run/agenix/frigate-password";
    };
  };
  services.homepage-dashboard.enable = true;
  # A datasource token (e.g. VictoriaMetrics behind vmauth), from agenix.
  services.hlalert.settings.datasource.victoriametrics.bearer_token_file = "/run/agenix/vm-token";
}
