"""One catalogue of error codes: every code the backend can answer, and a bot message for each.

`backend.errors.ErrorCode` is the one list. Raise sites, the HTTP handlers and the OpenAPI read
it; bot/texts.py (a separate process, which imports nothing from backend/) keys its messages by
the same strings, as `error_<code>`. A new code without a message in both languages fails here,
and so does a code typed as a string literal instead of a member.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend import errors
from backend.errors import ErrorCode, WalletError, http_code
from backend.ledger import REFUSALS
from backend.main import create_app
from bot.texts import EN, ID, LANGS, error_text, t
from tests.conftest import make_settings

BACKEND_DIR = Path(errors.__file__).parent
BOT_CODES = {key.removeprefix("error_") for key in EN if key.startswith("error_")}
CODE_VALUES = {code.value for code in ErrorCode}


def domain_errors(cls: type[WalletError] = WalletError) -> list[type[WalletError]]:
    """WalletError and every subclass of it, however deep."""
    return [cls, *(sub for child in cls.__subclasses__() for sub in domain_errors(child))]


ERROR_NAMES = {cls.__name__ for cls in domain_errors()}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("code", list(ErrorCode), ids=str)
def test_every_code_has_its_own_message_in_both_languages(code: ErrorCode, lang: str) -> None:
    message = error_text(lang, code)
    assert f"error_{code}" in EN and f"error_{code}" in ID
    assert message.strip()
    assert message != t(lang, "generic_error")


@pytest.mark.parametrize("code", list(ErrorCode), ids=str)
def test_messages_are_translated(code: ErrorCode) -> None:
    assert error_text("id", code) != error_text("en", code)


def test_the_bot_has_no_message_for_a_code_that_is_gone() -> None:
    assert not BOT_CODES - CODE_VALUES, "messages for codes the backend no longer has"


def test_every_domain_error_carries_a_member() -> None:
    for cls in domain_errors():
        assert isinstance(cls.code, ErrorCode), cls.__name__


def test_ledger_refusals_are_members() -> None:
    assert all(isinstance(reason, ErrorCode) for reason in REFUSALS)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500, 502, 503])
def test_framework_refusals_map_to_members(status: int) -> None:
    assert isinstance(http_code(status), ErrorCode)


def literal_codes(path: Path) -> list[str]:
    """Where `path` writes an error code as a string instead of an ErrorCode member."""
    tree = ast.parse(path.read_text(), filename=str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    found = []
    for node in ast.walk(tree):
        where = f"{path.relative_to(BACKEND_DIR.parent)}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Call) and _called_name(node.func) in ERROR_NAMES:
            code = node.args[1] if len(node.args) > 1 else None
            code = next((k.value for k in node.keywords if k.arg == "code"), code)
            if isinstance(code, ast.Constant) and isinstance(code.value, str):
                found.append(f"{where} {_called_name(node.func)}(..., {code.value!r})")
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                is_code_key = isinstance(key, ast.Constant) and key.value == "code"
                if is_code_key and isinstance(value, ast.Constant) and isinstance(value.value, str):
                    found.append(f'{where} {{"code": {value.value!r}}}')
        elif isinstance(node, ast.Constant) and node.value in CODE_VALUES and id(node) not in docstrings:
            found.append(f"{where} {node.value!r}")
    return found


def _called_name(func: ast.expr) -> str | None:
    """`NotFound` for both `NotFound(...)` and `errors.NotFound(...)`."""
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def test_no_backend_code_is_a_string_literal() -> None:
    sources = [path for path in sorted(BACKEND_DIR.rglob("*.py")) if path != Path(errors.__file__)]
    assert len(sources) > 10, "the scan found no sources: update the glob"
    found = [hit for path in sources for hit in literal_codes(path)]
    assert not found, "use ErrorCode members (and give new ones a bot message):\n" + "\n".join(found)


def test_the_openapi_publishes_the_catalogue(tmp_path: Path) -> None:
    schema = create_app(make_settings("mongodb://unused", tmp_path)).openapi()
    assert schema["components"]["schemas"]["ErrorCode"]["enum"] == [code.value for code in ErrorCode]
    assert schema["components"]["schemas"]["ErrorBody"]["properties"]["code"] == {
        "$ref": "#/components/schemas/ErrorCode"
    }


def test_framework_answers_use_the_catalogue(tmp_path: Path) -> None:
    # No lifespan (no database): these are refused before any route code runs.
    http = TestClient(create_app(make_settings("mongodb://unused", tmp_path)))
    not_utf8 = http.post("/api/auth/signin", content=b"\x80", headers={"content-type": "application/json"})
    answers = {
        ErrorCode.BAD_REQUEST: not_utf8,
        ErrorCode.NOT_FOUND: http.get("/no/such/route"),
        ErrorCode.METHOD_NOT_ALLOWED: http.put("/healthz"),
        ErrorCode.TOO_LARGE: http.post("/api/auth/signup", content=b"x" * (65 * 1024)),
    }
    assert {code: answer.json()["code"] for code, answer in answers.items()} == {c: c for c in answers}
