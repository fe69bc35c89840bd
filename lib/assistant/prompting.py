"""Prompts with the model's own chat template, and training examples whose loss covers the assistant only.

`encode_for_training` renders a conversation with `tokenizer.apply_chat_template` and labels every token
outside the assistant turns -100, so the loss (and the perplexity) is measured on the answers alone. The
assistant spans are found by rendering each prefix with the same template (`add_generation_prompt=True`)
and mapping characters to tokens with the fast tokenizer's offsets: it works for any template whose
rendering of a prefix is a prefix of the full rendering (ChatML for SmolLM2, Llama 3's header format).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lib.assistant.rules import DEFAULT_RULES, BusinessRules, rules_summary

MAX_LENGTH = 2048
IGNORE_INDEX = -100


def system_prompt(rules: BusinessRules = DEFAULT_RULES) -> str:
    """The app's context for the model: who it is, the rules, how to handle a failed transfer."""
    return (f"Tu es l'assistant du service client d'EasyTransfert, une application de transfert d'argent mobile en "
            f"Côte d'Ivoire entre {', '.join(rules.operator_names)}. {rules_summary(rules)} Réponds en français, "
            "poliment et brièvement. Pour un transfert échoué ou en retard, demande l'identifiant de la transaction, "
            "le montant et les opérateurs d'envoi et de réception.")


def build_messages(history: list[dict[str, str]], rules: BusinessRules = DEFAULT_RULES,
                   few_shot: list[dict[str, Any]] | None = None, system: str | None = None) -> list[dict[str, str]]:
    """System prompt + optional few-shot exchanges + the conversation (user/assistant turns only)."""
    msgs = [{"role": "system", "content": system if system is not None else system_prompt(rules)}]
    for example in few_shot or []:
        msgs += [m for m in example["messages"] if m["role"] in ("user", "assistant")]
    msgs += [m for m in history if m["role"] in ("user", "assistant")]
    return msgs


def pick_few_shot(records: list[dict[str, Any]], k: int, seed: int = 0) -> list[dict[str, Any]]:
    """k single-exchange examples of different intents (deterministic), to show the expected style."""
    import random

    if k <= 0:
        return []
    rng = random.Random(seed)
    by_intent: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        if len(rec["messages"]) == 2:
            by_intent.setdefault(rec.get("meta", {}).get("intent", "?"), []).append(rec)
    intents = sorted(by_intent)
    rng.shuffle(intents)
    return [rng.choice(by_intent[i]) for i in intents[:k]]


def render_prompt(tokenizer: Any, messages: list[dict[str, str]]) -> str:
    """The text the model continues to write the next assistant turn."""
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def assistant_spans(tokenizer: Any, messages: list[dict[str, str]]) -> tuple[str, list[tuple[int, int]]]:
    """(full rendered text, character spans of each assistant turn including its end-of-turn marker)."""
    full = tokenizer.apply_chat_template(messages, tokenize=False)
    spans = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        before = tokenizer.apply_chat_template(messages[:i], tokenize=False, add_generation_prompt=True)
        upto = tokenizer.apply_chat_template(messages[:i + 1], tokenize=False)
        if not full.startswith(before) or not full.startswith(upto):
            raise ValueError("this chat template does not render prefixes as prefixes; cannot locate assistant turns")
        end = len(upto.rstrip("\n"))  # the newline after the end-of-turn token belongs to the template
        spans.append((len(before), end))
    return full, spans


@dataclass
class Encoded:
    """One training/evaluation example."""

    input_ids: list[int]
    labels: list[int]
    truncated: bool
    n_target: int


def encode_for_training(tokenizer: Any, messages: list[dict[str, str]], max_length: int = MAX_LENGTH,
                        last_only: bool = False) -> Encoded:
    """Token ids and labels (-100 outside assistant turns, or outside the last one with `last_only`).

    Right-truncated to `max_length` tokens.
    """
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError("encode_for_training needs a fast tokenizer (character offsets)")
    text, spans = assistant_spans(tokenizer, messages)
    if last_only:
        spans = spans[-1:]
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = enc["input_ids"], enc["offset_mapping"]
    labels = []
    for tid, (a, b) in zip(ids, offsets):
        inside = any(s <= a and b <= e and b > a for s, e in spans)
        labels.append(tid if inside else IGNORE_INDEX)
    truncated = len(ids) > max_length
    ids, labels = ids[:max_length], labels[:max_length]
    return Encoded(ids, labels, truncated, sum(l != IGNORE_INDEX for l in labels))


GROUNDING_INSTRUCTION = "Utilise exactement les faits du message « tool », sans en ajouter."


def turn_examples(records: list[dict[str, Any]], system: str, rules: BusinessRules = DEFAULT_RULES,
                  with_facts: bool = True, keep_turns: int = 0) -> list[list[dict[str, str]]]:
    """One example per assistant turn: system prompt, the conversation before it, the rules tool's facts (computed
    by the router from that conversation, as at answer time) and the answer as the last message."""
    from lib.assistant.facts import grounded_messages

    out = []
    for rec in records:
        msgs = rec["messages"]
        for i, m in enumerate(msgs):
            if m["role"] == "assistant" and i > 0:
                prompt, _ = grounded_messages(msgs[:i], system, rules, with_facts, keep_turns)
                out.append(prompt + [{"role": "assistant", "content": m["content"]}])
    return out


def encode_turns(tokenizer: Any, examples: list[list[dict[str, str]]], max_length: int = MAX_LENGTH) -> list[Encoded]:
    """Encode `turn_examples` with the loss on the last answer only."""
    return [encode_for_training(tokenizer, ex, max_length, last_only=True) for ex in examples]


def compact_system_prompt(rules: BusinessRules = DEFAULT_RULES) -> str:
    """A short system prompt (who, which app), for CPU runs where every token costs.

    The figures come from the rules tool's facts block; without it, from what training taught.
    """
    return "Tu es l'assistant client d'EasyTransfert (transferts d'argent mobile). Réponds en français, brièvement."


def system_prompt_for(style: str, rules: BusinessRules = DEFAULT_RULES) -> str:
    """"full" (every rule, the study's prompt) or "compact" (context only), with the grounding instruction."""
    if style == "full":
        return system_prompt(rules) + " " + GROUNDING_INSTRUCTION
    if style == "compact":
        return compact_system_prompt(rules) + " " + GROUNDING_INSTRUCTION
    raise ValueError(f"system prompt style must be 'full' or 'compact', got {style!r}")
