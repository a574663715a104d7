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

changed() { CHANGES=$((CHANGES + 1)); echo "changed: $*"; }
ok() { echo "ok: $*"; }
is_root() { [ "$(id -u)" -eq 0 ]; }

prefix_args() {
    if [ "$LIVE" -eq 0 ]; then
        printf '%s\n' --prefix "$ROOT"
    fi
}

# install_file SRC DEST MODE: copy only when content or mode differ.
install_file() {
    local src="$1" dest="$ROOT$2" mode="$3"
    if [ -f "$dest" ] && cmp -s "$src" "$dest" && [ "$(stat -c %a "$dest")" = "$mode" ]; then
        ok "$2"
        return
    fi
    install -D -m "$mode" "$src" "$dest"
    changed "$2"
}

step_apt() {
    if [ "$LIVE" -eq 0 ] || [ "$APT" -eq 0 ]; then
        return
    fi
    local missing=() pkg
    for pkg in postgresql mosquitto python3-venv; do
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
        echo "skip: service user (not running as root)"
        return
    fi
    if [ "$LIVE" -eq 0 ] && [ ! -f "$ROOT/etc/passwd" ]; then
        echo "skip: service user ($ROOT/etc/passwd does not exist)"
        return
    fi
    if grep -q "^$SERVICE_USER:" "$ROOT/etc/passwd"; then
        ok "user $SERVICE_USER"
    else
        # shellcheck disable=SC2046  # prefix_args prints zero or two separate words
        useradd $(prefix_args) --system --user-group --home-dir /var/lib/kitchen-central \
            --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
        changed "user $SERVICE_USER"
    fi
}

source_stamp() {
    if [ -d "$SOURCE" ]; then
        (cd "$SOURCE" && find appliance central pyproject.toml -type f ! -name '*.pyc' -print0 \
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
        "$PYTHON" -m venv "$venv"
        changed "$VENV"
    fi
    stamp="$(source_stamp)"
    if [ -f "$venv/.kitchen-central-source" ] \
        && [ "$(cat "$venv/.kitchen-central-source")" = "$stamp" ]; then
        ok "kitchen package (central)"
        return
    fi
    "$venv/bin/pip" install --quiet --upgrade "${SOURCE}[${EXTRAS}]"
    echo "$stamp" > "$venv/.kitchen-central-source"
    changed "kitchen package (central) from $SOURCE"
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
    local args=()
    if [ "$LIVE" -eq 1 ]; then
        systemctl daemon-reload
    else
        args=(--root="$ROOT")
    fi
    local unit
    for unit in mosquitto.service kitchen-central.service; do
        if systemctl "${args[@]}" is-enabled --quiet "$unit" 2>/dev/null; then
            ok "$unit enabled"
        else
            systemctl "${args[@]}" enable --quiet "$unit"
            changed "$unit enabled"
        fi
    done
    if [ "$LIVE" -eq 1 ] && [ "$CHANGES" -gt 0 ]; then
        # Mosquitto reads kitchen.conf only at start (logins and ACLs also on reload).
        systemctl restart mosquitto.service kitchen-central.service
    fi
}

step_apt
step_user
step_venv
step_link
install_file "$REPO/systemd/kitchen-central.service" "$UNITS/kitchen-central.service" 644
install_file "$REPO/systemd/mosquitto.service.d/kitchen.conf" \
    "$UNITS/mosquitto.service.d/kitchen.conf" 644
step_setup
step_enable
echo "install-central: $CHANGES changes"
