"""``python -m appliance`` runs the ``kitchen-node`` command."""

import sys

from appliance.cli import main

sys.exit(main())
