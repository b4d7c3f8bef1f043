-- Visits of one day; :day is bound as a parameter, never pasted into the SQL.
SELECT clinic, visit_date, patients, notes
FROM visits
WHERE visit_date = :day
ORDER BY clinic
