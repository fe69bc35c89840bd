"""Evaluation of the assistant on the test split: perplexity, BLEU-4, ROUGE-L, rule accuracy, hallucinations,
asking for details, latency.

Rule checks use `lib.assistant.guardrails.audit` with the context the conversation gives at that turn
(amounts and operators the user stated; on the generated data this parse equals the generator's ground truth,
which tests/assistant checks on thousands of conversations).
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

from lib.assistant.guardrails import GuardContext, audit, context_from_messages
from lib.assistant.prompting import Encoded, build_messages
from lib.assistant.rules import DEFAULT_RULES, BusinessRules

RULE_ROLES = ("fee", "fee_min", "fee_max", "limit_min", "limit_max", "total", "rate")
RULE_KINDS = ("wrong_fee", "wrong_fee_bound", "wrong_limit", "wrong_total", "wrong_rate")


def perplexity(model: Any, tokenizer: Any, examples: list[Encoded], batch_size: int = 4, desc: str = "perplexity"
               ) -> dict[str, float]:
    """exp(mean NLL) over the assistant tokens of `examples` (teacher forcing), with the token count."""
    import torch

    from lib.assistant.finetune import assistant_nll, collate

    total, n = 0.0, 0
    model.eval()
    data = [e for e in examples if e.n_target > 0]
    with torch.inference_mode():
        for i in tqdm(range(0, len(data), batch_size), desc=desc):
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


def eval_items(records: list[dict[str, Any]], n: int | None = None, seed: int = 0) -> list[EvalItem]:
    """Every assistant turn of the records; with `n`, a seeded subset balanced across turn kinds."""
    items = []
    for rec in records:
        kinds = rec.get("meta", {}).get("turn_kinds") or []
        k = 0
        for i, m in enumerate(rec["messages"]):
            if m["role"] == "assistant":
                kind = kinds[k] if k < len(kinds) else "unknown"
                k += 1
                if i > 0:
                    items.append(EvalItem(rec["id"], rec["messages"][:i], m["content"], kind,
                                          rec.get("meta", {}).get("intent", "unknown")))
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


_ASK = {
    "asks_id": re.compile(r"identifiant|r[ée]f[ée]rence|\bid\b|num[ée]ro de (?:la )?transaction|code de (?:la )?transaction",
                          re.IGNORECASE),
    "asks_amount": re.compile(r"montant|combien avez-vous|quelle somme", re.IGNORECASE),
    "asks_operators": re.compile(r"op[ée]rateurs?|r[ée]seau|d'envoi et de r[ée]ception", re.IGNORECASE),
}


def asks_details(answer: str) -> dict[str, bool]:
    """Whether an answer asks for the transaction id, the amount and the operators."""
    flags = {k: bool(rx.search(answer)) for k, rx in _ASK.items()}
    flags["asks_all"] = all(flags.values())
    return flags


def score_answers(items: list[EvalItem], answers: list[str], rules: BusinessRules = DEFAULT_RULES,
                  latencies: list[float] | None = None, n_tokens: list[int] | None = None) -> dict[str, float]:
    """All answer-level metrics for one system (one list of answers aligned with `items`)."""
    res: dict[str, float] = dict(bleu_rouge(answers, [it.reference for it in items]))
    n_rule_mentions = n_rule_ok = 0
    halluc = contradicts = 0
    fee_items = fee_ok = 0
    kinds: Counter = Counter()
    for it, ans in zip(items, answers):
        ctx = context_from_messages(it.context, rules)
        findings = audit(ans, ctx, rules)
        bad = [f for f in findings if not f.ok]
        kinds.update(f.kind for f in bad)
        halluc += bool(bad)
        contradicts += any(f.kind in RULE_KINDS for f in bad)
        for f in findings:
            if f.role in RULE_ROLES:
                n_rule_mentions += 1
                n_rule_ok += f.ok
        if it.kind == "fee_answer":
            fee_items += 1
            true_fees = set()
            for a in ctx.amounts:
                true_fees |= rules.possible_fees(a, ctx.src, ctx.dst)
            stated = {f.value for f in findings if f.role == "fee"}
            fee_ok += bool(stated) and stated <= true_fees and not bad
    ask_items = [(it, a) for it, a in zip(items, answers) if it.kind == "ask_details"]
    res.update({
        "n_answers": len(answers),
        "rule_mentions": n_rule_mentions,
        "fee_limit_accuracy": n_rule_ok / n_rule_mentions if n_rule_mentions else float("nan"),
        "fee_answer_accuracy": fee_ok / fee_items if fee_items else float("nan"),
        "n_fee_questions": fee_items,
        "hallucination_rate": halluc / max(len(answers), 1),
        "rule_contradiction_rate": contradicts / max(len(answers), 1),
        "n_rule_contradictions": contradicts,
        "ask_details_rate": float(np.mean([asks_details(a)["asks_all"] for _, a in ask_items])) if ask_items
        else float("nan"),
        "n_ask_items": len(ask_items),
    })
    for key in ("asks_id", "asks_amount", "asks_operators"):
        res[f"{key}_rate"] = float(np.mean([asks_details(a)[key] for _, a in ask_items])) if ask_items else float("nan")
    if latencies:
        res["latency_s"] = float(np.mean(latencies))
    if latencies and n_tokens:
        res["tokens_per_s"] = float(sum(n_tokens) / max(sum(latencies), 1e-9))
    res["violations_by_kind"] = dict(kinds)  # type: ignore[assignment]
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
                few_shot: list[dict[str, Any]] | None = None) -> list[list[dict[str, str]]]:
    """The message lists the models answer (system prompt + optional few-shot + conversation so far)."""
    return [build_messages(it.context, rules, few_shot, system) for it in items]
