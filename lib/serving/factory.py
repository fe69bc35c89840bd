"""An app factory reading its settings from the environment (for uvicorn --factory and multi-worker runs)."""
from __future__ import annotations

import os

from fastapi import FastAPI

from lib.serving.app import create_app


def app_from_env() -> FastAPI:
    """`create_app($CASEBOOK_MODEL_DIR, $CASEBOOK_MAX_CHARS)`; unset values take the defaults."""
    return create_app(os.environ.get("CASEBOOK_MODEL_DIR") or None,
                      max_chars=int(os.environ["CASEBOOK_MAX_CHARS"]) if os.environ.get("CASEBOOK_MAX_CHARS") else None)
