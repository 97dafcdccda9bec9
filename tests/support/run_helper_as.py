"""Run smoothtask-helper as another user: ``python -m tests.support.run_helper_as USER ARGS``.

As in run_as.py: everything is imported (and the BPF sources read) as root, then the
process drops to the user before the helper starts, so the helper really runs without
root, as it would for a person who starts it without sudo.
"""

import sys

import bcc  # imported before dropping root, like everything else
import bcc.libbcc  # noqa: F401

from smoothtask_helper import main
from smoothtask_helper.collectors.ebpf.probes import PROBES, bpf_source
from tests.support.run_as import drop_to

if __name__ == "__main__":
    for name in {p.source for p in PROBES} | {"common.h", "exit.c"}:
        bpf_source(name)  # cached: the venv may not be readable by the user
    drop_to(sys.argv[1])
    sys.exit(main.main(sys.argv[2:]))
