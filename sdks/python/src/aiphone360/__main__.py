"""``python -m aiphone360 listen …``: the same as the ``aiphone360`` console script."""

import sys

from .cli import main

sys.exit(main())
