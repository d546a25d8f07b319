"""`make fuzz`: the long API fuzz run against a real backend process over HTTP; prints its figures.

    .venv/bin/python scripts/fuzz.py [--examples N (300)] [--seed S (1)]

Starts `python -m backend` on a free port with its own embedded database (OTPs on the log
channel), loads the backend's own /openapi.json with schemathesis and sends every operation up
to N positive and N negative cases, authenticated as each route expects. Every response must not
be a 5xx and must match what the OpenAPI declares (status code, content type, headers, body).
Exits 1 on any failure. What is sent and checked: tests/fuzz/harness.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx
import requests
import schemathesis
from schemathesis.core.result import Ok

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fuzz.harness import Tally, build_world, fuzz_operation  # noqa: E402
from tests.support.backend_process import BackendProcess  # noqa: E402

REQUEST_TIMEOUT = 10.0  # seconds; a request that takes longer counts as no response


def fuzz(data_dir: Path, examples: int, seed: int) -> tuple[Tally, list[str]]:
    """Run the whole fuzz against a fresh backend; the tally and the ERROR lines of its log."""
    backend = BackendProcess(data_dir, OTP_REQUESTS_PER_WINDOW="5")  # the product's OTP rate limit
    backend.start()
    try:
        schema = schemathesis.openapi.from_url(backend.url + "/openapi.json")
        with httpx.Client(base_url=backend.url, timeout=REQUEST_TIMEOUT) as http:
            world = build_world(http, backend.otp)
        session = requests.Session()
        tally = Tally()
        for result in schema.get_all_operations():
            if not isinstance(result, Ok):
                raise result.err()  # an operation our own OpenAPI describes wrongly
            operation = result.ok()
            before = tally.requests

            def send(case: schemathesis.Case, headers: dict[str, str]) -> schemathesis.Response:
                return case.call(session=session, headers=headers, timeout=REQUEST_TIMEOUT)

            fuzz_operation(operation, world, send, tally, max_examples=examples, seed=seed)
            print(f"  {operation.label:<50} {tally.requests - before:>5} requests", flush=True)
            if backend.process is None or backend.process.poll() is not None:
                print("the backend process died; stopping", flush=True)
                tally.failures["backend_died"] += 1
                break
    finally:
        backend.stop()
    log_errors = [line for line in backend.log_path.read_text().splitlines() if " ERROR " in line]
    return tally, log_errors


def main() -> int:
    """Parse the flags, run, print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--examples", type=int, default=300, help="cases per operation and mode")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"schemathesis {schemathesis.__version__}, {args.examples} examples per operation and mode, "
          f"seed {args.seed}")  # fmt: skip
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        tally, log_errors = fuzz(Path(tmp) / "data", args.examples, args.seed)
    print(tally.report())
    print(f"backend log ERROR lines: {len(log_errors)}")
    for line in log_errors[:20]:
        print("  " + line)
    print(f"elapsed: {time.monotonic() - started:.0f} s")
    failed = tally.total_failures + len(log_errors)
    print("FUZZ FAILED" if failed else "fuzz passed: no server error, every response as declared")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
