"""Post-processing, batched generation, guarded chat session and the chat command's error path."""
import pytest

from lib.assistant.chat import ChatSession, main
from lib.assistant.generation import GenerationSettings, generate_answers, postprocess
from lib.assistant.guardrails import context_from_messages, violations
from lib.assistant.prompting import build_messages, compact_system_prompt


@pytest.mark.parametrize("raw,clean", [
    ("Bonjour !<|im_end|>", "Bonjour !"),
    ("assistant\nLes frais sont de 25 FCFA.<|im_end|>\n<|im_start|>user\nmerci", "Les frais sont de 25 FCFA."),
    ("Merci.\nuser: et pour 5000 ?", "Merci."),
    ("Réponse : oui<|eot_id|>", "oui"),
    ("Les frais sont de 25 FCFA.\n\nVoici un autre exemple : 500 FCFA", "Les frais sont de 25 FCFA."),
    ("Bonjour !<eos>", "Bonjour !"),
    ("Merci.\nOutil :\nintention : fees", "Merci."),
])
def test_postprocess_strips_template_artefacts(raw, clean):
    assert postprocess(raw) == clean


def test_generation_settings_are_the_studys():
    kw = GenerationSettings(max_new_tokens=12).kwargs()
    assert kw == {"max_new_tokens": 12, "do_sample": True, "repetition_penalty": 1.1, "temperature": 0.7,
                  "top_p": 0.9, "top_k": 50}


def test_batched_generation_and_guarded_chat(smol_tokenizer, tiny_llama):
    tiny_llama.eval()
    prompts = [build_messages([{"role": "user", "content": t}], system=compact_system_prompt())
               for t in ("frais pour 5000 ?", "mon transfert a échoué")]
    answers = generate_answers(tiny_llama, smol_tokenizer, prompts, GenerationSettings(max_new_tokens=6), batch_size=2)
    assert len(answers) == 2 and all(1 <= a.n_new_tokens <= 6 and a.latency_s > 0 for a in answers)
    assert all("<|im_" not in a.text for a in answers)
    again = generate_answers(tiny_llama, smol_tokenizer, prompts, GenerationSettings(max_new_tokens=6), batch_size=2)
    assert [a.raw for a in again] == [a.raw for a in answers]  # seeded sampling

    session = ChatSession(tiny_llama, smol_tokenizer, compact_system_prompt(),
                          settings=GenerationSettings(max_new_tokens=8))
    text, actions = session.reply("slt c koi les frè pr 100000 de orange ver mtn, mon num 07 12 34 56 78")
    assert session.history[0]["content"].startswith("salut c'est quoi les frais pour 100000")
    assert "[TELEPHONE]" in session.history[0]["content"]
    assert session.history[1] == {"role": "assistant", "content": text}
    assert violations(text, context_from_messages(session.history[:1])) == []


def test_chat_command_reports_a_missing_adapter(tmp_path, capsys):
    assert main(["--adapter", str(tmp_path), "--message", "slt"]) == 2
    assert "adapter_config.json" in capsys.readouterr().err


def test_chat_shows_the_customers_transaction_id_where_the_model_wrote_its_tag(monkeypatch):
    """The model reads and writes the anonymised tag; the customer reads their own id; the history keeps the tag."""
    import lib.assistant.chat as chat
    from lib.assistant.generation import Answer

    written = "Merci. Le transfert [ID_TRANSACTION] de 2 000 FCFA a échoué : il est remboursé automatiquement."
    seen: list[list[dict[str, str]]] = []

    def fake_generate(model, tok, prompts, settings, batch_size, desc):
        seen.extend(prompts)
        return [Answer(raw=written, text=written, n_new_tokens=20, latency_s=0.1)]

    monkeypatch.setattr(chat, "generate_answers", fake_generate)
    session = ChatSession(None, None, "SYS", guard=False)
    text, _ = session.reply("mon transfert a échoué, id ET24A7K9Q2, 2k de wave vers moov")
    assert "ET24A7K9Q2" in text and "[ID_TRANSACTION]" not in text
    assert "ET24A7K9Q2" not in str(seen) and "[ID_TRANSACTION]" in session.history[-1]["content"]
    # Out of scope after it: the router does not carry the transfer on (see the router tests).
    assert chat.grounded_messages(session.history + [{"role": "user", "content": "kel temps fait il demain"}],
                                  "SYS")[1].intent == "out_of_scope"
