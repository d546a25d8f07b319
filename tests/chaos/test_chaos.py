"""A short chaos run inside `make test` (the full one is `make chaos`): clients moving money
while the backend and the database are kill -9ed; every check of the run must hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.chaos import ChaosConfig, render, run_chaos


@pytest.mark.slow
def test_short_chaos_run_keeps_the_books(tmp_path: Path) -> None:
    figures = run_chaos(
        tmp_path / "data", ChaosConfig(operations=480, kills=4, clients=4, accounts=8, seed=7)
    )
    print("\n" + render(figures))
    assert figures["kills_total"] == 4
    assert figures["acknowledged_movements"] > 50
    assert figures["ok"], figures["checks"]
