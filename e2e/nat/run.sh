#!/usr/bin/env bash
# Runs the NAT suite (e2e/nat/*.spec.ts) from the root network namespace: the tests build
# their own namespaces (two homes behind NATs, a public network with coturn), run every
# browser and server inside them, and remove them afterwards. Nothing leaves the machine.
# Where namespaces cannot be created the suite is skipped, loudly; a missing tool fails it.
set -euo pipefail
cd "$(dirname "$0")/../.."

skip() {
  printf '\n%s\n' "################################################################################" >&2
  printf '%s\n' "## NAT SUITE SKIPPED: $1" "## STUN/TURN across NATs is NOT tested on this machine (needs root and 'ip netns')." >&2
  printf '%s\n\n' "################################################################################" >&2
  exit 0
}

need() {
  command -v "$1" >/dev/null 2>&1 && return
  echo "e2e/nat: '$1' is not installed (apt-get install $2; .ci/run does)." >&2
  exit 1
}

need ip iproute2
export NAT_PREFIX="ssnat$$-"
probe="${NAT_PREFIX}probe"
ip netns add "$probe" 2>/dev/null || skip "cannot create a network namespace here."
ip netns delete "$probe"
need nft nftables
need turnserver coturn

# The tests remove what they made; this catches a run that was killed halfway: whatever
# still runs in this run's namespaces (coturn, the page server, a browser) ends with them.
cleanup() {
  for ns in $(ip netns list | awk '{print $1}' | grep "^${NAT_PREFIX}" || true); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
    ip netns delete "$ns" || true
  done
  rm -rf "$NAT_SCRATCH"
}
NAT_SCRATCH="$(mktemp -d)"
export NAT_SCRATCH
trap cleanup EXIT

npx playwright test --config e2e/nat/playwright.config.ts "$@"
