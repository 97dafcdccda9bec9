#!/bin/bash
# `make run`: the helper and the tray app. Uses the system-wide helper when one is
# installed; otherwise starts a private bus (nothing installed system-wide), the helper on
# it (as root, through sudo when needed; without root it runs on /proc only) and the tray
# app pointed at it. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$PWD/.venv

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
    echo "run: no graphical session (DISPLAY / WAYLAND_DISPLAY unset); the tray app needs one." >&2
    echo "run: for the helper alone: $venv/bin/smoothtask-helper --bus session" >&2
    exit 1
fi

if dbus-send --system --print-reply --dest=org.freedesktop.DBus / \
        org.freedesktop.DBus.NameHasOwner string:org.smoothtask.Helper1 2>/dev/null \
        | grep -q "boolean true" \
   || [ -e /usr/share/dbus-1/system-services/org.smoothtask.Helper1.service ]; then
    echo "run: using the system-wide SmoothTask helper"
    exec "$venv/bin/smoothtask" --bus system "$@"
fi

dir=$(mktemp -d /tmp/smoothtask-run.XXXXXX)
pids=()
cleanup() {
    trap - EXIT INT TERM
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -f "$dir/bus.pid" ] && kill "$(cat "$dir/bus.pid")" 2>/dev/null || true
    rm -rf "$dir" 2>/dev/null || sudo -n rm -rf "$dir" 2>/dev/null || true  # root wrote state/
    echo "run: stopped"
}
trap cleanup EXIT INT TERM

address=$(scripts/private-bus.sh "$dir" "$(id -un)")
echo "run: private bus at $address"

# settings, rules and the journal stay in the run's folder: /etc and /var/lib are left alone
helper=("$venv/bin/smoothtask-helper" --bus "$address"
        --config-dir "$dir/config" --state-dir "$dir/state")
if [ "$(id -u)" = 0 ]; then
    "${helper[@]}" &
elif command -v sudo >/dev/null && sudo -v; then
    sudo "${helper[@]}" &
else
    echo "run: no root: the helper runs as $(id -un), on /proc only, and changes no priorities"
    "${helper[@]}" &
fi
pids+=($!)

"$venv/bin/smoothtask" --bus "$address" "$@" &
pids+=($!)
wait "${pids[-1]}" || true
