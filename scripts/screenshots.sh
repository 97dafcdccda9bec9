#!/bin/bash
# Screenshots for docs/screenshots/, taken of `make run` on the virtual desktop while a
# small build-like load runs, so the plots and the process table have something to show:
#   tray.png       the tray icon (top right, in trayer) with its menu open
#   dashboard.png  the dashboard's graphs
#   processes.png  the process table
#   settings.png   the settings window (opened from the tray menu)
# Then Ctrl-C (SIGINT to the process group, as a terminal sends it) must stop everything.
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/screenshots
mkdir -p "$out"
desk=$(mktemp -d /tmp/st-shots.XXXXXX)
scripts/desktop.sh start "$desk" > /dev/null
# shellcheck disable=SC1091
. "$desk/env.sh"
load_pids=()
cleanup() {
    [ -n "${run_pid:-}" ] && kill -INT -- "-$run_pid" 2>/dev/null || true
    for pid in "${load_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    scripts/desktop.sh stop "$desk"
    rm -rf "$desk"
}
trap cleanup EXIT

window_of() {  # window_of TITLE: the id of a window with that name, waiting up to 30 s
    for _ in $(seq 150); do
        xdotool search --name "$1" 2>/dev/null | head -1 && return 0
        sleep 0.2
    done
    echo "screenshots: no window named '$1'" >&2
    return 1
}

shoot_window() {  # shoot_window ID FILE
    xdotool windowactivate --sync "$1" >/dev/null 2>&1 || true
    sleep 1
    import -window "$1" "$out/$2"
    echo "screenshots: wrote $out/$2"
}

setsid make --no-print-directory run ARGS=--dashboard > "$desk/run.log" 2>&1 &
run_pid=$!
dashboard=$(window_of "SmoothTask — dashboard")
xdotool windowsize "$dashboard" 1270 760
sleep 5

# The load, for about a minute: a parallel C build (the helper knows cc1 and make) and a
# shell loop it has no rule for.
build="$desk/build"
mkdir -p "$build"
for n in 1 2 3 4 5 6; do
    {
        for f in $(seq 400); do
            echo "double f$f(double x) { for (int i = 0; i < $f; i++) x = x * 1.0001 + i; return x; }"
        done
    } > "$build/unit$n.c"
done
printf 'all: %s\n%%.o: %%.c\n\tcc -O2 -c $< -o $@\n' "$(echo unit{1..6}.o)" > "$build/Makefile"
(timeout 60 sh -c "while :; do make -s -j3 -C '$build'; rm -f '$build'/*.o; done") & load_pids+=($!)
(timeout 60 sh -c 'while :; do :; done') & load_pids+=($!)
dunstctl set-paused true  # the alerts the load raises would cover the top right
sleep 25
shoot_window "$dashboard" dashboard.png

xdotool windowactivate --sync "$dashboard" key ctrl+Tab  # the Processes tab
sleep 3
shoot_window "$dashboard" processes.png

# The tray icon: the app's small window embedded in trayer at the top of the screen.
icon=""
for w in $(xdotool search --classname '^smoothtask$'); do
    eval "$(xdotool getwindowgeometry --shell "$w")"
    if [ "$WIDTH" -ge 16 ] && [ "$WIDTH" -le 64 ] && [ "$Y" -lt 40 ]; then icon=$w; break; fi
done
[ -n "$icon" ] || { echo "screenshots: the tray icon is not embedded" >&2; exit 1; }
xdotool mousemove $((X + WIDTH / 2)) $((Y + HEIGHT / 2)) click 3
sleep 1.5
import -window root -crop 420x200+860+0 "$out/tray.png"
echo "screenshots: wrote $out/tray.png"
xdotool key Down Down Down Return  # the menu: Dashboard, Pause management, Settings…
settings=$(window_of "SmoothTask — settings")
sleep 2
xdotool windowactivate --sync "$settings" key ctrl+Tab ctrl+Tab  # the Alerts tab
sleep 1
shoot_window "$settings" settings.png

kill -INT -- "-$run_pid"
for _ in $(seq 50); do kill -0 "$run_pid" 2>/dev/null || break; sleep 0.2; done
if kill -0 "$run_pid" 2>/dev/null; then
    echo "screenshots: make run did not stop on Ctrl-C" >&2
    exit 1
fi
run_pid=""
grep -q "run: stopped" "$desk/run.log" && echo "screenshots: make run stopped cleanly on Ctrl-C"
