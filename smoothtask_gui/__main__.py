import sys

from smoothtask_gui.app import main

sys.exit(main())
