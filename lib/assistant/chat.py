"""Chat with a trained adapter from the terminal.

    .venv/bin/python -m lib.assistant.chat --adapter models/assistant/smollm2-135m-instruct-default
    .venv/bin/python -m lib.assistant.chat --adapter ... --message "slt c koi les frè pr 100000 de orange ver mtn"

Each user turn is cleaned, anonymised and normalised like the training data; the router reads the conversation,
the rules engine computes the facts (fee quote, limits, what to ask) and they go into the prompt as a tool result,
as in training (`--show-facts` prints them); the answer is generated greedily (`--temperature 0.7` samples as the
study did) and passed through the guardrails (interventions are printed).
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from lib.assistant.generation import GenerationSettings, generate_answers
from lib.assistant.guardrails import Guardrail
from lib.assistant.preprocess import ID_TAG, Preprocessor
from lib.assistant.facts import grounded_messages
from lib.assistant.rules import BusinessRules


@dataclass
class ChatSession:
    """A conversation with a model: history, preprocessing, generation and guardrails."""

    model: Any
    tokenizer: Any
    system: str
    rules: BusinessRules = field(default_factory=BusinessRules)
    settings: GenerationSettings = field(default_factory=GenerationSettings)
    guard: bool = True
    grounded: bool = True  # the rules tool's facts in the prompt (as the adapter was trained)
    keep_turns: int = 1  # messages of the conversation kept in the prompt (the router reads them all)
    history: list[dict[str, str]] = field(default_factory=list)
    last_facts: str = ""
    transaction_id: str = ""  # the latest transaction id the customer typed (the model only sees its tag)

    def __post_init__(self) -> None:
        self._pre = Preprocessor()
        self._guard = Guardrail(self.rules)

    def reply(self, user_text: str) -> tuple[str, list[str]]:
        """The assistant's answer to one user message, and the guardrail's interventions.

        The model reads the anonymised conversation (as in training), so it writes "[ID_TRANSACTION]" where it
        refers to the customer's transaction; the customer sees the id they typed there.
        """
        ids = [user_text[sp.start:sp.end] for sp in self._pre.anonymiser.detect_many([user_text])[0]
               if sp.kind == "transaction_id"]
        if ids:
            self.transaction_id = ids[-1]
        self.history.append({"role": "user", "content": self._pre.message("user", user_text)})
        msgs, _ = grounded_messages(self.history, self.system, self.rules, self.grounded, self.keep_turns)
        self.last_facts = msgs[-1]["content"] if self.grounded else ""
        ans = generate_answers(self.model, self.tokenizer, [msgs], self.settings, batch_size=1, desc="answer")[0]
        text, actions = ans.text, []
        if self.guard:
            res = self._guard.apply(ans.text, self.history)
            text, actions = res.text, res.interventions
        self.history.append({"role": "assistant", "content": text})
        if self.transaction_id:
            text = text.replace(ID_TAG, self.transaction_id)
        return text, actions


def session_from_adapter(adapter: str, max_new_tokens: int = 100, guard: bool = True, seed: int = 0,
                         temperature: float = 0.0) -> ChatSession:
    """A chat session on a saved adapter, with the rules and system prompt it was trained with."""
    from lib.assistant.finetune import load_adapter

    tok, model, manifest = load_adapter(adapter)
    rules_cfg = manifest.get("rules") or {}
    rules = BusinessRules(**{k: v for k, v in rules_cfg.items() if k in (
        "same_operator_rate", "cross_operator_rate", "min_fee", "max_fee", "min_amount", "max_amount")})
    from lib.assistant.prompting import system_prompt

    system = manifest.get("system_prompt") or system_prompt(rules)
    # Greedy by default: the default profile's choice on validation turns (0.59 resolved greedy vs 0.47 at the
    # study's T 0.7, benchmarks/results/assistant_lr_temperature.json); --temperature samples as the study did.
    settings = GenerationSettings(temperature=temperature or 1.0, do_sample=temperature > 0, repetition_penalty=1.1,
                                  max_new_tokens=max_new_tokens, seed=seed)
    return ChatSession(model, tok, system, rules, settings, guard,
                       grounded=manifest.get("grounded", True), keep_turns=int(manifest.get("keep_turns", 1)))


def main(argv: list[str] | None = None) -> int:
    """Interactive loop (or one `--message`); returns the exit code."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    p = argparse.ArgumentParser(prog="python -m lib.assistant.chat", description=__doc__.split("\n\n")[0])
    p.add_argument("--adapter", required=True, help="folder of a saved LoRA adapter (models/assistant/...)")
    p.add_argument("--message", action="append", help="a user message (repeatable); without it, read stdin")
    p.add_argument("--max-new-tokens", type=int, default=100)
    p.add_argument("--temperature", type=float, default=0.0,
                   help="0: greedy (the default profile's choice on validation); the study sampled at 0.7, top-p 0.9")
    p.add_argument("--no-guardrails", action="store_true", help="show the raw model answer")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--show-facts", action="store_true", help="print the rules tool's facts given to the model")
    args = p.parse_args(argv)
    try:
        session = session_from_adapter(args.adapter, args.max_new_tokens, not args.no_guardrails, args.seed,
                                       args.temperature)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    messages = args.message
    if messages is None:
        print("EasyTransfert assistant — empty line or Ctrl-D to quit.")
    while True:
        if messages is not None:
            if not messages:
                return 0
            text = messages.pop(0)
            print(f"vous> {text}")
        else:
            try:
                text = input("vous> ")
            except EOFError:
                return 0
            if not text.strip():
                return 0
        answer, actions = session.reply(text)
        if args.show_facts and session.last_facts:
            print("   [faits] " + session.last_facts.replace("\n", " | "))
        print(f"assistant> {answer}")
        if actions:
            print(f"   [guardrails: {', '.join(actions)}]")


if __name__ == "__main__":
    raise SystemExit(main())
