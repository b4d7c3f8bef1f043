"""`python -m duftui` works wherever the console script is not on PATH."""

from duftui.cli import main

if __name__ == "__main__":
    main()
