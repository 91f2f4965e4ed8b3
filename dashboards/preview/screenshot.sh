#!/bin/sh
# Screenshots of the preview pages with Debian's chromium in headless mode
# (apt-get install -y chromium): dashboards/preview/{healthy,failing}.png.
set -eu
cd "$(dirname "$0")"
for page in failing healthy; do
	dir=$(mktemp -d)
	chromium --headless --no-sandbox --disable-gpu --disable-background-networking --no-first-run \
		--user-data-dir="$dir" --window-size=1400,2400 --screenshot="$PWD/$page.png" "file://$PWD/$page.html" 2>/dev/null
	rm -rf "$dir"
done
