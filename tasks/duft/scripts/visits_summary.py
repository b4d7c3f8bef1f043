"""A data task written for DUFT: it runs unchanged under duftui, through duftui's shim."""

import csv
import os
import sqlite3
import sys

from services.dte_tools.data_task_tools import (  # noqa: E402
    DataTaskEnvironment,
    assert_dte_tools_available,
    find_json_arg,
    get_data_dir,
    get_resolved_parameters_for_connection,
    initialise_data_task,
)

params = {}
environment: DataTaskEnvironment = None

if __name__ == "__main__":
    json_args = find_json_arg(sys.argv)
    environment = initialise_data_task("Visits Summary", params=json_args)
    params["clinic"] = json_args.get("clinic", "Arusha North")
    params["days"] = int(json_args.get("days", 7))
    if not json_args:
        environment.log_error("No parameters given!")


def visits_summary():
    connection = get_resolved_parameters_for_connection("CLINIC_DUFT")
    if connection.get("type") != "sqlite3":
        environment.log_error("This example needs a sqlite3 connection, got %s" % connection.get("type"))
        sys.exit(1)
    environment.log_message("Reading %s" % connection["sqlite3file"])
    db = sqlite3.connect(connection["sqlite3file"])
    rows = db.execute(
        "SELECT visit_date, patients FROM visits WHERE clinic = ? ORDER BY visit_date DESC LIMIT ?",
        (params["clinic"], params["days"]),
    ).fetchall()
    if not rows:
        environment.log_error("No visits found for %s" % params["clinic"])
        sys.exit(1)
    for day, patients in reversed(rows):
        environment.log_message("%s: %s patients" % (day, patients))
    target = os.path.join(get_data_dir(), "visits_summary.csv")
    with open(target, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["visit_date", "patients"])
        writer.writerows(reversed(rows))
    total = sum(patients for _, patients in rows)
    environment.log_message("Script completed! %s patients in %s days, written to %s"
                            % (total, len(rows), target))


assert_dte_tools_available()
visits_summary()
