# Run inside the project's virtual environment (see README.md).
set shell := ["bash", "-euo", "pipefail", "-c"]

# Lint, then the whole test suite in parallel.
test *args:
    ruff check duftui tests bench
    python -m pytest -n auto {{args}}

# Run every benchmark; each prints ratios against a baseline measured in the same run.
# The baselines install with the bench extra: pip install -e '.[dev,bench]'.
bench:
    for script in bench/*_bench.py; do echo "== $script"; python "$script"; done

# Open the console on this workspace (the bundled examples by default).
console *args:
    python -m duftui {{args}}

# Format the code.
fmt:
    ruff format duftui tests bench
    ruff check --fix duftui tests bench
