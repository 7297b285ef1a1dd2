#!/usr/bin/env bash
# Installs the Wattfleet hub on a Debian/Ubuntu server from this checkout:
#   sudo deploy/hub/install.sh
# Copies the checkout to /opt/wattfleet-hub, installs production dependencies, builds the portal
# and the hub bundle, creates the wattfleet-hub user, installs the systemd unit and an env file
# (kept if present), and starts the hub. Run again to upgrade.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
DEST=/opt/wattfleet-hub
[ "$(id -u)" -eq 0 ] || { echo "run as root (sudo)" >&2; exit 1; }
command -v node >/dev/null || { echo "Node.js 20 or later is required" >&2; exit 1; }
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
  { echo "Node.js 20 or later is required (found $(node --version))" >&2; exit 1; }

id wattfleet-hub >/dev/null 2>&1 || useradd --system --home /var/lib/wattfleet-hub --shell /usr/sbin/nologin wattfleet-hub
mkdir -p "$DEST" /etc/wattfleet
# The build needs dev dependencies (esbuild, vite); the service runs with production ones only.
rsync -a --delete --exclude node_modules --exclude .git --exclude data "$SRC/" "$DEST/"
cd "$DEST"
npm ci --no-audit --no-fund
npm run build -w @wattfleet/web
node packages/hub/scripts/build.mjs
npm prune --omit=dev --no-audit --no-fund
if [ ! -f /etc/wattfleet/hub.env ]; then
  install -m 0640 -g wattfleet-hub deploy/hub/hub.env.example /etc/wattfleet/hub.env
  key="$(openssl rand -hex 32)"
  sed -i "s/^WATTFLEET_SECRETS_KEY=.*/WATTFLEET_SECRETS_KEY=$key/" /etc/wattfleet/hub.env
  echo "Wrote /etc/wattfleet/hub.env with a new secrets key: edit DATABASE_URL, and BACK THE KEY UP."
fi
install -m 0644 deploy/hub/wattfleet-hub.service /etc/systemd/system/wattfleet-hub.service
systemctl daemon-reload
systemctl enable wattfleet-hub
systemctl restart wattfleet-hub
echo "wattfleet-hub started: journalctl -u wattfleet-hub -f"
