import os
import time

for i in range(1, int(os.environ.get("ticks", "600")) + 1):
    print(f"tick {i}", flush=True)
    time.sleep(0.05)
print("ERROR: the last tick was late", flush=True)
