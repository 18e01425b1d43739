"""`python -m cem ...`: the same command line as the `cem` script
(cem/_cli.py holds it)."""
import sys

from cem._cli import main

if __name__ == "__main__":
    sys.exit(main())
