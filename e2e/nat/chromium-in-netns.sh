#!/bin/sh
# Playwright's executablePath for the NAT suite: system Chromium inside the network
# namespace named by NAT_NETNS. `exec` keeps Playwright's pipe (fds 3 and 4) to the browser.
set -eu
exec ip netns exec "$NAT_NETNS" "${CHROMIUM_PATH:-/usr/bin/chromium}" "$@"
