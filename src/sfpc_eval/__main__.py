"""Allow ``python -m sfpc_eval``."""

import sys

from sfpc_eval.cli import main

sys.exit(main())
