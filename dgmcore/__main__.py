"""``python -m dgmcore``: the ``dgm`` command (:func:`dgmcore.cli.main`)."""

from __future__ import annotations

import sys

from dgmcore.cli import main

if __name__ == "__main__":
    sys.exit(main())
