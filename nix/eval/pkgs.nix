# Stand-ins for the few pkgs functions and packages the modules use, for the
# evaluation tier (nix/eval_test.go). Files are real: generate, writeText,
# runCommand and linkFarm write their content to the store with
# builtins.toFile, so the test reads what a build would get. formats.yaml
# writes JSON, which is valid YAML.
{ lib, pkgRoot }:
let
  fakePackage = name: {
    type = "derivation";
    inherit name;
    outPath = "${builtins.storeDir}/00000000000000000000000000000000-${name}";
  };
  # The value type of nixpkgs' formats.json/yaml: JSON-like values whose
  # attribute sets merge and whose lists concatenate.
  valueType =
    with lib.types;
    nullOr (oneOf [
      bool
      int
      float
      str
      path
      (attrsOf valueType)
      (listOf valueType)
    ])
    // {
      description = "JSON value";
    };
  jsonLike = {
    type = valueType;
    generate = name: value: builtins.toFile name (builtins.toJSON value);
  };
in
{
  formats = {
    yaml = _: jsonLike;
    json = _: jsonLike;
  };
  writeText = name: text: builtins.toFile name text;
  # The build script itself: the test runs it with the package on PATH.
  runCommand = name: _env: script: builtins.toFile name script;
  # The entries as JSON ([{name, path}]), for the test to compare.
  linkFarm = name: entries: builtins.toFile name (builtins.toJSON entries);

  # hlalert and hlexporter: a folder the test prepares (bin/ built from
  # this checkout, share/hlalert/rules linked to rules/).
  hlalert = {
    type = "derivation";
    name = "hlalert";
    outPath = pkgRoot;
  };
  hlexporter = {
    type = "derivation";
    name = "hlexporter";
    outPath = pkgRoot;
  };
  coreutils = fakePackage "coreutils";
  systemd = fakePackage "systemd";
  smartmontools = fakePackage "smartmontools";
  restic = fakePackage "restic";
  borgbackup = fakePackage "borgbackup";
  zfs = fakePackage "zfs";
  curl = fakePackage "curl";
  mailpit = fakePackage "mailpit";
}
