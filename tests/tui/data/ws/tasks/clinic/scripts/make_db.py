"""Regenerates data/clinic.db, the small example database (deterministic content)."""

import random
import sqlite3
from datetime import date, timedelta
from pathlib import Path

path = Path(__file__).resolve().parent.parent / "data" / "clinic.db"
path.unlink(missing_ok=True)
rng = random.Random(42)
clinics = ["Arusha North", "Dodoma Central", "Mwanza Lake", "Tanga Coast", "Zürich Süd"]
with sqlite3.connect(path) as db:
    db.execute(
        "CREATE TABLE visits (clinic TEXT, visit_date TEXT, patients INTEGER, notes TEXT)"
    )
    start = date(2025, 1, 1)
    for offset in range(2 * 365):
        day = (start + timedelta(days=offset)).isoformat()
        for clinic in clinics:
            note = rng.choice(["", "power cut, \"generator\" used", "staff, short", "ok"])
            db.execute(
                "INSERT INTO visits VALUES (?, ?, ?, ?)",
                (clinic, day, rng.randint(5, 120), note),
            )
db = sqlite3.connect(path)
db.execute("VACUUM")
db.close()
print(f"wrote {path}")
