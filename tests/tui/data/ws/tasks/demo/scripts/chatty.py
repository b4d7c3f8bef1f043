import os
import sys

write = sys.stdout.write
for i in range(1, int(os.environ.get("lines", "200000")) + 1):
    write(f"line {i} of a task that floods its log\n")
