# Helpers shared by provision.sh (a scan node) and install-central.sh (the central), sourced
# by both. Each step checks before it changes anything and reports "ok: ..." or
# "changed: ...", so a second run reports "0 changes".
#
# The sourcing script sets: ROOT (empty for the running system), LIVE (1 when ROOT is
# empty), SOURCE, PYTHON, EXTRAS, VENV, SERVICE_USER and CHANGES=0.
# shellcheck shell=bash
# shellcheck disable=SC2153  # VENV and the rest come from the sourcing script

changed() { CHANGES=$((CHANGES + 1)); echo "changed: $*"; }
ok() { echo "ok: $*"; }
is_root() { [ "$(id -u)" -eq 0 ]; }

# Tools that take --prefix for an alternate /etc when we are not installing the live system.
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

# apt_packages PKG...: install the missing ones (the live system only, unless --no-apt).
apt_packages() {
    if [ "$LIVE" -eq 0 ] || [ "$APT" -eq 0 ]; then
        return
    fi
    local missing=() pkg
    for pkg in "$@"; do
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

# can_add_users WHAT: whether users and groups can be added here (says why not).
can_add_users() {
    if ! is_root; then
        echo "skip: $1 (not running as root)"
        return 1
    fi
    if [ "$LIVE" -eq 0 ] && [ ! -f "$ROOT/etc/passwd" ]; then
        echo "skip: $1 ($ROOT/etc/passwd does not exist)"
        return 1
    fi
}

# service_user HOME: the system user SERVICE_USER, with its own group, no login.
service_user() {
    if grep -q "^$SERVICE_USER:" "$ROOT/etc/passwd"; then
        ok "user $SERVICE_USER"
    else
        # shellcheck disable=SC2046  # prefix_args prints zero or two separate words
        useradd $(prefix_args) --system --user-group --home-dir "$1" \
            --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
        changed "user $SERVICE_USER"
    fi
}

# source_stamp DIR...: a digest of the package source (a checkout's DIRs, or a wheel).
source_stamp() {
    if [ -d "$SOURCE" ]; then
        (cd "$SOURCE" && find "$@" pyproject.toml -type f ! -name '*.pyc' -print0 \
            | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
    else
        sha256sum "$SOURCE" | cut -d' ' -f1
    fi
}

# package_venv WHAT STAMP_FILE STAMP [VENV_ARGS...]: the virtualenv at VENV, and the
# package installed into it from SOURCE with EXTRAS, again only when the source changed.
package_venv() {
    local what="$1" stamp_file="$ROOT$VENV/$2" stamp="$3" venv="$ROOT$VENV"
    shift 3
    if [ "$PIP" -eq 0 ]; then
        echo "skip: virtualenv and package (--no-pip)"
        return
    fi
    if [ -x "$venv/bin/python" ]; then
        ok "$VENV"
    else
        "$PYTHON" -m venv "$@" "$venv"
        changed "$VENV"
    fi
    if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp" ]; then
        ok "$what"
        return
    fi
    "$venv/bin/pip" install --quiet --upgrade "${SOURCE}[${EXTRAS}]"
    echo "$stamp" > "$stamp_file"
    changed "$what from $SOURCE"
}

# enable_units UNIT...: enabled at boot (in ROOT's tree when not the live system).
enable_units() {
    local args=() unit
    if [ "$LIVE" -eq 0 ]; then
        args=(--root="$ROOT")
    fi
    for unit in "$@"; do
        if systemctl "${args[@]}" is-enabled --quiet "$unit" 2>/dev/null; then
            ok "$unit enabled"
        else
            systemctl "${args[@]}" enable --quiet "$unit"
            changed "$unit enabled"
        fi
    done
}
