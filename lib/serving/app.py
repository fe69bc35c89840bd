"""The e-mail triage API: FastAPI app factory serving a saved `TriagePipeline`.

    app = create_app("models/emails/triage")      # or: python -m lib.serving --model-dir ...

Routes: `GET /health`, `POST /predict` {text, lang?}, `GET /` (a page to paste an e-mail), `/docs`.
Bad input (empty or whitespace text, text over the size limit, malformed JSON, wrong types) gets a
4xx with a clear message, never a 500. Request texts are never logged nor echoed in error messages.
When the model folder is missing, /health says so and /predict answers 503; the folder is checked
again on later requests, so a model saved after start-up is picked up without a restart.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
import traceback
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from lib.serving.page import PAGE_HTML

log = logging.getLogger("lib.serving")

DEFAULT_MAX_CHARS = 20_000
TEXT_PATTERN = r"[^\s\x1c-\x1f\x85]"
MISSING_MODEL_HINT = ("run notebooks/02_emails_baselines.ipynb first (./run_all.sh 02), which saves the triage "
                      "pipeline to models/emails/triage/")


def request_model(max_chars: int) -> type[BaseModel]:
    """The /predict body, with the limits this server enforces written into its OpenAPI schema.

    `text` must hold a non-whitespace character and at most `max_chars` characters: the schema says so
    (minLength, maxLength, pattern), so a schema-driven client or fuzzer knows exactly what is accepted.
    """

    class PredictRequest(BaseModel):
        """One e-mail to triage."""

        model_config = ConfigDict(extra="forbid", strict=True,
                                  json_schema_extra={"examples": [{"text": "Bonjour, ma convention de stage n'est "
                                                                   "pas encore signée, c'est urgent.", "lang": "fr"}]})
        # "a character that is not whitespace": \s differs between regex engines (Python counts \x1c-\x1f and
        # \x85 as whitespace, ECMAScript and pydantic's Rust engine do not), so those are excluded explicitly.
        text: str = Field(min_length=1, max_length=max_chars, pattern=TEXT_PATTERN,
                          description="raw e-mail body (plain text or HTML), with at least one non-whitespace "
                                      f"character and at most {max_chars} characters; PII is anonymised before the "
                                      "model sees it")
        lang: Literal["fr", "en"] | None = Field(default=None, description="language of the reply; detected when omitted")

    return PredictRequest


class PredictResponse(BaseModel):
    """The triage decision for one e-mail."""

    category: str = Field(description="predicted category")
    urgency: str | None = Field(description="faible / moyenne / haute, or null when it cannot be assessed")
    confidence: float = Field(ge=0, le=1, description="calibrated probability of the predicted category")
    reasons: list[str] = Field(description="why: top words, confidence vs threshold, urgency markers")
    reply_suggestion: str = Field(description="suggested reply, in the e-mail's language")
    abstained: bool = Field(description="true when the confidence is below the reject threshold: a person should read it")


class HealthResponse(BaseModel):
    """Service status and the model it serves."""

    status: Literal["ok", "model_not_loaded"]
    model_loaded: bool
    model_name: str | None = None
    model_version: str | None = None
    labels: list[str] = []
    threshold: float | None = None
    pii_detector: str | None = None  # the person-name detector requests are anonymised with
    max_chars: int
    detail: str | None = None


@dataclass
class _ModelSlot:
    """The loaded pipeline (or why there is none), guarded by a lock for lazy (re)loading."""

    model_dir: Path
    loader: Callable[[Path], Any]
    pipeline: Any = None
    error: str | None = None
    loaded_mtime: float | None = None

    def __post_init__(self) -> None:
        self.lock = threading.Lock()

    def _stamp(self) -> float | None:
        meta = self.model_dir / "meta.json"
        return meta.stat().st_mtime if meta.exists() else None

    def get(self) -> Any:
        """The pipeline, loading it if the folder now holds one (or holds a newer one)."""
        stamp = self._stamp()
        if self.pipeline is not None and stamp == self.loaded_mtime:
            return self.pipeline
        with self.lock:
            stamp = self._stamp()
            if self.pipeline is not None and stamp == self.loaded_mtime:
                return self.pipeline
            if stamp is None and not (self.model_dir.is_dir() and any(self.model_dir.iterdir())):
                self.pipeline, self.loaded_mtime = None, None
                self.error = f"no model in {self.model_dir}: {MISSING_MODEL_HINT}"
                return None
            try:
                t0 = time.perf_counter()
                pipe = self.loader(self.model_dir)
                if hasattr(pipe, "warm_up"):
                    pipe.warm_up()  # load spaCy and the language identifier now, not on a user's request
                self.pipeline, self.loaded_mtime, self.error = pipe, stamp, None
                log.info("loaded model %s v%s from %s in %.1f s", getattr(pipe, "name", "?"),
                         getattr(pipe, "version", "?"), self.model_dir, time.perf_counter() - t0)
            except FileNotFoundError as err:
                self.pipeline, self.error = None, f"{err}"
            except Exception as err:  # a broken folder: say so on /health rather than crash
                self.pipeline, self.error = None, f"could not load {self.model_dir}: {type(err).__name__}: {err}"
                log.error("model load failed: %s", self.error)
            return self.pipeline


class BodyLimit:
    """ASGI middleware: a POST body over `max_body` bytes gets 413, with or without a Content-Length header.

    With a Content-Length the request is refused before reading; a chunked body is counted as it arrives
    and refused as soon as it passes the cap, so a client cannot stream an unbounded body into memory.
    """

    def __init__(self, app: Any, max_body: int, limit_chars: int):
        self.app, self.max_body, self.limit_chars = app, max_body, limit_chars

    def _too_large(self, size: int | None) -> JSONResponse:
        got = f"of {size} bytes " if size is not None else ""
        return JSONResponse(status_code=413, content={
            "detail": f"request body {got}is too large (limit {self.max_body} bytes; texts are limited to "
                      f"{self.limit_chars} characters)"})

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                size = int(length)
            except ValueError:
                await JSONResponse(status_code=400, content={"detail": "invalid Content-Length header"})(
                    scope, receive, send)
                return
            if size > self.max_body:
                await self._too_large(size)(scope, receive, send)
                return
        # Read the whole body here (it is small: capped), then hand it to the app as one message.
        chunks, total = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            total += len(message.get("body", b""))
            if total > self.max_body:
                await self._too_large(None)(scope, receive, send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> dict:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def _default_loader(folder: Path) -> Any:
    from lib.emails.pipeline import TriagePipeline

    return TriagePipeline.load(folder)


def _detector_of(pipe: Any) -> str | None:
    """The name of the detector a pipeline anonymises with (None when it has no e-mail preprocessor)."""
    pre = getattr(pipe, "preprocessor", None)
    return pre.anonymiser.detector if pre is not None and hasattr(pre, "anonymiser") else None


def loader_with_detector(load: Callable[[Path], Any], detector: str) -> Callable[[Path], Any]:
    """A loader whose pipelines anonymise requests with `detector` instead of the one saved with the model."""

    def load_with_detector(folder: Path) -> Any:
        pipe = load(folder)
        if hasattr(pipe, "preprocessor"):
            cfg = {**pipe.preprocessor.config(), "use_ner": True, "pii_detector": detector, "ner_model": None}
            pipe.preprocessor = type(pipe.preprocessor).from_config(cfg)
        return pipe

    return load_with_detector


def _validation_message(errors: list[dict[str, Any]]) -> str:
    """A readable summary of pydantic errors, without echoing the request's content."""
    parts = []
    for e in errors:
        loc = [str(x) for x in e.get("loc", ()) if x != "body"]
        kind = e.get("type", "")
        where = ".".join(loc) or "body"
        if kind == "json_invalid":
            parts.append("malformed JSON body: " + str(e.get("ctx", {}).get("error", "cannot parse")))
        elif kind == "missing":
            parts.append(f"field '{where}' is required")
        elif kind == "extra_forbidden":
            parts.append(f"unknown field '{where}' (allowed: text, lang)")
        elif kind == "string_too_long":
            limit = e.get("ctx", {}).get("max_length")
            parts.append(f"field '{where}' is too long; the limit is {limit} characters")
        elif kind in ("string_too_short", "string_pattern_mismatch"):
            parts.append(f"field '{where}' is empty or only whitespace")
        elif kind in ("model_attributes_type", "dict_type", "model_type"):
            parts.append('the body must be a JSON object such as {"text": "...", "lang": "fr"}')
        else:
            parts.append(f"field '{where}': {e.get('msg', 'invalid value')}")
    return "; ".join(parts) or "invalid request"


def create_app(model_dir: str | Path | None = None, max_chars: int | None = None,
               loader: Callable[[Path], Any] | None = None, pii_detector: str | None = None) -> FastAPI:
    """Build the API around the pipeline saved in `model_dir`.

    Args:
        model_dir: folder written by `TriagePipeline.save` (default: `models/emails/triage/`).
        max_chars: longest accepted text (default 20,000 characters, or `$CASEBOOK_MAX_CHARS`).
        loader: folder → pipeline (default `TriagePipeline.load`); tests may pass another.
        pii_detector: the person-name detector to anonymise requests with (`lib.text.name_detectors`, e.g.
            "spacy-md", "spacy-md+tagger"), or `$CASEBOOK_PII_DETECTOR`; None keeps the one the model was
            trained with. An unknown name fails here, at start-up.
    """
    if model_dir is None:
        from lib.emails.pipeline import default_model_dir

        model_dir = default_model_dir()
    limit = int(max_chars or os.environ.get("CASEBOOK_MAX_CHARS", DEFAULT_MAX_CHARS))
    if limit < 1:
        raise ValueError("max_chars must be positive")
    # Raw body cap: the text limit in UTF-8 worst case (4 bytes a char, JSON escapes up to 6) plus room.
    max_body = limit * 6 + 4096
    pii_detector = pii_detector or os.environ.get("CASEBOOK_PII_DETECTOR") or None
    load = loader or _default_loader
    if pii_detector:
        from lib.text.name_detectors import parse_detector

        parse_detector(pii_detector)
        load = loader_with_detector(load, pii_detector)
    slot = _ModelSlot(Path(model_dir), load)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        slot.get()  # load (and warm up) before the first request when the model is there
        yield

    app = FastAPI(lifespan=lifespan, title="E-mail triage API", version="1.0",
                  description="Category, urgency, calibrated confidence, reasons and a reply suggestion for "
                              "a university inbox e-mail. Low-confidence e-mails are flagged `abstained` "
                              "(to be read by a person). Request texts are not logged.")
    app.state.slot = slot
    app.state.max_chars = limit

    app.add_middleware(BodyLimit, max_body=max_body, limit_chars=limit)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": _validation_message(exc.errors()), "errors": errors})

    @app.get("/health", response_model=HealthResponse, summary="Service and model status")
    def health() -> HealthResponse:
        pipe = slot.get()
        if pipe is None:
            return HealthResponse(status="model_not_loaded", model_loaded=False, max_chars=limit, detail=slot.error)
        return HealthResponse(status="ok", model_loaded=True, model_name=str(pipe.name), model_version=str(pipe.version),
                              labels=[str(l) for l in pipe.labels], threshold=float(getattr(pipe, "threshold", 0.0)),
                              pii_detector=_detector_of(pipe), max_chars=limit)

    PredictRequest = request_model(limit)

    def predict(req):  # noqa: ANN001, ANN202 (annotated below: the model class is built per app)
        pipe = slot.get()
        if pipe is None:
            return JSONResponse(status_code=503, content={"detail": f"model not loaded: {slot.error}"})
        t0 = time.perf_counter()
        stages: dict[str, float] = {}
        try:
            out = pipe.triage(req.text, lang=req.lang, timings=stages)
        except ValueError as err:  # the pipeline's own input checks (e.g. nothing left after cleaning)
            log.info("predict rejected chars=%d: %s", len(req.text), type(err).__name__)
            return JSONResponse(status_code=422, content={"detail": f"cannot triage this text: {err}"})
        except Exception as err:  # the frames, not the message: messages may quote the text
            log.error("predict failed chars=%d: %s\n%s", len(req.text), type(err).__name__,
                      "".join(traceback.format_tb(err.__traceback__)))
            return JSONResponse(status_code=500, content={"detail": "internal error while triaging"})
        # Only sizes, outcomes and timings are logged: never the text, the reasons (they quote words) or the reply.
        log.info("predict chars=%d category=%s abstained=%s latency_ms=%.1f %s", len(req.text), out.get("category"),
                 out.get("abstained"), 1000 * (time.perf_counter() - t0),
                 " ".join(f"{k}_ms={1000 * v:.1f}" for k, v in sorted(stages.items())))
        return PredictResponse(category=str(out["category"]), urgency=None if out.get("urgency") is None else
                               str(out["urgency"]), confidence=float(out["confidence"]),
                               reasons=[r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)
                                        for r in out.get("reasons", [])],
                               reply_suggestion=str(out.get("reply_suggestion") or ""),
                               abstained=bool(out["abstained"]))

    # `from __future__ import annotations` makes annotations strings that FastAPI resolves in the module's
    # globals, where a per-app class is not: give it the class itself.
    predict.__annotations__ = {"req": PredictRequest, "return": Any}
    app.post("/predict", response_model=PredictResponse, summary="Triage one e-mail",
             responses={400: {"description": "a body that cannot be read (not UTF-8, bad Content-Length)"},
                        413: {"description": "request body over the size limit"},
                        422: {"description": "empty text (also once HTML, quoted reply and signature are "
                                             "removed), text over the limit, malformed JSON or wrong types"},
                        503: {"description": "no model loaded (run notebook 02)"}})(predict)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse(PAGE_HTML.replace("{{MAX_CHARS}}", str(limit)))

    return app
