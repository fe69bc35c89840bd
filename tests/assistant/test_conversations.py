"""The generator (deterministic, consistent with the rules, parseable) and the JSONL loader."""
import json

import pytest

from lib.assistant.conversations import (ConversationGenerator, load_jsonl, save_jsonl, split_conversations,
                                         validate_record)
from lib.assistant.guardrails import context_from_messages, violations
from lib.assistant.preprocess import Preprocessor
from lib.assistant.rules import BusinessRules


@pytest.fixture(scope="module")
def convs():
    return ConversationGenerator(seed=7).generate(800)


def test_generator_is_deterministic(convs):
    again = ConversationGenerator(seed=7).generate(10)
    assert again == convs[:10]
    assert ConversationGenerator(seed=8).generate(10) != convs[:10]


def test_generator_covers_intents_and_informal_style(convs):
    intents = {c["meta"]["intent"] for c in convs}
    assert {"fees", "limits", "failed_transfer", "late_transfer", "account", "out_of_scope"} <= intents
    users = " ".join(m["content"] for c in convs for m in c["messages"] if m["role"] == "user")
    for marker in (" pr ", " koi ", "frè", "stp", "🙏"):
        assert marker in users
    asks = [c for c in convs if "ask_details" in c["meta"]["turn_kinds"]]
    assert len(asks) > 20


def test_every_generated_answer_follows_the_rules(convs):
    """Each assistant turn passes the audit, raw and after preprocessing; the parsed context equals the truth."""
    pre = Preprocessor()
    for conv in convs + [pre.conversation(c) for c in convs]:
        msgs = conv["messages"]
        for i, m in enumerate(msgs):
            if m["role"] == "assistant":
                assert violations(m["content"], context_from_messages(msgs[:i])) == [], (conv["id"], m["content"])
        meta = conv["meta"]
        if meta["amount"] is not None and meta["intent"] != "limits":
            ctx = context_from_messages(msgs)
            assert ctx.amounts == (meta["amount"],) and (ctx.src, ctx.dst) == (meta["src"], meta["dst"]), conv


def test_generator_uses_configured_rules():
    rules = BusinessRules(same_operator_rate=0.005, cross_operator_rate=0.03)
    convs = ConversationGenerator(rules=rules, seed=1).generate(300)
    fees = [c for c in convs if "fee_answer" in c["meta"]["turn_kinds"]]
    for c in fees:
        q = rules.quote(c["meta"]["amount"], c["meta"]["src"], c["meta"]["dst"])
        assert f"les frais sont de {q.fee:,} FCFA".replace(",", " ") in c["messages"][-1]["content"] or \
            any(f"les frais sont de {q.fee:,} FCFA".replace(",", " ") in m["content"] for m in c["messages"])


def test_split_80_15_5(convs):
    s = split_conversations(convs, seed=0)
    assert [len(s[k]) for k in ("train", "validation", "test")] == [640, 120, 40]
    ids = [c["id"] for part in s.values() for c in part]
    assert len(set(ids)) == len(convs)


def test_jsonl_round_trip_and_bad_lines(tmp_path, convs):
    path = save_jsonl(convs[:5], tmp_path / "c.jsonl")
    with path.open("a", encoding="utf-8") as fh:
        fh.write("{not json\n")
        fh.write(json.dumps([1, 2]) + "\n")
        fh.write(json.dumps({"messages": [{"role": "user", "content": "slt"}]}) + "\n")
        fh.write(json.dumps({"messages": [{"role": "robot", "content": "x"}]}) + "\n")
        fh.write(json.dumps({"messages": [{"role": "user", "content": " "}, {"role": "assistant", "content": "a"}]}) + "\n")
        fh.write("\n")
        fh.write(json.dumps({"messages": [{"role": "user", "content": "frais ?"},
                                          {"role": "assistant", "content": "1 %"}]}) + "\n")  # real log, no meta
    records, report = load_jsonl(path)
    assert len(records) == 6 and report.n_ok == 6 and report.n_bad == 5
    assert report.bad == {"invalid_json": 1, "not_an_object": 1, "no_assistant_turn": 1, "bad_role": 1,
                          "empty_content": 1}
    assert [ln for ln, _ in report.bad_lines] == [6, 7, 8, 9, 10]
    assert records[-1]["meta"] == {} and records[-1]["id"].startswith("c-")
    assert "5 bad" in report.summary()
    with pytest.raises(ValueError, match=":6: invalid_json"):
        load_jsonl(path, strict=True)


def test_loader_refuses_a_file_without_conversations(tmp_path):
    p = tmp_path / "empty.jsonl"
    p.write_text("{}\n")
    with pytest.raises(ValueError, match="no usable conversation"):
        load_jsonl(p)
    assert validate_record({"messages": []}) == "no_messages"
