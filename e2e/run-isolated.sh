#!/usr/bin/env bash
# Runs the Playwright tests inside a network namespace whose only interface is loopback:
# WebRTC cannot pair over any other interface and no packet leaves the machine.
# Install packages before running this: the namespace has no network at all.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in unshare ip; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "e2e: '$tool' is not installed (apt-get install util-linux iproute2); browser tests need it to isolate the network." >&2
    exit 1
  fi
done
if ! unshare --net -- true 2>/dev/null; then
  echo "e2e: cannot create a network namespace ('unshare --net' failed); run as root or with CAP_SYS_ADMIN." >&2
  exit 1
fi

exec unshare --net -- sh -c 'ip link set lo up && exec npx playwright test "$@"' e2e "$@"
