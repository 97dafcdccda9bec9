#!/bin/bash
# Start a private system-like D-Bus daemon in DIR; prints its address on stdout.
#   scripts/private-bus.sh DIR [HELPER_USER]      (the daemon's pid goes to DIR/bus.pid)
# With FOREGROUND=1 the script becomes the daemon (exec): the address is its first line
# of output, and whoever started it owns the process (tests end it with their own end).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: private-bus.sh DIR [HELPER_USER]}
helper_user=${2:-root}
mkdir -p "$dir"
chmod 755 "$dir"  # other users (polkitd, test users) must reach the socket
sed -e "s|@SOCKET@|$dir/bus|" -e "s|@HELPER_USER@|$helper_user|" \
    "$here/private-bus.conf.in" > "$dir/bus.conf"
if [ "${FOREGROUND:-0}" = 1 ]; then
    echo $$ > "$dir/bus.pid"
    exec dbus-daemon --config-file="$dir/bus.conf" --nofork --print-address=1
fi
dbus-daemon --config-file="$dir/bus.conf" --nofork --print-address=1 \
    > "$dir/bus.address" 2> "$dir/bus.log" &
echo $! > "$dir/bus.pid"
for _ in $(seq 100); do
    [ -s "$dir/bus.address" ] && { head -1 "$dir/bus.address"; exit 0; }
    kill -0 "$(cat "$dir/bus.pid")" 2>/dev/null || break
    sleep 0.05
done
echo "private-bus: dbus-daemon did not start; see $dir/bus.log" >&2
exit 1
