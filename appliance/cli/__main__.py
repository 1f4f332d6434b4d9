"""``python -m appliance.cli`` runs ixpctl."""

import sys

from appliance.cli import main

sys.exit(main())
