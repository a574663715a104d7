#!/usr/bin/env bash
# Install the household central on Debian 12 or Raspberry Pi OS (Bookworm): PostgreSQL,
# Mosquitto, the kitchen package, 'kitchen-central setup' (database, role, broker logins,
# configuration), the systemd unit and the Mosquitto drop-in; then start both services.
#
# Idempotent: a second run reports "0 changes". With --root DIR it installs the files into a
# directory tree instead (for tests and images): no apt, no setup, nothing started.
#
# Usage: sudo firmware/install-central.sh [--root DIR] [--source WHEEL_OR_DIR] [--no-pip] [--no-apt] [--no-setup]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$HERE")"
ROOT=/
SOURCE="$REPO"
PIP=1
APT=1
SETUP=1
PYTHON=python3
EXTRAS="central,extras"
SERVICE_USER=kitchen-central
CHANGES=0

usage() {
    sed -n '2,9s/^# \{0,1\}//p' "$0"
}

while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT="$2"; shift 2 ;;
        --source|--wheel) SOURCE="$2"; shift 2 ;;
        --no-pip) PIP=0; shift ;;
        --no-apt) APT=0; shift ;;
        --no-setup) SETUP=0; shift ;;
        --python) PYTHON="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install-central: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
done

ROOT="${ROOT%/}"
LIVE=0
if [ -z "$ROOT" ]; then
    LIVE=1  # installing on the running system
fi
VENV=/opt/kitchen/venv
UNITS=/etc/systemd/system

# shellcheck source=firmware/common.sh
. "$HERE/common.sh"

step_user() {
    if can_add_users "service user"; then
        service_user /var/lib/kitchen-central
    fi
}

step_venv() {
    package_venv "kitchen package (central)" .kitchen-central-source \
        "$(source_stamp appliance central)"
}

step_link() {
    local link="$ROOT/usr/local/bin/kitchen-central"
    if [ -L "$link" ] && [ "$(readlink "$link")" = "$VENV/bin/kitchen-central" ]; then
        ok "/usr/local/bin/kitchen-central"
        return
    fi
    mkdir -p "$(dirname "$link")"
    ln -sfn "$VENV/bin/kitchen-central" "$link"
    changed "/usr/local/bin/kitchen-central -> $VENV/bin/kitchen-central"
}

step_setup() {
    if [ "$LIVE" -eq 0 ] || [ "$SETUP" -eq 0 ]; then
        echo "skip: kitchen-central setup"
        return
    fi
    local out
    # The broker templates ship in the checkout, not in the installed package.
    out="$(KITCHEN_BROKER_TEMPLATES="$HERE/broker" "$VENV/bin/kitchen-central" setup)"
    echo "$out"
    if ! grep -q "^Nothing changed." <<<"$out"; then
        changed "kitchen-central setup"
    fi
}

step_enable() {
    if [ "$LIVE" -eq 1 ]; then
        systemctl daemon-reload
    fi
    enable_units mosquitto.service kitchen-central.service
    if [ "$LIVE" -eq 1 ] && [ "$CHANGES" -gt 0 ]; then
        # Mosquitto reads kitchen.conf only at start (logins and ACLs also on reload).
        systemctl restart mosquitto.service kitchen-central.service
    fi
}

apt_packages postgresql mosquitto python3-venv
step_user
step_venv
step_link
install_file "$REPO/systemd/kitchen-central.service" "$UNITS/kitchen-central.service" 644
install_file "$REPO/systemd/mosquitto.service.d/kitchen.conf" \
    "$UNITS/mosquitto.service.d/kitchen.conf" 644
step_setup
step_enable
echo "install-central: $CHANGES changes"
