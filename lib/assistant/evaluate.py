"""Evaluation of the assistant on the test turns: resolution, fee exact-match and hallucinations judged by the
oracle (`lib.assistant.oracle`, from each turn's generation record — not by the guardrails that correct the
answers), perplexity, BLEU-4, ROUGE-L, latency and tokens/s.
"""
from __future__ import annotations

import math
import random
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from lib.assistant.oracle import Verdict, expected_for, judge
from lib.assistant.prompting import Encoded, build_messages
from lib.assistant.rules import DEFAULT_RULES, BusinessRules


def perplexity(model: Any, tokenizer: Any, examples: list[Encoded], batch_size: int = 4, desc: str = "perplexity",
               leave: bool = True) -> dict[str, float]:
    """exp(mean NLL) over the assistant tokens of `examples` (teacher forcing), with the token count."""
    import torch

    from lib.assistant.finetune import assistant_nll, collate

    total, n = 0.0, 0
    model.eval()
    data = [e for e in examples if e.n_target > 0]
    with torch.inference_mode():
        for i in tqdm(range(0, len(data), batch_size), desc=desc, leave=leave):
            batch = collate([{"input_ids": e.input_ids, "labels": e.labels} for e in data[i:i + batch_size]],
                            tokenizer.pad_token_id)
            nll, k = assistant_nll(model, batch)
            total += float(nll)
            n += int(k)
    return {"perplexity": math.exp(total / max(n, 1)), "nll": total / max(n, 1), "tokens": n}


@dataclass
class EvalItem:
    """One assistant turn to predict: the conversation before it, the reference and what the turn must do."""

    conv_id: str
    context: list[dict[str, str]]
    reference: str
    kind: str
    intent: str
    turn: dict[str, Any] | None = None  # the generation record of this turn (what the oracle checks against)


def eval_items(records: list[dict[str, Any]], n: int | None = None, seed: int = 0) -> list[EvalItem]:
    """Every assistant turn of the records; with `n`, a seeded subset balanced across turn kinds."""
    items = []
    for rec in records:
        kinds = rec.get("meta", {}).get("turn_kinds") or []
        turns = rec.get("meta", {}).get("turns") or []
        k = 0
        for i, m in enumerate(rec["messages"]):
            if m["role"] == "assistant":
                kind = kinds[k] if k < len(kinds) else "unknown"
                turn = turns[k] if k < len(turns) else None
                k += 1
                if i > 0:
                    items.append(EvalItem(rec["id"], rec["messages"][:i], m["content"], kind,
                                          rec.get("meta", {}).get("intent", "unknown"), turn))
    if n is None or n >= len(items):
        return items
    rng = random.Random(seed)
    by_kind: dict[str, list[EvalItem]] = {}
    for it in items:
        by_kind.setdefault(it.kind, []).append(it)
    for lst in by_kind.values():
        rng.shuffle(lst)
    # Round-robin over kinds, most important first, so a small subset still covers fees, limits and asking.
    order = [k for k in ("fee_answer", "ask_details", "limit_answer", "rates_answer", "transfer_followup",
                         "ask_operators", "support_answer", "account_answer", "out_of_scope", "closing")
             if k in by_kind] + sorted(k for k in by_kind if k not in ("fee_answer", "ask_details", "limit_answer",
                                                                       "rates_answer", "transfer_followup",
                                                                       "ask_operators", "support_answer",
                                                                       "account_answer", "out_of_scope", "closing"))
    picked: list[EvalItem] = []
    while len(picked) < n:
        for k in order:
            if by_kind[k] and len(picked) < n:
                picked.append(by_kind[k].pop())
    return picked


_TOKEN = re.compile(r"\w+", re.UNICODE)


class _Tok:
    """Unicode word tokenizer for rouge-score (its default drops accented letters)."""

    def tokenize(self, text: str) -> list[str]:
        return _TOKEN.findall(text.lower())


def bleu_rouge(hypotheses: list[str], references: list[str]) -> dict[str, float]:
    """Corpus BLEU-4 (sacrebleu, in [0, 1]) and mean ROUGE-L F1 (rouge-score, Unicode tokens)."""
    import sacrebleu
    from rouge_score import rouge_scorer

    bleu = sacrebleu.corpus_bleu(hypotheses, [references]).score / 100
    scorer = rouge_scorer.RougeScorer(["rougeL"], tokenizer=_Tok())
    rouge = float(np.mean([scorer.score(r, h)["rougeL"].fmeasure for h, r in zip(hypotheses, references)])) \
        if hypotheses else float("nan")
    return {"bleu4": bleu, "rougeL": rouge}


def verdicts(items: list[EvalItem], answers: list[str], rules: BusinessRules = DEFAULT_RULES) -> list[Verdict]:
    """The oracle's verdict on each answer.

    Raises:
        ValueError: an item has no generation record (real logs without `meta.turns`): only BLEU/ROUGE and
            perplexity can score those.
    """
    missing = [it.conv_id for it in items if it.turn is None]
    if missing:
        raise ValueError(f"{len(missing)} test turns have no generation record (meta.turns), e.g. {missing[0]}: the "
                         "oracle needs one; real logs can be scored with bleu_rouge and perplexity only")
    return [judge(a, expected_for(it.turn, rules)) for it, a in zip(items, answers)]


def score_answers(items: list[EvalItem], answers: list[str], rules: BusinessRules = DEFAULT_RULES,
                  latencies: list[float] | None = None, n_tokens: list[int] | None = None,
                  waits: list[float] | None = None) -> dict[str, Any]:
    """All answer-level metrics for one system (one list of answers aligned with `items`), judged by the oracle."""
    res: dict[str, Any] = dict(bleu_rouge(answers, [it.reference for it in items]))
    vs = verdicts(items, answers, rules)
    fee = [v.fee_stated_right for v in vs if v.fee_stated_right is not None]
    asks = [v.resolved for it, v in zip(items, vs) if it.kind in ("ask_details", "ask_operators")]
    by_kind: dict[str, list[bool]] = {}
    for it, v in zip(items, vs):
        by_kind.setdefault(it.kind, []).append(v.resolved)
    wrong: Counter = Counter(w.split(" ")[0] for v in vs for w in v.wrong)
    missing: Counter = Counter(m for v in vs for m in v.missing)
    res.update({
        "n_answers": len(answers),
        "resolution_rate": float(np.mean([v.resolved for v in vs])) if vs else float("nan"),
        "fee_accuracy": float(np.mean(fee)) if fee else float("nan"),
        "n_fee_questions": len(fee),
        "hallucination_rate": float(np.mean([v.hallucinated for v in vs])) if vs else float("nan"),
        "ask_details_rate": float(np.mean(asks)) if asks else float("nan"),
        "n_ask_items": len(asks),
    })
    if waits:
        res["latency_p50_s"] = float(np.percentile(waits, 50))
        res["latency_p95_s"] = float(np.percentile(waits, 95))
    if latencies:
        res["time_per_answer_s"] = float(np.mean(latencies))
    if latencies and n_tokens:
        res["tokens_per_s"] = float(sum(n_tokens) / max(sum(latencies), 1e-9))
    res["resolution_by_kind"] = {k: float(np.mean(v)) for k, v in sorted(by_kind.items())}
    res["hallucinations_by_type"] = dict(wrong)
    res["missing_by_type"] = dict(missing)
    return res


def comparison_table(results: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per system (e.g. "base", "base + guardrails", "fine-tuned", ...), flat metrics only."""
    rows = []
    for name, r in results.items():
        rows.append({"system": name, **{k: v for k, v in r.items() if not isinstance(v, dict)}})
    return pd.DataFrame(rows).set_index("system")


def side_by_side(items: list[EvalItem], columns: dict[str, list[str]], n: int = 5) -> pd.DataFrame:
    """The last user turn, the reference and each system's answer, for a few items of different kinds."""
    seen, rows = set(), []
    for i, it in enumerate(items):
        if it.kind in seen and len(seen) < len({x.kind for x in items}):
            continue
        seen.add(it.kind)
        last_user = next(m["content"] for m in reversed(it.context) if m["role"] == "user")
        rows.append({"kind": it.kind, "user": last_user, "reference": it.reference,
                     **{name: answers[i] for name, answers in columns.items()}})
        if len(rows) >= n:
            break
    return pd.DataFrame(rows)


def prompts_for(items: list[EvalItem], rules: BusinessRules = DEFAULT_RULES, system: str | None = None,
                few_shot: list[dict[str, Any]] | None = None, with_facts: bool = False,
                keep_turns: int = 0) -> list[list[dict[str, str]]]:
    """The message lists the models answer: system prompt + optional few-shot + the conversation so far, and with
    `with_facts` the rules tool's facts block (the grounded path, as in training)."""
    from lib.assistant.facts import grounded_messages
    from lib.assistant.prompting import system_prompt

    system = system if system is not None else system_prompt(rules)
    shots = build_messages([], rules, few_shot, system)[1:]
    out = []
    for it in items:
        msgs, _ = grounded_messages(it.context, system, rules, with_facts, keep_turns)
        out.append(msgs[:1] + shots + msgs[1:])
    return out
