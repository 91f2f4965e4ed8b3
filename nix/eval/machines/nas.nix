# Example NAS: ZFS, SMART, backup and deploy exporters, the journal shipped
# to the main server's Loki.
{
  networking.hostName = "nas";
  homelab.services.monitoring = {
    enable = true;
    role = "nas";
    lokiUrl = "http://main.home.arpa:3100";
  };
  services.hlexporter.collectors.backup = {
    user = "restic";
    settings.repositories = [
      {
        name = "nas";
        tool = "restic";
        repository = "/srv/backup/restic";
        password_file = "/run/agenix/restic-nas";
        location = "nas";
        tier = "local";
      }
      {
        name = "offsite";
        tool = "restic";
        repository_file = "/run/agenix/restic-b2-repository";
        password_file = "/run/agenix/restic-b2";
        env_file = "/run/agenix/restic-b2-env";
        remote = true;
        location = "b2";
        tier = "offsite";
      }
    ];
  };
  services.hlexporter.collectors.smart.settings.devices = [
    { path = "/dev/sda"; }
    {
      path = "/dev/nvme0";
      type = "nvme";
    }
  ];
}
