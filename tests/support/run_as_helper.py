"""Start ``smoothtask-helper`` as another user (to show that the bus policy refuses them
the name): ``python -m tests.support.run_as_helper USER ADDRESS``. Imported as root,
then drops to USER before connecting (see run_as.py)."""

import sys
import tempfile

from smoothtask_helper import main
from tests.support.run_as import drop_to

if __name__ == "__main__":
    drop_to(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="st-intruder-") as folder:
        code = main.main(
            ["--bus", sys.argv[2], "--config-dir", f"{folder}/c", "--state-dir", f"{folder}/s"]
        )
    sys.exit(code)
