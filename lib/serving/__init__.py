"""Serving the e-mail triage model: a FastAPI app (`create_app`) and its command line (`python -m lib.serving`)."""
from lib.serving.app import create_app

__all__ = ["create_app"]
