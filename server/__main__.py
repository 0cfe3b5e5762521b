"""`python -m server`: run badgeflow with settings from the environment."""

import sys

from server.app import main

sys.exit(main())
