"""Step 2: total patients per clinic."""

import json
from collections import Counter
from pathlib import Path

work = Path(".duftui/pipeline")
rows = json.loads((work / "visits.json").read_text())
totals = Counter()
for clinic, _day, patients in rows:
    totals[clinic] += patients
(work / "totals.json").write_text(json.dumps(totals))
print(f"aggregated {len(rows)} rows into {len(totals)} clinics")
