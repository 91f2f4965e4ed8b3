# hlalert and hlexporter, built from this repository with buildGoModule.
# The shipped rules/ and dashboards/ go to $out/share/hlalert/.
{
  lib,
  buildGoModule,
  # cmd/hlalert or cmd/hlexporter
  pname,
  version,
  commit,
  # Hash of the Go module dependencies (go.sum), kept in step by
  # `go test ./nix -run TestVendorHash` (see vendor-hash.nix).
  vendorHash ? import ./vendor-hash.nix,
}:
let
  root = ../.;
  fs = lib.fileset;
in
buildGoModule {
  inherit pname version vendorHash;
  # The whole checkout except the Nix files and CI scripts (so editing a
  # module does not rebuild the binaries).
  src = fs.toSource {
    inherit root;
    fileset = fs.difference root (
      fs.unions [
        ./.
        ../flake.nix
        ../flake.lock
        (fs.maybeMissing ../.ci)
      ]
    );
  };
  subPackages = [ "cmd/${pname}" ];
  env.CGO_ENABLED = "0";
  ldflags = [
    "-s"
    "-w"
    "-X main.version=${version}"
    "-X main.commit=${commit}"
  ];
  # The tests run in CI (go test ./...); the heavy tiers build real servers
  # and cannot run in the build sandbox.
  doCheck = false;
  postInstall = ''
    mkdir -p $out/share/hlalert
    cp -r rules $out/share/hlalert/rules
    if [ -d dashboards ]; then
      mkdir -p $out/share/hlalert/dashboards
      cp dashboards/*.json $out/share/hlalert/dashboards/ 2>/dev/null || true
    fi
  '';
  meta = {
    description = "Observability and alerting appliance of a NixOS homelab (${pname})";
    homepage = "https://github.com/hlalert/hlalert";
    license = lib.licenses.asl20;
    mainProgram = pname;
    platforms = lib.platforms.linux;
  };
}
