import sys

from smoothtask_helper.main import main

sys.exit(main())
