"""Reads its parameters from the environment, one variable per parameter."""

import os

greeting = os.environ.get("greeting", "Hello")
who = os.environ.get("who", "world")
times = int(os.environ.get("times", "1"))
day = os.environ.get("day", "")
for _ in range(times):
    print(f"{greeting}, {who}! (report day {day})")
