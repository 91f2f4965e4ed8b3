# All of hlalert's NixOS modules. The flake's nixosModules.default adds the
# overlay that provides pkgs.hlalert and pkgs.hlexporter.
{
  imports = [
    ./hlalert.nix
    ./hlexporter.nix
    ./appliance.nix
  ];
}
