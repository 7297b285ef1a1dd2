#!/usr/bin/env bash
# Installs the Wattfleet edge agent on Raspberry Pi OS (Bookworm, arm64/armhf) or Debian 12.
# Usage: sudo ./install.sh [--tag v0.1.0] [--repo URL] [--hub URL --code CODE]
# Idempotent: running it again installs the given tag as a new release and keeps the config.
set -euo pipefail

TAG=main
REPO=https://github.com/wattfleet/wattfleet.git
HUB=""
CODE=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tag) TAG="$2"; shift 2 ;;
    --repo) REPO="$2"; shift 2 ;;
    --hub) HUB="$2"; shift 2 ;;
    --code) CODE="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[[ $EUID -eq 0 ]] || { echo "run as root (sudo)" >&2; exit 1; }
HERE="$(cd "$(dirname "$0")" && pwd)"
OPT=/opt/wattfleet

echo "== packages"
apt-get update -q
# build-essential/python3: better-sqlite3 compiles from source when no prebuilt binary matches.
apt-get install -y -q git ca-certificates curl build-essential python3 unattended-upgrades
if ! node -v 2>/dev/null | grep -qE '^v(20|22)\.'; then
  # Node 20 LTS from NodeSource (Raspberry Pi OS ships an older Node).
  curl -fsSL https://deb.nodesource.com/setup_20.x | bash -
  apt-get install -y -q nodejs
fi

echo "== user and directories"
id wattfleet >/dev/null 2>&1 || useradd --system --home-dir /var/lib/wattfleet --shell /usr/sbin/nologin wattfleet
# dialout/gpio: serial Modbus adapters and relay HATs.
# systemd-journal: FETCH_LOGS reads the unit's journal when no log file is configured.
for g in dialout gpio systemd-journal; do getent group "$g" >/dev/null && usermod -aG "$g" wattfleet; done
install -d -o wattfleet -g wattfleet -m 0750 /var/lib/wattfleet /etc/wattfleet "$OPT" "$OPT/releases"

echo "== release $TAG"
DIR="$OPT/releases/${TAG//\//_}"
if [[ ! -d "$DIR" ]]; then
  sudo -u wattfleet git clone --quiet --branch "$TAG" --depth 1 -- "$REPO" "$DIR"
  # Production dependencies only (esbuild, which builds the bundle, is one of them).
  (cd "$DIR" && sudo -u wattfleet NODE_ENV=production npm ci --no-audit --no-fund)
fi
# What systemd runs: one bundle, plain node (the same step SELF_UPDATE runs in a new release).
(cd "$DIR" && sudo -u wattfleet node packages/edge/scripts/build.mjs)
(cd "$DIR" && sudo -u wattfleet node packages/edge/dist/agent.mjs self-test)
if [[ -L "$OPT/current" ]]; then ln -sfn "$(readlink -f "$OPT/current")" "$OPT/previous.tmp" && mv -T "$OPT/previous.tmp" "$OPT/previous"; fi
ln -sfn "$DIR" "$OPT/current.tmp" && mv -T "$OPT/current.tmp" "$OPT/current"
chown -h wattfleet:wattfleet "$OPT/current" "$OPT/previous" 2>/dev/null || true

echo "== configuration"
if [[ ! -f /etc/wattfleet/agent.yaml ]]; then
  install -o wattfleet -g wattfleet -m 0640 "$HERE/agent.example.yaml" /etc/wattfleet/agent.yaml
  echo "   edit /etc/wattfleet/agent.yaml (hub url, site, sources)"
fi

echo "== systemd, polkit, unattended-upgrades"
install -m 0644 "$HERE/wattfleet-agent.service" "$HERE/wattfleet-agent-rollback.service" /etc/systemd/system/
install -m 0644 "$HERE/50-wattfleet-agent.rules" /etc/polkit-1/rules.d/50-wattfleet-agent.rules
install -m 0644 "$HERE/52wattfleet-unattended-upgrades" /etc/apt/apt.conf.d/52wattfleet-unattended-upgrades
systemctl daemon-reload

if [[ -n "$HUB" && -n "$CODE" ]]; then
  echo "== enrollment"
  (cd "$OPT/current" && sudo -u wattfleet WATTFLEET_CONFIG=/etc/wattfleet/agent.yaml \
    node packages/edge/dist/agent.mjs enroll --hub "$HUB" --code "$CODE")
fi

systemctl enable --now wattfleet-agent.service
systemctl restart wattfleet-agent.service
echo "== done: journalctl -u wattfleet-agent -f   |   http://$(hostname -I | awk '{print $1}'):8081"
