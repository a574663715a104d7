#!/usr/bin/env bash
# Turn a Raspberry Pi OS (Bookworm) system into a kitchen scan node.
#
# Idempotent: every step checks before it changes anything, so a second run reports
# "0 changes". With --root DIR it provisions a directory tree instead of the running
# system (for tests and for preparing an SD card image): nothing is started, apt is not
# used, and users and groups go into DIR/etc through useradd/groupadd --prefix.
#
# Usage: sudo firmware/provision.sh [--root DIR] [--source WHEEL_OR_DIR] [--no-pip] [--no-apt]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$HERE")"
ROOT=/
SOURCE="$REPO"
PIP=1
APT=1
PYTHON=python3
EXTRAS="hardware,sync,extras"
SERVICE_USER=kitchen
GROUPS_NEEDED=(input i2c gpio)
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
        --python) PYTHON="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "provision: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
done

ROOT="${ROOT%/}"
LIVE=0
if [ -z "$ROOT" ]; then
    LIVE=1  # provisioning the running system
fi
VENV=/opt/kitchen/venv
CONFIG=/etc/kitchen-node/config.toml

# shellcheck source=firmware/common.sh
. "$HERE/common.sh"

step_user() {
    if ! can_add_users "users and groups"; then
        return
    fi
    local group
    for group in "${GROUPS_NEEDED[@]}"; do
        if grep -q "^$group:" "$ROOT/etc/group"; then
            ok "group $group"
        else
            # shellcheck disable=SC2046  # prefix_args prints zero or two separate words
            groupadd $(prefix_args) --system "$group"
            changed "group $group"
        fi
    done
    service_user /var/lib/kitchen-node
    for group in "${GROUPS_NEEDED[@]}"; do
        if awk -F: -v g="$group" -v u="$SERVICE_USER" \
            '$1 == g { n = split($4, m, ","); for (i = 1; i <= n; i++) if (m[i] == u) f = 1 } END { exit !f }' \
            "$ROOT/etc/group"; then
            ok "$SERVICE_USER in group $group"
        else
            # shellcheck disable=SC2046
            usermod $(prefix_args) --append --groups "$group" "$SERVICE_USER"
            changed "$SERVICE_USER in group $group"
        fi
    done
}

step_venv() {
    # System site packages bring Raspberry Pi OS's lgpio, which gpiozero uses on a Pi.
    package_venv "kitchen package" .kitchen-source "$(source_stamp appliance)" \
        --system-site-packages
}

step_config() {
    local dest="$ROOT$CONFIG"
    if [ -f "$dest" ]; then
        ok "$CONFIG (kept: it is yours to edit)"
        return
    fi
    install_file "$HERE/config/node-pi.toml" "$CONFIG" 640 "$SERVICE_USER"
}

step_boot() {
    local cfg
    for cfg in "$ROOT/boot/firmware/config.txt" "$ROOT/boot/config.txt"; do
        if [ -f "$cfg" ]; then
            if grep -q "^# kitchen-node: begin" "$cfg"; then
                ok "${cfg#"$ROOT"}"
            else
                { echo; cat "$HERE/boot/config.txt"; } >> "$cfg"
                changed "${cfg#"$ROOT"} (I2C on; takes effect after a reboot)"
            fi
            return
        fi
    done
    echo "skip: no /boot/firmware/config.txt (not a Raspberry Pi?)"
}

# The Avahi service file that announces the node on the LAN (_kitchen._tcp, _http(s)._tcp).
# Raspberry Pi OS runs Avahi, and a second mDNS responder beside it causes trouble, so the
# node leaves announcing to Avahi ([mdns] mode = "auto"). Written from the node's config, so
# it follows a changed id, household or port on the next run.
step_avahi() {
    local node="$ROOT$VENV/bin/kitchen-node" tmp
    tmp="$(mktemp)"
    if [ -x "$node" ]; then
        "$node" mdns avahi-service --config "$ROOT$CONFIG" > "$tmp"
    else
        PYTHONPATH="$REPO" "$PYTHON" -m appliance mdns avahi-service --config "$ROOT$CONFIG" > "$tmp"
    fi
    install_file "$tmp" /etc/avahi/services/kitchen-node.service 644
    rm -f "$tmp"
}

step_enable() {
    if [ "$LIVE" -eq 1 ]; then
        systemctl daemon-reload
        udevadm control --reload-rules
        udevadm trigger --subsystem-match=input --action=change
    fi
    enable_units kitchen-node.service
    if [ "$LIVE" -eq 1 ] && [ "$CHANGES" -gt 0 ]; then
        systemctl restart kitchen-node.service
    fi
}

apt_packages python3-venv python3-lgpio i2c-tools avahi-daemon
step_user
step_venv
step_config
install_file "$HERE/modules-load/kitchen-node.conf" /etc/modules-load.d/kitchen-node.conf 644
install_file "$HERE/udev/99-kitchen-scanner.rules" /etc/udev/rules.d/99-kitchen-scanner.rules 644
install_file "$REPO/systemd/kitchen-node.service" /etc/systemd/system/kitchen-node.service 644
step_avahi
step_boot
step_enable
echo "provision: $CHANGES changes"
