#!/bin/bash
# First-use set-up for `make run` and `make test`: distribution packages and the venv.
#   scripts/setup.sh run|test
# Debian and Ubuntu: missing packages are installed with apt-get (through sudo when not
# root). Fedora and Arch: the exact command is printed. The venv sees the distribution's
# site-packages because bcc comes from the distribution, not from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-run}
venv=.venv

say() { printf 'setup: %s\n' "$*"; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else say "need root to run: $*"; return 1
    fi
}

debian_packages() {
    local arch kernel_headers perf
    arch=$(dpkg --print-architecture)
    # The exact headers when the distribution has them; the generic ones otherwise (a test
    # machine's custom kernel: scripts/kernel-headers.sh links them).
    kernel_headers="linux-headers-$arch"
    if apt-cache show "linux-headers-$(uname -r)" >/dev/null 2>&1; then
        kernel_headers="linux-headers-$(uname -r)"
    fi
    perf=linux-perf
    [ "${ID:-}" = ubuntu ] && perf=linux-tools-common
    # run: the helper (bcc, dbus, polkit) and Qt's xcb platform libraries
    echo python3 python3-venv python3-bpfcc bpfcc-tools "$kernel_headers" dbus polkitd \
        libegl1 libgl1 libfontconfig1 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 \
        libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 \
        libxcb-xkb1 fonts-dejavu-core procps util-linux
    if [ "$mode" = test ]; then
        # tests: a virtual desktop with a tray host and a notification server, X tools,
        # xmllint, perf for benchmarks
        echo xvfb trayer dunst openbox xdotool x11-utils imagemagick libxml2-utils "$perf"
    fi
}

install_debian() {
    local missing=() pkg
    for pkg in $(debian_packages); do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} = 0 ] && return 0
    say "installing distribution packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
}

print_other() {
    local cmd
    case "${ID:-}${ID_LIKE:-}" in
        *fedora*|*rhel*)
            cmd="sudo dnf install -y python3 python3-bcc bcc-tools kernel-devel dbus-daemon polkit"
            [ "$mode" = test ] && cmd+=" xorg-x11-server-Xvfb trayer dunst openbox xdotool xorg-x11-utils ImageMagick libxml2 perf"
            ;;
        *arch*)
            cmd="sudo pacman -S --needed python python-bcc bcc-tools linux-headers dbus polkit"
            [ "$mode" = test ] && cmd+=" xorg-server-xvfb trayer dunst openbox xdotool xorg-xdpyinfo imagemagick libxml2 perf"
            ;;
        *)
            say "unknown distribution '${ID:-?}': install python3 with venv, bcc's python module, dbus and polkit"
            return 0
            ;;
    esac
    say "this is ${PRETTY_NAME:-${ID:-}}; install the packages with:"
    say "  $cmd"
}

. /etc/os-release
case "${ID:-}:${ID_LIKE:-}" in
    debian:*|ubuntu:*|*:*debian*|*:*ubuntu*) install_debian ;;
    *) print_other ;;
esac

command -v dbus-daemon >/dev/null || { say "dbus-daemon is missing: install the packages above"; exit 1; }

if [ ! -x "$venv/bin/python" ]; then
    say "creating $venv (with the distribution's site-packages, for bcc)"
    /usr/bin/python3 -m venv --system-site-packages "$venv"
    "$venv/bin/pip" install -q --upgrade pip
fi
say "installing SmoothTask into $venv"
# strict editable mode: mypy can follow it (the package-dir mapping helper/ ->
# smoothtask_helper defeats the default import-hook mode)
if ! "$venv/bin/pip" install -q -e '.[test]' --config-settings editable_mode=strict \
        > "$venv/pip-install.log" 2>&1; then
    cat "$venv/pip-install.log" >&2
    say "pip install failed (log above, also in $venv/pip-install.log)"
    exit 1
fi
"$venv/bin/python" -c 'import smoothtask_helper, smoothtask_gui' 
say "ready"
