"""`python -m backend`: serve the API with uvicorn on HOST:PORT."""

from __future__ import annotations

import uvicorn

from backend.config import Settings
from backend.main import configure_logging, create_app


def main() -> None:
    """Run one backend process (it starts the embedded database when MONGODB_URI is unset)."""
    settings = Settings()
    configure_logging()
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, log_config=None, access_log=False
    )


if __name__ == "__main__":
    main()
