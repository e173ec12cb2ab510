"""``python -m tinynn.cli``: the same as the ``tinynn`` console script."""

import sys

from tinynn.cli import main

sys.exit(main())
