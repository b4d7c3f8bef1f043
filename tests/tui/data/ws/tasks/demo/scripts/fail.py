"""Writes a little, then fails with an error on stderr and exit code 3."""

import sys

print("connecting to the upstream system…")
print("ERROR: upstream answered 503 Service Unavailable", file=sys.stderr)
sys.exit(3)
