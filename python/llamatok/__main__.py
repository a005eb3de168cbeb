"""``python -m llamatok``: the ``llamatok`` command, for an environment whose scripts are not on ``PATH``."""

import sys

from llamatok.cli import main

if __name__ == "__main__":
    sys.exit(main())
