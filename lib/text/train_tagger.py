"""Train the person-name tagger on the development novels and cache it under `models/` (CPU, a time budget).

    python -m lib.text.train_tagger [--budget-s 1200] [--max-steps 1500] [--out models/pii/name-tagger-e5]

Training: the `train` novel of `pii_fr_dev` (see `lib.text.pii_corpus.SPLITS`); checkpoint and person threshold
chosen on the `validation` novel; the `test` novels are not read here. Needs `../shared/data/pii_fr_dev`
(or `$CASEBOOK_REAL_DATA`); without it, this stops with an error and the offline detectors (spaCy + rules)
remain available.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import fields
from pathlib import Path
from typing import Any, Sequence

from lib.core.paths import models_dir

DEFAULT_FOLDER = "pii/name-tagger-e5"


def default_tagger_dir() -> Path:
    """Where the trained tagger is cached: `models/pii/name-tagger-e5`."""
    return models_dir() / DEFAULT_FOLDER


def train_and_save(out: str | Path | None = None, data_dir: str | Path | None = None, n_threshold: int = 2500,
                   progress: bool = True, **overrides: Any) -> Path:
    """Train on the train novel, pick the threshold on validation, save; returns the folder.

    Args:
        n_threshold: validation sentences used to choose the threshold (a sample, the same share per novel).
        overrides: `TaggerConfig` fields (max_steps, time_budget_s, learning_rate...).
    """
    from lib.text.name_tagger import (NameTagger, TaggerConfig, choose_threshold, save_tagger, sentence_entities,
                                      train_tagger)
    from lib.text.pii_corpus import load_persons, person_gold, sample_sentences

    config = TaggerConfig(**overrides)
    train = load_persons(data_dir, splits=["train"])
    val = load_persons(data_dir, splits=["validation"])
    t0 = time.perf_counter()
    tokenizer, model, result = train_tagger(
        train["text"].tolist(), [sentence_entities(p, o) for p, o in zip(train["persons"], train["other"])],
        val["text"].tolist(), person_gold(val), config, progress=progress)
    th_rows = sample_sentences(val, n_threshold, seed=config.seed + 1)
    tagger = NameTagger(tokenizer, model, 0.5, config.max_length, config.stride)
    probs = tagger.probabilities(th_rows["text"].tolist(), progress=progress)
    result.threshold, table = choose_threshold(person_gold(th_rows), th_rows["text"].tolist(), probs,
                                               config.min_precision)
    folder = save_tagger(out or default_tagger_dir(), tokenizer, model, result, extra={
        "trained_on": sorted(set(train["source"])), "threshold_chosen_on": sorted(set(val["source"])),
        "threshold_table": table.to_dict("records"), "n_threshold_sentences": len(th_rows),
        "total_seconds": round(time.perf_counter() - t0, 1)})
    return folder


def main(argv: Sequence[str] | None = None) -> int:
    from lib.text.name_tagger import TaggerConfig

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=None, help=f"folder (default: models/{DEFAULT_FOLDER})")
    parser.add_argument("--data", default=None, help="real data folder holding pii_fr_dev/ (default ../shared/data)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    for f in fields(TaggerConfig):
        if f.type in ("int", "float", int, float):
            parser.add_argument("--" + f.name.replace("_", "-"), type=float if "float" in str(f.type) else int,
                                default=None)
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    overrides = {f.name: getattr(args, f.name) for f in fields(TaggerConfig)
                 if getattr(args, f.name, None) is not None}
    folder = train_and_save(args.out, args.data, **overrides)
    print(f"name tagger saved to {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
