"""Step 3: print the totals, largest first."""

import json
from pathlib import Path

totals = json.loads(Path(".duftui/pipeline/totals.json").read_text())
for clinic, patients in sorted(totals.items(), key=lambda item: -item[1]):
    print(f"{clinic:<20} {patients:>6}")
