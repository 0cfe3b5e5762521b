"""`python -m badgeflow_client` runs badgectl."""

import sys

from badgeflow_client.cli import main

sys.exit(main())
