"""The smallest task: print something, take a moment, succeed."""

import os
import time

print(f"hello from run {os.environ.get('DUFTUI_RUN_ID', '?')} of {os.environ.get('DUFTUI_TASK', '?')}")
for step in range(1, 4):
    print(f"step {step} of 3")
    time.sleep(0.2)
print("done")
