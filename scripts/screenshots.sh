#!/bin/bash
# Screenshots for docs/screenshots/, taken of `make run` on the virtual desktop, with some
# CPU load so the plots have something to show. Then Ctrl-C (SIGINT to the process group,
# as a terminal sends it) must stop everything.
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/screenshots
mkdir -p "$out"
desk=$(mktemp -d /tmp/st-shots.XXXXXX)
scripts/desktop.sh start "$desk" > /dev/null
# shellcheck disable=SC1091
. "$desk/env.sh"
cleanup() {
    [ -n "${run_pid:-}" ] && kill -INT -- "-$run_pid" 2>/dev/null || true
    [ -n "${load_pids:-}" ] && kill $load_pids 2>/dev/null || true
    scripts/desktop.sh stop "$desk"
    rm -rf "$desk"
}
trap cleanup EXIT

setsid make --no-print-directory run ARGS=--dashboard > "$desk/run.log" 2>&1 &
run_pid=$!
for _ in $(seq 100); do
    xdotool search --name "SmoothTask — dashboard" >/dev/null 2>&1 && break
    sleep 0.2
done
sleep 8
load_pids=""
for _ in 1 2; do (timeout 12 sh -c 'while :; do :; done') & load_pids+="$! "; done
sleep 20
xdotool search --name "SmoothTask — dashboard" windowactivate --sync >/dev/null 2>&1 || true
sleep 1
import -window root "$out/dashboard.png"
echo "screenshots: wrote $out/dashboard.png"

kill -INT -- "-$run_pid"
for _ in $(seq 50); do kill -0 "$run_pid" 2>/dev/null || break; sleep 0.2; done
if kill -0 "$run_pid" 2>/dev/null; then
    echo "screenshots: make run did not stop on Ctrl-C" >&2
    exit 1
fi
run_pid=""
grep -q "run: stopped" "$desk/run.log" && echo "screenshots: make run stopped cleanly on Ctrl-C"
