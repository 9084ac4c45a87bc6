"""``python -m embedsim``: the same as the ``embedsim`` command."""

import sys

from embedsim.cli import main

sys.exit(main())
