#!/bin/bash
# A virtual desktop for GUI tests and screenshots: Xvfb, a session bus, openbox (so focus
# and _NET_ACTIVE_WINDOW exist), trayer (an XEmbed tray host) and dunst (a real
# notification server).
#   scripts/desktop.sh start DIR [DISPLAY]   writes DIR/env.sh and DIR/pids
#   scripts/desktop.sh stop DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:?usage: desktop.sh start|stop DIR [DISPLAY]}
dir=${2:?usage: desktop.sh start|stop DIR [DISPLAY]}

stop() {
    [ -f "$dir/pids" ] || return 0
    tac "$dir/pids" | while read -r pid; do kill "$pid" 2>/dev/null || true; done
    rm -f "$dir/pids"
}

wait_for() {  # wait_for WHAT COMMAND...: up to 30 s (a loaded machine starts slowly)
    local what=$1; shift
    for _ in $(seq 300); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "desktop.sh: $what did not come up; logs in $dir:" >&2
    tail -n 5 "$dir"/*.log >&2 2>/dev/null || true
    return 1
}

start() {
    mkdir -p "$dir"
    local display=${3:-}
    export XDG_RUNTIME_DIR=$dir/xdg-runtime
    mkdir -p -m 700 "$XDG_RUNTIME_DIR"
    : > "$dir/pids"
    # -noreset: an X server resets when its last client leaves; the check below is such a
    # client, and a client connecting during the reset is refused ("cannot open display")
    if [ -z "$display" ]; then
        # Xvfb picks a free display itself and writes its number: no race with other
        # desktops starting at the same moment (parallel test runs)
        Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp -noreset \
            3> "$dir/display" > "$dir/xvfb.log" 2>&1 &
        echo $! >> "$dir/pids"
        wait_for "Xvfb to choose a display" test -s "$dir/display" || { stop; exit 1; }
        display=":$(head -1 "$dir/display")"
    else
        Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp -noreset > "$dir/xvfb.log" 2>&1 &
        echo $! >> "$dir/pids"
    fi
    export DISPLAY=$display
    wait_for "Xvfb on $DISPLAY" xdpyinfo -display "$DISPLAY" || { stop; exit 1; }
    dbus-daemon --session --address="unix:path=$dir/session_bus" --nofork --print-address=1 \
        > "$dir/session_bus.addr" 2> "$dir/session_bus.log" &
    echo $! >> "$dir/pids"
    wait_for "the session bus" test -s "$dir/session_bus.addr" || { stop; exit 1; }
    export DBUS_SESSION_BUS_ADDRESS=$(head -1 "$dir/session_bus.addr")
    openbox > "$dir/openbox.log" 2>&1 &
    echo $! >> "$dir/pids"
    trayer --edge top --align right --widthtype request --height 28 --SetDockType true \
        --transparent false --tint 0x2e3440 --expand true > "$dir/trayer.log" 2>&1 &
    echo $! >> "$dir/pids"
    dunst -config "$here/dunstrc" > "$dir/dunst.log" 2>&1 &
    echo $! >> "$dir/pids"
    wait_for "trayer" xdotool search --class trayer || { stop; exit 1; }
    wait_for "dunst" dbus-send --session --print-reply --dest=org.freedesktop.DBus / \
        org.freedesktop.DBus.GetNameOwner string:org.freedesktop.Notifications || { stop; exit 1; }
    cat > "$dir/env.sh" <<EOT
export DISPLAY=$DISPLAY
export XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR
export DBUS_SESSION_BUS_ADDRESS=$DBUS_SESSION_BUS_ADDRESS
EOT
    cat "$dir/env.sh"
}

case "$cmd" in
    start) start "$@" ;;
    stop) stop ;;
    *) echo "usage: desktop.sh start|stop DIR [DISPLAY]" >&2; exit 2 ;;
esac
