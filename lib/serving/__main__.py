"""`python -m lib.serving --model-dir models/emails/triage --port 8000`: run the triage API with uvicorn."""
from __future__ import annotations

import argparse
import logging
import sys


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and serve until interrupted."""
    import uvicorn

    from lib.serving.app import DEFAULT_MAX_CHARS, create_app

    p = argparse.ArgumentParser(prog="python -m lib.serving", description="Serve the e-mail triage API.")
    p.add_argument("--model-dir", default=None, help="folder saved by notebook 02 (default: models/emails/triage)")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (0.0.0.0 inside a container)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--max-chars", type=int, default=None, help=f"longest accepted text (default {DEFAULT_MAX_CHARS})")
    p.add_argument("--pii-detector", default=None,
                   help="person-name detector for requests (spacy-md, spacy-sm, spacy-md+tagger, rules...; "
                        "default: the one the model was trained with)")
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    p.add_argument("--log-level", default="info")
    args = p.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.workers > 1:  # several processes need an import string; settings travel through the environment
        import os

        if args.model_dir:
            os.environ["CASEBOOK_MODEL_DIR"] = args.model_dir
        if args.max_chars:
            os.environ["CASEBOOK_MAX_CHARS"] = str(args.max_chars)
        if args.pii_detector:
            os.environ["CASEBOOK_PII_DETECTOR"] = args.pii_detector
        uvicorn.run("lib.serving.factory:app_from_env", factory=True, host=args.host, port=args.port,
                    workers=args.workers, log_level=args.log_level)
        return 0
    app = create_app(args.model_dir, max_chars=args.max_chars, pii_detector=args.pii_detector)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
