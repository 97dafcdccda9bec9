"""Run smoothtaskctl as another user: ``python -m tests.support.run_as USER ARGS...``.

Why not ``runuser``: the venv may live under a folder other users cannot enter (a clone
in /root). Here the modules are imported first, as root; then the process drops to the
user (groups, gid, uid) before it opens any connection, so the bus sees that user's
credentials, exactly as for a client the user started.
"""

import os
import pwd
import sys

# Everything the client needs is imported before dropping root (see above).
import dbus_fast.aio
import dbus_fast.auth  # noqa: F401

from smoothtask_helper import ctl


def drop_to(user: str) -> None:
    entry = pwd.getpwnam(user)
    os.initgroups(user, entry.pw_gid)
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    if os.getuid() != entry.pw_uid or os.geteuid() != entry.pw_uid:
        raise SystemExit(f"run_as: could not become {user}")
    os.environ["HOME"] = entry.pw_dir


if __name__ == "__main__":
    drop_to(sys.argv[1])
    sys.exit(ctl.main(sys.argv[2:]))
