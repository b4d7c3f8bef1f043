"""Field widgets shared by the definition forms: labelled rows with their error line,
lists of editable items (parameters, schedules, deliveries), the file picker."""
