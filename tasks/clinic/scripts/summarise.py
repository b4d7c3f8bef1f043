"""Processing script with the Atlas contract: input files as argv, parameters as
environment variables, the new files as a Python list on the last line of stdout."""

import csv
import json
import os
import sys
from collections import Counter

source = sys.argv[1]
task = json.loads(os.environ["TASK"])
totals: Counter[str] = Counter()
days: dict[str, set[str]] = {}
with open(source, newline="", encoding="utf-8") as handle:
    for row in csv.DictReader(handle):
        totals[row["clinic"]] += int(row["patients"])
        days.setdefault(row["clinic"], set()).add(row["visit_date"])

target = f"summary_{os.environ['start']}_{os.environ['end']}.csv"
with open(target, "w", newline="", encoding="utf-8") as handle:
    writer = csv.writer(handle)
    writer.writerow(["clinic", "days", "patients"])
    for clinic in sorted(totals):
        writer.writerow([clinic, len(days[clinic]), totals[clinic]])

print(f"summarised {sum(totals.values())} patients in {len(totals)} clinics for {task['key']}")
print([os.path.abspath(target)])
