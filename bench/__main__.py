"""`python -m bench`: the benchmarks of bench.main (the store, HTTP and bot report)."""

import sys

from bench.main import main

sys.exit(main())
