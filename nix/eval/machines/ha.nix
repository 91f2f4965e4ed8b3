# Example Home Assistant node: node_exporter, Alloy, and a standalone
# hlalert that watches the main server and mails when it is unreachable.
{
  networking.hostName = "ha";
  homelab.services.monitoring = {
    enable = true;
    role = "ha";
    lokiUrl = "http://main.home.arpa:3100";
    email = "operator@example.org";
    smtp = {
      host = "smtp.example.org:465";
      username = "operator@example.org";
      passwordFile = "/run/agenix/smtp-password";
    };
    watch = [
      {
        job = "main-victoriametrics";
        url = "http://main.home.arpa:8428/metrics";
      }
      {
        job = "main-hlalert";
        url = "http://main.home.arpa:8880/metrics";
      }
    ];
  };
}
