"""Step 1: read visits from the example database into .duftui/pipeline/visits.json."""

import json
import sqlite3
from pathlib import Path

out_dir = Path(".duftui/pipeline")
out_dir.mkdir(parents=True, exist_ok=True)
with sqlite3.connect("tasks/clinic/data/clinic.db") as db:
    rows = db.execute("SELECT clinic, visit_date, patients FROM visits").fetchall()
(out_dir / "visits.json").write_text(json.dumps(rows))
print(f"extracted {len(rows)} rows")
