"""What both fuzz runs share: the starting data, credentials per route, the checks and the tally.

The API schema is the backend's own `/openapi.json`. Every operation is fuzzed with data that fits
the schema (positive) and data that does not (negative), authenticated as the route expects:
a normal user's Bearer token, the admin's for `/api/admin/*` and the admin-only bill list, the bot's
`X-Bot-Secret` for `/api/bot/*`; one case in four keeps whatever credentials were generated.
Half of the cases use path parameters that exist (the user's own name, a real bill, a real
movement), so the fuzz gets past the 404s too.

Each response goes through `CHECK_NAMES`: no 5xx, and status code, content type, headers and body
as declared. 4xx answers are expected (the fuzzer knows no OTP) as long as they are declared.
The bounded run (tests/fuzz/test_api_fuzz.py) and the long run (scripts/fuzz.py) differ only in
how cases reach the backend and how many there are.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import hypothesis.strategies as st
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.schemas import APIOperation

from tests.support.wallet_client import Actor, OtpSource, WalletClient

BOT_SECRET = "bot-secret-for-tests"
CHECK_NAMES = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
NO_RESPONSE = "no_response"  # the request failed outright (connection refused or reset, timeout)
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)

Send = Callable[[Case, dict[str, str]], Any]


@dataclass
class World:
    """What a fuzz run starts from: who calls, and names that exist."""

    user: Actor
    admin: Actor
    spare: Actor  # the token sign-out may revoke (the user's must survive the run)
    known: dict[str, str]

    def headers_for(self, operation: APIOperation) -> dict[str, str]:
        """The credentials this operation's real caller sends."""
        path, method = operation.path, operation.method.upper()
        if path.startswith("/api/bot/"):
            return {"X-Bot-Secret": BOT_SECRET}
        if path.startswith("/api/admin/") or (path == "/api/bill" and method == "GET"):
            return dict(self.admin.headers)
        if path == "/api/auth/signout":
            return dict(self.spare.headers)
        return dict(self.user.headers)

    def known_path(self, operation: APIOperation) -> dict[str, str]:
        """Existing values for this operation's path parameters."""
        names = [parameter.name for parameter in operation.path_parameters]
        return {name: self.known[name] for name in names if name in self.known}


def build_world(http: Any, otp_source: OtpSource) -> World:
    """Users with money, a finished transfer, an open bill: something for every route to find."""
    wallet = WalletClient(http, otp_source)
    user, other, spare = wallet.user(1_000_000), wallet.user(1_000_000), wallet.user()
    sent = user.transfer(other.username, 1_000)
    assert sent.status_code == 201, sent.text
    bill = other.bill(user.username, 5_000)
    assert bill.status_code == 201, bill.text
    known = {
        "username": user.username,
        "bill_code": bill.json()["bill_code"],
        "movement_id": sent.json()["id"],
    }
    return World(user=user, admin=wallet.admin(), spare=spare, known=known)


@dataclass
class Tally:
    """Requests sent and failures per check, with one example of each distinct failure."""

    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    examples: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def judge(self, case: Case, response: Any) -> None:
        """Run every check on one response and count what failed."""
        self.requests += 1
        self.statuses[response.status_code] += 1
        for name in CHECK_NAMES:
            try:
                case.validate_response(response, checks=[getattr(schemathesis.checks, name)])
            except FailureGroup as group:
                self.failures[name] += 1
                for failure in group.exceptions:
                    self._remember(name, case, failure.title, failure.message)

    def no_response(self, case: Case, error: Exception) -> None:
        """Count a request that got no HTTP answer at all."""
        self.requests += 1
        self.failures[NO_RESPONSE] += 1
        self._remember(NO_RESPONSE, case, type(error).__name__, str(error))

    def _remember(self, check: str, case: Case, title: str, message: str) -> None:
        """Keep the first example of each (check, operation, kind of failure)."""
        example = f"{message}\nReproduce with: {case.as_curl_command()}"
        self.examples.setdefault((check, case.operation.label, title), example)

    @property
    def total_failures(self) -> int:
        """Failed checks over the whole run."""
        return sum(self.failures.values())

    def report(self) -> str:
        """Figures for people: requests, statuses, failures per check, one example of each."""
        statuses = ", ".join(f"{status}×{n}" for status, n in sorted(self.statuses.items()))
        lines = [f"requests sent: {self.requests}", f"statuses: {statuses}", "failures per check:"]
        lines += [f"  {name:<30} {self.failures[name]}" for name in (*CHECK_NAMES, NO_RESPONSE)]
        for (name, label, title), example in sorted(self.examples.items()):
            lines.append(f"\n[{name}] {label}: {title}\n{example}")
        return "\n".join(lines)


def _shorten_long_poll(case: Case) -> None:
    """The outbox's long poll may rightly wait 30 s for a notice: the fuzz asks it not to wait."""
    body = case.body
    if case.path == "/api/bot/notices/claim" and isinstance(body, dict):
        wait = body.get("wait_seconds", 25.0)  # the default when left out
        if isinstance(wait, int | float) and not isinstance(wait, bool) and 0.2 < wait <= 30:
            body["wait_seconds"] = 0.2


def fuzz_operation(operation: APIOperation, world: World, send: Send, tally: Tally, *,
                   max_examples: int, seed: int | None = None) -> None:  # fmt: skip
    """Up to `max_examples` cases per generation mode for one operation, each sent and judged.

    Without a seed the cases are the same on every run (CI); with one they vary with the seed.
    """
    for mode in MODES:
        strategy = st.one_of(
            operation.as_strategy(generation_mode=mode),
            operation.as_strategy(generation_mode=mode, path_parameters=world.known_path(operation)),
        )

        @settings(max_examples=max_examples, deadline=None, database=None,
                  derandomize=seed is None, suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(case=strategy, signed_in=st.sampled_from((True, True, True, False)))
        def run(case: Case, signed_in: bool) -> None:
            # One case in four keeps the credentials schemathesis generated: garbage, or none.
            headers = world.headers_for(operation) if signed_in else {}
            _shorten_long_poll(case)
            try:
                response = send(case, headers)
            except requests.RequestException as error:
                tally.no_response(case, error)
                return
            tally.judge(case, response)

        if seed is not None:
            run = hypothesis.seed(seed)(run)
        try:
            run()
        except Unsatisfiable:
            # Nothing about this operation can be made invalid (no parameters, no body).
            if mode is GenerationMode.POSITIVE:
                raise
