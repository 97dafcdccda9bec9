#!/bin/bash
# `make install` / `make uninstall`: the Python package and the system files.
#   scripts/install.sh install|uninstall      (variables below; DESTDIR stages a package)
# System files go where the daemons look for them (D-Bus, polkit and systemd search
# /usr/share and /usr/lib, not /usr/local); the program and its desktop files go under
# PREFIX. The Python package is installed with pip, without its dependencies: install
# those from the distribution or PyPI (README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
action=${1:?usage: install.sh install|uninstall}

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
PYTHON=${PYTHON:-/usr/bin/python3}
BINDIR=${BINDIR:-$PREFIX/bin}
DBUS_POLICY_DIR=${DBUS_POLICY_DIR:-/usr/share/dbus-1/system.d}
DBUS_SERVICE_DIR=${DBUS_SERVICE_DIR:-/usr/share/dbus-1/system-services}
POLKIT_ACTION_DIR=${POLKIT_ACTION_DIR:-/usr/share/polkit-1/actions}
SYSTEMD_UNIT_DIR=${SYSTEMD_UNIT_DIR:-/usr/lib/systemd/system}
APPLICATIONS_DIR=${APPLICATIONS_DIR:-$PREFIX/share/applications}
AUTOSTART_DIR=${AUTOSTART_DIR:-/etc/xdg/autostart}
ICON_DIR=${ICON_DIR:-$PREFIX/share/icons/hicolor/scalable/apps}

# source | destination | template (@BINDIR@ filled in)?
FILES=(
    "polkit/org.smoothtask.policy|$POLKIT_ACTION_DIR/org.smoothtask.policy|"
    "polkit/org.smoothtask.Helper1.conf|$DBUS_POLICY_DIR/org.smoothtask.Helper1.conf|"
    "polkit/org.smoothtask.Helper1.service.in|$DBUS_SERVICE_DIR/org.smoothtask.Helper1.service|t"
    "polkit/smoothtask-helper.service.in|$SYSTEMD_UNIT_DIR/smoothtask-helper.service|t"
    "smoothtask_gui/data/smoothtask.desktop|$APPLICATIONS_DIR/smoothtask.desktop|"
    "smoothtask_gui/data/smoothtask-autostart.desktop|$AUTOSTART_DIR/smoothtask.desktop|"
    "smoothtask_gui/data/smoothtask.svg|$ICON_DIR/smoothtask.svg|"
)
PROGRAMS=(smoothtask-helper smoothtaskctl smoothtask)

say() { printf 'install: %s\n' "$*"; }

pip_prefix() {
    # Debian's pip scheme (posix_local) puts everything under {prefix}/local: hand it the
    # prefix without that, so that PREFIX=/usr/local means /usr/local there too.
    "$PYTHON" - "$PREFIX" <<'PY'
import sys, sysconfig
prefix = sys.argv[1]
if sysconfig.get_default_scheme() == "posix_local" and prefix.endswith("/local"):
    prefix = prefix[: -len("/local")]
print(prefix)
PY
}

install_files() {
    local log
    log=$(mktemp)
    say "the Python package into ${DESTDIR:-/}$PREFIX (with $PYTHON, dependencies not included)"
    # --ignore-installed: never touch (uninstall) a copy in the environment pip runs from
    if ! "$PYTHON" -m pip install --no-deps --ignore-installed --no-warn-script-location \
            --disable-pip-version-check \
            --root "${DESTDIR:-/}" --prefix "$(pip_prefix)" . > "$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        say "pip failed (output above)"
        exit 1
    fi
    rm -f "$log"
    for program in "${PROGRAMS[@]}"; do
        [ -x "$DESTDIR$BINDIR/$program" ] || {
            say "$program did not land in $DESTDIR$BINDIR (set BINDIR to where pip puts scripts)"
            exit 1
        }
    done
    local entry source target template
    for entry in "${FILES[@]}"; do
        IFS='|' read -r source target template <<< "$entry"
        mkdir -p "$DESTDIR$(dirname "$target")"
        if [ -n "$template" ]; then
            sed "s|@BINDIR@|$BINDIR|g" "$source" > "$DESTDIR$target"
            chmod 644 "$DESTDIR$target"
        else
            install -m 644 "$source" "$DESTDIR$target"
        fi
        say "$DESTDIR$target"
    done
    if [ -z "$DESTDIR" ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
        systemctl daemon-reload || true
        say "start it with: systemctl enable --now smoothtask-helper (or let D-Bus activate it)"
    fi
}

uninstall_files() {
    local entry source target template record site
    for entry in "${FILES[@]}"; do
        IFS='|' read -r source target template <<< "$entry"
        rm -f "$DESTDIR$target" && say "removed $DESTDIR$target"
    done
    # the Python package: every file its RECORD lists, then its emptied folders
    for record in "$DESTDIR$PREFIX"/lib/python3*/*-packages/smoothtask-*.dist-info/RECORD; do
        [ -f "$record" ] || continue
        site=$(dirname "$(dirname "$record")")
        "$PYTHON" - "$site" "$record" <<'PY'
import csv, os, sys
site, record = sys.argv[1], sys.argv[2]
folders = set()
with open(record, newline="") as f:
    for row in csv.reader(f):
        path = os.path.normpath(os.path.join(site, row[0]))
        if os.path.lexists(path):
            os.remove(path)
        folders.add(os.path.dirname(path))
for folder in sorted(folders, key=len, reverse=True):
    for name in ("__pycache__",):
        cache = os.path.join(folder, name)
        if os.path.isdir(cache):
            for leftover in os.listdir(cache):
                os.remove(os.path.join(cache, leftover))
            os.rmdir(cache)
    try:
        os.removedirs(folder)
    except OSError:
        pass  # not empty: something else lives there
PY
        say "removed the Python package from $site"
    done
}

case "$action" in
    install) install_files ;;
    uninstall) uninstall_files ;;
    *) echo "usage: install.sh install|uninstall" >&2; exit 2 ;;
esac
