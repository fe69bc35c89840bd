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
    earlier = _earlier_stages(config.init_from)
    folder = save_tagger(out or default_tagger_dir(), tokenizer, model, result, extra={
        "earlier_stages": earlier,
        "trained_on": sorted(set(train["source"])), "threshold_chosen_on": sorted(set(val["source"])),
        "threshold_table": table.to_dict("records"), "n_threshold_sentences": len(th_rows),
        "total_seconds": round(time.perf_counter() - t0, 1)})
    return folder


def rechoose_threshold(folder: str | Path | None = None, data_dir: str | Path | None = None, n_threshold: int = 2500,
                       progress: bool = True) -> float:
    """Choose a saved tagger's threshold again on the same validation rows (after a change in how token
    probabilities become spans); `tagger.json` is updated and keeps the previous value."""
    import json

    from lib.text.name_tagger import NameTagger, choose_threshold
    from lib.text.pii_corpus import load_persons, person_gold, sample_sentences

    folder = Path(folder or default_tagger_dir())
    tagger = NameTagger.load(folder)
    cfg = tagger.meta.get("config", {})
    rows = sample_sentences(load_persons(data_dir, splits=["validation"]), n_threshold, seed=cfg.get("seed", 42) + 1)
    probs = tagger.probabilities(rows["text"].tolist(), progress=progress)
    threshold, table = choose_threshold(person_gold(rows), rows["text"].tolist(), probs, cfg.get("min_precision", 0.85))
    meta = json.loads((folder / "tagger.json").read_text(encoding="utf-8"))
    meta.setdefault("previous_thresholds", []).append(meta["threshold"])
    meta.update(threshold=threshold, threshold_table=table.to_dict("records"), n_threshold_sentences=len(rows))
    (folder / "tagger.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
    return threshold


def _earlier_stages(init_from: str) -> list[dict[str, Any]]:
    """The record of the stages a continued tagger went through before (config, history, time), oldest first."""
    if not init_from:
        return []
    import json

    meta = json.loads((Path(init_from) / "tagger.json").read_text(encoding="utf-8"))
    stage = {k: meta.get(k) for k in ("config", "history", "best_step", "train_seconds", "threshold")}
    return list(meta.get("earlier_stages", [])) + [stage]


def main(argv: Sequence[str] | None = None) -> int:
    from lib.text.name_tagger import TaggerConfig

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=None, help=f"folder (default: models/{DEFAULT_FOLDER})")
    parser.add_argument("--data", default=None, help="real data folder holding pii_fr_dev/ (default ../shared/data)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--init-from", default=None, help="a saved tagger folder to continue training from")
    parser.add_argument("--rethreshold", action="store_true",
                        help="only choose the saved tagger's threshold again on the validation rows (--out: its folder)")
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
    if args.rethreshold:
        print(f"threshold: {rechoose_threshold(args.out, args.data)}")
        return 0
    folder = train_and_save(args.out, args.data, **overrides)
    print(f"name tagger saved to {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
