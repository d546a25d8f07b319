"""Bounded API fuzz (schemathesis), every operation: no 5xx, every answer as the OpenAPI declares.

The same harness as `make fuzz` (scripts/fuzz.py) with a small, fixed budget: derandomized, so
CI sends the same cases on every run. A failure prints each distinct problem with a curl line.
"""

from __future__ import annotations

import pytest

from backend.config import Settings
from backend.main import create_app
from tests.fuzz.conftest import FuzzTarget
from tests.fuzz.harness import Tally, fuzz_operation

MAX_EXAMPLES = 10  # per operation and generation mode: about 600 requests in all


def operation_labels() -> list[str]:
    """`METHOD /path` of every operation the app declares (building it touches nothing)."""
    spec = create_app(Settings(_env_file=None, env="test")).openapi()  # type: ignore[call-arg]
    return [f"{method.upper()} {path}" for path, item in spec["paths"].items() for method in item]


@pytest.mark.parametrize("label", operation_labels())
def test_operation_answers_as_documented(label: str, fuzz_target: FuzzTarget) -> None:
    operation = fuzz_target.schema.find_operation_by_label(label)
    assert operation is not None, f"{label} is not in the served /openapi.json"
    tally = Tally()
    fuzz_operation(operation, fuzz_target.world, fuzz_target.send, tally, max_examples=MAX_EXAMPLES)
    assert tally.requests > 0
    assert tally.total_failures == 0, tally.report()
