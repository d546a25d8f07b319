"""One backend (in process, lifespan on, fresh database) shared by every operation's fuzz."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis import Case, Response
from schemathesis.python.asgi import ASGIClient
from schemathesis.specs.openapi.schemas import OpenApiSchema

from backend.main import create_app
from tests.conftest import OtpInbox, make_settings
from tests.fuzz.harness import Send, World, build_world


@dataclass
class FuzzTarget:
    """The served schema, the starting data and how a case reaches the app."""

    schema: OpenApiSchema
    world: World
    send: Send


@pytest.fixture(scope="module")
def fuzz_target(mongo_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzTarget]:
    """The app's own /openapi.json, users and a bill to start from, cases sent over ASGI."""
    settings = make_settings(mongo_uri, tmp_path_factory.mktemp("fuzz"))
    app = create_app(settings)
    inbox, notify_log = OtpInbox(), logging.getLogger("backend.notices")
    notify_log.addHandler(inbox)
    notify_log.setLevel(logging.INFO)
    # The TestClient runs the lifespan; schemathesis' ASGI client, never entered, starts none.
    session = ASGIClient(app)  # type: ignore[arg-type]

    def send(case: Case, headers: dict[str, str]) -> Response:
        return case.call(session=session, headers=headers, app=app)

    try:
        with TestClient(app) as http:
            schema = schemathesis.openapi.from_dict(http.get("/openapi.json").json())
            yield FuzzTarget(schema, build_world(http, inbox), send)
            app.state.wallet.store.client.drop_database(settings.mongodb_db)
    finally:
        notify_log.removeHandler(inbox)
