package main

// version and commit are stamped at link time by the Nix package:
// -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "unknown"
)
