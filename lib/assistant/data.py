"""Where the conversations come from: real logs under DATA_DIR, or the generated (synthetic) demo set."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lib.assistant.conversations import ConversationGenerator, LoadReport, load_jsonl, save_jsonl
from lib.assistant.rules import DEFAULT_RULES, BusinessRules
from lib.core.datasets import resolve_dataset
from lib.core.paths import data_dir

DATASET_NAME = "assistant_conversations"
DATASET_FILE = "conversations.jsonl"


@dataclass
class ConversationData:
    """Loaded conversations and where they came from."""

    records: list[dict[str, Any]]
    report: LoadReport
    source: str  # "real" or "demo"
    name: str
    path: Path


def load_conversations(data_dir_param: str, n_demo: int, seed: int, rules: BusinessRules = DEFAULT_RULES,
                       dataset: str = DATASET_NAME) -> ConversationData:
    """Real logs from `DATA_DIR/<dataset>/conversations.jsonl`, or `n_demo` generated ones.

    No public set of such conversations exists, so the profiles leave `dataset` empty: the study then
    uses its generated (synthetic) conversations even when DATA_DIR points at other real data sets, and
    says so. Name a folder to train on real logs. The demo set is written to `data/demo/assistant/` and
    read back through the same loader as real logs.

    Raises:
        lib.core.datasets.DatasetNotFoundError: DATA_DIR was given but holds no such data set (no silent fallback).
    """
    folder = resolve_dataset(data_dir_param, dataset, must_contain=(DATASET_FILE,)) if dataset else None
    if folder is not None:
        records, report = load_jsonl(folder / DATASET_FILE)
        return ConversationData(records, report, "real", f"{dataset} (real logs)", folder / DATASET_FILE)
    path = data_dir() / "demo" / "assistant" / f"conversations_seed{seed}_n{n_demo}.jsonl"
    save_jsonl(ConversationGenerator(rules=rules, seed=seed).generate(n_demo), path)
    records, report = load_jsonl(path)
    return ConversationData(records, report, "demo", "EasyTransfert-style conversations (synthetic, generated)", path)


def heldout_test_set(n: int, seed: int, rules: BusinessRules = DEFAULT_RULES) -> list[dict[str, Any]]:
    """`n` test conversations written with the held-out paraphrases and amounts (never in training).

    Another seed stream than the training set, so no conversation is shared; each assistant turn carries its
    generation record (`meta["turns"]`) for the oracle.
    """
    return ConversationGenerator(rules=rules, seed=seed, templates="heldout").generate(n)


def sample_items(items: list[Any], n: int, seed: int) -> list[Any]:
    """A seeded random subset of `n` items in their natural proportions (all when `n` is 0 or too large)."""
    import random

    if not n or n >= len(items):
        return list(items)
    return random.Random(seed).sample(list(items), n)
