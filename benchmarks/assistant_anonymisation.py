"""Does the assistant's name detector change 07's conversations? Patterns only vs the domain's default detector.

    .venv/bin/python benchmarks/assistant_anonymisation.py [--n 3031 --n-test 200 --seed 42]

Preprocesses 07's default-profile conversations (the generated training set and the held-out test set, same
sizes and seed as `configs/default.yaml`) twice — with `lib/assistant/pii.yaml`'s patterns alone and with its
default detector — and counts the messages whose text differs, with the time each pass took (one message at a
time, as `Preprocessor.conversation` does). Writes `benchmarks/results/assistant_anonymisation.json`.
"""
from __future__ import annotations

import argparse
import json
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    from lib.assistant.conversations import ConversationGenerator
    from lib.assistant.data import heldout_test_set
    from lib.assistant.preprocess import Preprocessor
    from lib.text.anonymise import Anonymiser

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=3031, help="generated training conversations (07's default profile)")
    p.add_argument("--n-test", type=int, default=200, help="held-out test conversations")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "assistant_anonymisation.json"))
    args = p.parse_args(argv)
    convs = ConversationGenerator(seed=args.seed).generate(args.n) + heldout_test_set(args.n_test, args.seed)
    rules, default = Preprocessor(anonymiser=Anonymiser("assistant", use_ner=False)), Preprocessor()
    t0 = time.perf_counter()
    a = [rules.conversation(c) for c in convs]
    t1 = time.perf_counter()
    b = [default.conversation(c) for c in convs]
    t2 = time.perf_counter()
    pairs = [(x["content"], y["content"]) for ca, cb in zip(a, b) for x, y in zip(ca["messages"], cb["messages"])]
    differ = [(x, y) for x, y in pairs if x != y]
    record = {"benchmark": "assistant_anonymisation", "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "command": "benchmarks/assistant_anonymisation.py " + " ".join(argv or []),
              "conversations": len(convs), "messages": len(pairs), "detector": default.anonymiser.detector,
              "messages_that_differ": len(differ), "seconds_patterns_only": round(t1 - t0, 1),
              "seconds_default_detector": round(t2 - t1, 1),
              "examples": [{"patterns_only": x[:200], "default": y[:200]} for x, y in differ[:10]]}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"{len(differ)} of {len(pairs)} messages differ ({default.anonymiser.detector}); → {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
