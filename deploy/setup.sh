#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks: the system packages the local stack runs
# (Redis, PostgreSQL, SIPp, espeak-ng for the speech simulator, Chromium for the console's
# browser tests), the C libraries cgo builds need, and the npm packages. Go-built servers
# are built by `npm run stack:up`.
# Idempotent and quiet when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

need_node_major=20; need_node_minor=19
node_version=$(node -p 'process.versions.node' 2>/dev/null || echo 0.0.0)
IFS=. read -r major minor _ <<<"$node_version"
if (( major < need_node_major || (major == need_node_major && minor < need_node_minor) )); then
  echo "setup: Node >= ${need_node_major}.${need_node_minor} is required (found ${node_version})" >&2
  exit 1
fi
command -v go >/dev/null || { echo "setup: Go is required to build the stack's servers (go not found on PATH)" >&2; exit 1; }

# Debian package -> a file that proves it is installed.
declare -A packages=(
  [redis-server]=/usr/bin/redis-server
  [postgresql]=/usr/lib/postgresql
  [sip-tester]=/usr/bin/sipp
  [espeak-ng]=/usr/bin/espeak-ng
  [sox]=/usr/bin/sox
  [pkg-config]=/usr/bin/pkg-config
  # Headless browser for the operations console's end-to-end tests (driven by playwright-core).
  [chromium]=/usr/bin/chromium
)
missing=()
for pkg in "${!packages[@]}"; do
  [[ -e "${packages[$pkg]}" ]] || missing+=("$pkg")
done
if (( ${#missing[@]} > 0 )); then
  echo "setup: installing Debian packages: ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts its own Redis/PostgreSQL services on install where it can; the stack
  # runs its own processes on its own ports and does not use them.
fi

# A changed dependency patch (deploy/patches, applied by postinstall) also needs a clean install.
if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]] \
  || [[ -n $(find deploy/patches -newer node_modules/.package-lock.json -print -quit) ]]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi
