"""Answer generation (sampling settings of the study), post-processing and guarded answers."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from tqdm.auto import tqdm

from lib.assistant.guardrails import Guardrail, GuardResult
from lib.assistant.prompting import render_prompt


@dataclass
class GenerationSettings:
    """Sampling: temperature 0.7, top-p 0.9, top-k 50, repetition penalty 1.1; `max_new_tokens` configurable."""

    temperature: float = 0.7
    top_p: float = 0.9
    top_k: int = 50
    repetition_penalty: float = 1.1
    max_new_tokens: int = 96
    do_sample: bool = True
    seed: int = 0
    # An answer is one paragraph: a blank line starts something else (an untuned model's next invented turn),
    # so generation stops there instead of running to max_new_tokens.
    stop_strings: tuple[str, ...] = ("\n\n",)

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `model.generate`."""
        kw: dict[str, Any] = {"max_new_tokens": self.max_new_tokens, "do_sample": self.do_sample,
                              "repetition_penalty": self.repetition_penalty}
        if self.do_sample:
            kw.update(temperature=self.temperature, top_p=self.top_p, top_k=self.top_k)
        return kw


_ARTEFACTS = re.compile(r"<\|im_start\|>|<\|im_end\|>|<\|eot_id\|>|<\|start_header_id\|>|<\|end_header_id\|>|"
                        r"<\|begin_of_text\|>|<\|end_of_text\|>|<\|endoftext\|>|</?s>|<eos>|<bos>|<pad>|<end_of_turn>")
_NEXT_TURN = re.compile(r"(?:<\|im_start\|>|<\|start_header_id\|>|<start_of_turn>|"
                        r"\n(?:user|utilisateur|client|assistant|outil|tool|syst[eè]me|service client)\s*[:\n])",
                        re.IGNORECASE)
_ROLE_PREFIX = re.compile(r"^\s*(?:assistant|assistante|bot|réponse|EasyTransfert)\s*[:\n]\s*", re.IGNORECASE)


def postprocess(text: str) -> str:
    """Extract the answer: cut at the start of a next turn, strip template tokens and role prefixes."""
    m = _NEXT_TURN.search(text)
    if m:
        text = text[:m.start()]
    text = text.split("\n\n")[0]  # one paragraph (generation stops at a blank line too)
    text = _ARTEFACTS.sub("", text)
    text = _ROLE_PREFIX.sub("", text)
    return re.sub(r"[ \t]+", " ", text).strip()


@dataclass
class Answer:
    """One generated answer: raw text, post-processed text, guarded text and timings."""

    raw: str
    text: str
    n_new_tokens: int
    latency_s: float  # the batch's wall time / its size: machine time per answer
    guarded: GuardResult | None = None
    wait_s: float = 0.0  # the batch's wall time: how long each of its requests waited


def generate_answers(model: Any, tokenizer: Any, conversations: list[list[dict[str, str]]],
                     settings: GenerationSettings | None = None, batch_size: int = 4,
                     desc: str = "generate") -> list[Answer]:
    """Generate the next assistant turn for each message list (already holding the system prompt).

    Prompts are sorted by length, left-padded and generated in batches (answers come back in the input order);
    `latency_s` is the batch's wall time divided by its size (the machine time per answer at that batch size),
    `wait_s` the batch's wall time (what each request in it waited; with `batch_size=1`, the latency).
    """
    import torch

    s = settings or GenerationSettings()
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    stop_ids = [tokenizer.eos_token_id] + [tokenizer.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|eot_id|>")
                                           if t in tokenizer.get_vocab()]
    out: dict[int, Answer] = {}
    model.eval()
    texts = [render_prompt(tokenizer, msgs) for msgs in conversations]
    order = sorted(range(len(texts)), key=lambda k: len(tokenizer(texts[k], add_special_tokens=False)["input_ids"]))
    for i in tqdm(range(0, len(order), batch_size), desc=desc):
        idx = order[i:i + batch_size]
        prompts = [texts[k] for k in idx]
        enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        torch.manual_seed(s.seed + i)
        t0 = time.perf_counter()
        with torch.inference_mode():
            extra = {"stop_strings": list(s.stop_strings), "tokenizer": tokenizer} if s.stop_strings else {}
            gen = model.generate(**enc, **s.kwargs(), eos_token_id=sorted(set(stop_ids)),
                                 pad_token_id=tokenizer.pad_token_id, **extra)
        dt = time.perf_counter() - t0
        new = gen[:, enc["input_ids"].shape[1]:]
        for k, row in zip(idx, new):
            ids = row.tolist()
            n = next((j + 1 for j, t in enumerate(ids) if t in stop_ids), len(ids))
            # A row stopped by a stop string is padded while the others go on: the padding is not generated text.
            while n > 1 and ids[n - 1] == tokenizer.pad_token_id:
                n -= 1
            raw = tokenizer.decode(ids[:n], skip_special_tokens=False)
            out[k] = Answer(raw=raw, text=postprocess(raw), n_new_tokens=n, latency_s=dt / len(idx), wait_s=dt)
    tokenizer.padding_side = "right"
    return [out[k] for k in range(len(texts))]


def guard_answers(answers: list[Answer], contexts: list[list[dict[str, str]]], guard: Guardrail) -> list[Answer]:
    """Run the guardrail on each answer given the conversation before it (fills `Answer.guarded`)."""
    for ans, ctx in zip(answers, contexts):
        ans.guarded = guard.apply(ans.text, ctx)
    return answers
