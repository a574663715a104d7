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

changed() { CHANGES=$((CHANGES + 1)); echo "changed: $*"; }
ok() { echo "ok: $*"; }
is_root() { [ "$(id -u)" -eq 0 ]; }

# Tools that take --prefix for an alternate /etc when we are not provisioning the live system.
prefix_args() {
    if [ "$LIVE" -eq 0 ]; then
        printf '%s\n' --prefix "$ROOT"
    fi
}

# install_file SRC DEST MODE [GROUP]: copy only when content, mode or group differ.
install_file() {
    local src="$1" dest="$ROOT$2" mode="$3" group="${4:-}"
    local gid=""
    if [ -n "$group" ] && is_root; then
        gid="$(awk -F: -v g="$group" '$1 == g { print $3 }' "$ROOT/etc/group" 2>/dev/null || true)"
    fi
    if [ -f "$dest" ] && cmp -s "$src" "$dest" \
        && [ "$(stat -c %a "$dest")" = "$mode" ] \
        && { [ -z "$gid" ] || [ "$(stat -c %g "$dest")" = "$gid" ]; }; then
        ok "$2"
        return
    fi
    install -D -m "$mode" "$src" "$dest"
    if [ -n "$gid" ]; then
        chown "0:$gid" "$dest"
    fi
    changed "$2"
}

step_apt() {
    if [ "$LIVE" -eq 0 ] || [ "$APT" -eq 0 ]; then
        return
    fi
    local missing=()
    for pkg in python3-venv python3-lgpio i2c-tools avahi-daemon; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        ok "apt packages"
        return
    fi
    apt-get update
    apt-get install -y "${missing[@]}"
    changed "apt packages: ${missing[*]}"
}

step_user() {
    if ! is_root; then
        echo "skip: users and groups (not running as root)"
        return
    fi
    if [ "$LIVE" -eq 0 ] && [ ! -f "$ROOT/etc/passwd" ]; then
        echo "skip: users and groups ($ROOT/etc/passwd does not exist)"
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
    if grep -q "^$SERVICE_USER:" "$ROOT/etc/passwd"; then
        ok "user $SERVICE_USER"
    else
        # shellcheck disable=SC2046
        useradd $(prefix_args) --system --user-group --home-dir /var/lib/kitchen-node \
            --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
        changed "user $SERVICE_USER"
    fi
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

source_stamp() {
    if [ -d "$SOURCE" ]; then
        (cd "$SOURCE" && find appliance pyproject.toml -type f ! -name '*.pyc' -print0 \
            | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
    else
        sha256sum "$SOURCE" | cut -d' ' -f1
    fi
}

step_venv() {
    if [ "$PIP" -eq 0 ]; then
        echo "skip: virtualenv and package (--no-pip)"
        return
    fi
    local venv="$ROOT$VENV" stamp
    if [ -x "$venv/bin/python" ]; then
        ok "$VENV"
    else
        # System site packages bring Raspberry Pi OS's lgpio, which gpiozero uses on a Pi.
        "$PYTHON" -m venv --system-site-packages "$venv"
        changed "$VENV"
    fi
    stamp="$(source_stamp)"
    if [ -f "$venv/.kitchen-source" ] && [ "$(cat "$venv/.kitchen-source")" = "$stamp" ]; then
        ok "kitchen package"
        return
    fi
    "$venv/bin/pip" install --quiet --upgrade "${SOURCE}[${EXTRAS}]"
    echo "$stamp" > "$venv/.kitchen-source"
    changed "kitchen package from $SOURCE"
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
    local args=()
    if [ "$LIVE" -eq 0 ]; then
        args=(--root="$ROOT")
    fi
    if systemctl "${args[@]}" is-enabled --quiet kitchen-node.service 2>/dev/null; then
        ok "kitchen-node.service enabled"
    else
        systemctl "${args[@]}" enable --quiet kitchen-node.service
        changed "kitchen-node.service enabled"
    fi
    if [ "$LIVE" -eq 1 ] && [ "$CHANGES" -gt 0 ]; then
        systemctl restart kitchen-node.service
    fi
}

step_apt
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
