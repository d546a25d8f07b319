"""`make chaos`: the full chaos run (default ≥ 10,000 operations, ≥ 20 kills); prints its figures.

    .venv/bin/python scripts/chaos.py [--operations N] [--kills K] [--clients C] [--seed S]

Exits 1 if any check is violated. See tests/support/chaos.py for what is done and checked.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.chaos import ChaosConfig, render, run_chaos  # noqa: E402


def main() -> int:
    """Parse the flags, run, print."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--operations", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    config = ChaosConfig(args.operations, args.kills, args.clients, accounts=args.clients * 2, seed=args.seed)
    with tempfile.TemporaryDirectory(prefix="chaos-") as tmp:
        figures = run_chaos(Path(tmp) / "data", config)
    print(render(figures))
    if args.json:
        print(json.dumps(figures, indent=2))
    return 0 if figures["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
