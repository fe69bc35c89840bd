"""Model card of the e-mail triage model, generated from a run's measured figures (markdown + HTML).

    card = ModelCard(model_name=..., data={...}, metrics=table, calibration={...}, abstention={...},
                     bias=bias_report(...), pii={...})
    md_path, html_path = write_model_card(card)   # reports/model_card_emails.md and .html

Every number in the card comes from the arguments (the run's metrics); nothing here is hard-coded
except the description of how the pipeline handles personal data, which is what the code does.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

DEFAULT_INTENDED_USE = (
    "Suggest a category, an urgency level and a reply template for e-mails arriving in a university "
    "inbox (admissions, grades and records, partnerships, internships, HR, other), so that staff can "
    "route and answer them faster. A person stays in the loop: the suggestion is a draft, and e-mails "
    "whose calibrated confidence is below the reject threshold are flagged `abstained` for manual reading.")
DEFAULT_OUT_OF_SCOPE = [
    "Automatic decisions about people (admission, grading, hiring, sanctions): the model routes mail, it does "
    "not judge requests.",
    "Sending replies without a human reading them.",
    "Languages other than French and English, or inboxes whose categories differ from the training labels.",
]
DEFAULT_PII = [
    "Every text (training and serving) is cleaned (HTML, quoted replies, signatures) and anonymised before a "
    "model sees it: person names by spaCy `fr_core_news_sm` NER, e-mail addresses, French phone numbers, "
    "student numbers, IBANs and postal addresses by patterns, each replaced by a typed placeholder "
    "(`<PERSON>`, `<EMAIL>`, `<PHONE>`, `<STUDENT_ID>`, `<IBAN>`, `<ADDRESS>`).",
    "Saved models contain only anonymised n-grams and weights; reports show anonymised examples only.",
    "The API never logs request texts (only their length, the predicted category and the latency), and its "
    "error messages do not echo the input.",
]


@dataclass
class ModelCard:
    """What the card says; fill it from the run (notebook 03) and render with `to_markdown`."""

    model_name: str
    data: Mapping[str, Any]  # source ("real"/"demo"), name, n_train, n_test, languages...
    metrics: pd.DataFrame | Mapping[str, Mapping[str, float]]  # model → {metric: value} on the test set
    version: str = "1"
    model_details: Mapping[str, Any] = field(default_factory=dict)  # architecture, base model, HPO best config
    calibration: Mapping[str, Any] = field(default_factory=dict)  # temperature, ece/nll before and after
    abstention: Mapping[str, Any] = field(default_factory=dict)  # threshold, target, automation rate, accuracy
    bias: Any = None  # a lib.evaluation.bias.BiasReport (or a DataFrame of per-group metrics)
    pii: Mapping[str, Any] | pd.DataFrame | None = None  # measured anonymisation precision/recall per type
    pii_handling: Sequence[str] = tuple(DEFAULT_PII)
    intended_use: str = DEFAULT_INTENDED_USE
    out_of_scope: Sequence[str] = tuple(DEFAULT_OUT_OF_SCOPE)
    limitations: Sequence[str] = ()
    run: Mapping[str, Any] = field(default_factory=dict)  # profile, seed, git commit, date

    # ------------------------------------------------------------------ derived content
    def metrics_frame(self) -> pd.DataFrame:
        """The metrics as a table (one row per model)."""
        if isinstance(self.metrics, pd.DataFrame):
            return self.metrics.copy()
        return pd.DataFrame([{"model": k, **dict(v)} for k, v in self.metrics.items()])

    def auto_limitations(self) -> list[str]:
        """Limitations that follow from the figures themselves (added to the given ones)."""
        out = []
        if str(self.data.get("source")) == "demo":
            out.append("**The figures were measured on a SYNTHETIC demo inbox** generated from templates; they say "
                       "the pipeline works, not how well it would do on a real inbox. Re-run on real, labelled "
                       "e-mails before any use.")
        n_test = self.data.get("n_test")
        if isinstance(n_test, (int, float)) and n_test and n_test < 500:
            out.append(f"The test set has {int(n_test)} examples: differences of a few points between models "
                       "are within sampling noise.")
        base = str(self.model_details.get("base_model", ""))
        if "minilm" in base.lower():
            out.append("The transformer is all-MiniLM-L6-v2, an English, uncased model (accents are stripped by its "
                       "tokenizer); French e-mails are at a disadvantage. A multilingual or French model "
                       "(distilbert-base-multilingual-cased, camembert-base) is the `full` profile's choice.")
        if self.bias is not None and hasattr(self.bias, "flagged") and len(self.bias.flagged):
            groups = ", ".join(f"{r.dimension} = {r.group}" for r in self.bias.flagged.itertuples())
            out.append(f"Performance gaps beyond the threshold were found for: {groups} (see Bias analysis).")
        if self.abstention and self.abstention.get("reached") is False:
            out.append("No reject threshold reached the target accuracy on validation; the most selective one "
                       "is used, and the target is not met.")
        return out

    # ------------------------------------------------------------------ rendering
    def to_markdown(self) -> str:
        """The card as markdown."""
        d = self.data
        synthetic = str(d.get("source")) == "demo"
        lines = [f"# Model card: {self.model_name} (version {self.version})", ""]
        if synthetic:
            lines += ["> **Synthetic data.** Every figure below was measured on the generated demo inbox, not on real "
                      "e-mails.", ""]
        lines += [f"*Generated {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} from the run's metrics"
                  + (f" (profile `{self.run.get('profile')}`, seed {self.run.get('seed')}, commit "
                     f"`{self.run.get('git_commit')}`)" if self.run else "") + ".*", ""]
        lines += ["## Intended use", "", self.intended_use, "", "Out of scope:", ""]
        lines += [f"- {x}" for x in self.out_of_scope] + [""]
        if self.model_details:
            lines += ["## Model", ""] + [f"- **{k}**: {_fmt(v)}" for k, v in self.model_details.items()] + [""]
        lines += ["## Data", ""]
        lines += [f"- **source**: {'synthetic demo inbox (generated from a seed)' if synthetic else 'real data'}"
                  f" — {d.get('name', '?')}"]
        lines += [f"- **{k}**: {_fmt(v)}" for k, v in d.items() if k not in ("source", "name")] + [""]
        lines += ["## Metrics (held-out test set)", "", _table(self.metrics_frame()), ""]
        if self.calibration:
            c = self.calibration
            lines += ["## Calibration", "",
                      "Temperature scaling fitted on the validation split (never on test)." , ""]
            lines += [f"- **{k}**: {_fmt(v)}" for k, v in c.items()] + [""]
        if self.abstention:
            a = self.abstention
            lines += ["## Abstention (reject option)", ""]
            if "automation_rate" in a:
                lines += [f"E-mails whose calibrated confidence is below **{_fmt(a.get('threshold'))}** are left to a "
                          f"person. On the test set this automates **{100 * float(a['automation_rate']):.1f} %** of "
                          f"e-mails, with accuracy {_fmt(a.get('accuracy_accepted'))} on those "
                          f"(target {_fmt(a.get('target_accuracy'))})."]
                acc, target = a.get("accuracy_accepted"), a.get("target_accuracy")
                if isinstance(acc, (int, float)) and isinstance(target, (int, float)) and acc < target:
                    lines += ["", f"**The target accuracy is not met on the test set** ({_fmt(acc)} < {_fmt(target)}): "
                              "the threshold was chosen on the validation split, which was too small or too easy to "
                              "transfer; a larger validation set (or a more conservative threshold) is needed."]
                lines += [""]
            lines += [f"- **{k}**: {_fmt(v)}" for k, v in a.items()] + [""]
        lines += ["## Bias analysis", ""]
        if self.bias is None:
            lines += ["Not measured in this run.", ""]
        else:
            table = self.bias.table if hasattr(self.bias, "table") else self.bias
            cols = [c for c in ("dimension", "group", "n", "accuracy", "accuracy_ci_low", "accuracy_ci_high",
                                "macro_f1", "gap_macro_f1", "abstention_rate", "too_small", "flagged") if c in table]
            if hasattr(self.bias, "threshold"):
                lines += [f"Groups flagged when their {self.bias.metric} is more than {self.bias.threshold:.2f} below "
                          f"the overall value (groups under {self.bias.min_count} examples are not judged).", ""]
            lines += [_table(table[cols]), ""]
            if hasattr(self.bias, "summary"):
                lines += [f"- {s}" for s in self.bias.summary()] + [""]
        lines += ["## Personal data (PII) handling", ""] + [f"- {x}" for x in self.pii_handling] + [""]
        if self.pii is not None:
            lines += ["Measured anonymisation quality (against the demo inbox's PII ground truth):", "",
                      _table(self.pii if isinstance(self.pii, pd.DataFrame) else
                             pd.DataFrame([{"type": k, **(v if isinstance(v, Mapping) else {"value": v})}
                                           for k, v in self.pii.items()])), ""]
        lines += ["## Limitations", ""] + [f"- {x}" for x in [*self.auto_limitations(), *self.limitations]] + [""]
        return "\n".join(lines)


def _fmt(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, float):
        return "n/a" if math.isnan(v) else (f"{v:.4g}" if abs(v) < 1e4 else f"{v:,.0f}")
    if isinstance(v, Mapping):
        return ", ".join(f"{k} = {_fmt(x)}" for k, x in v.items())
    if isinstance(v, (list, tuple)):
        return ", ".join(_fmt(x) for x in v)
    return str(v)


def _table(df: pd.DataFrame) -> str:
    """A markdown table (no `tabulate` dependency)."""
    if df is None or len(df) == 0:
        return "(empty)"
    cols = [str(c) for c in df.columns]
    out = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, r in df.iterrows():
        out.append("| " + " | ".join(_fmt(v.item() if hasattr(v, "item") else v).replace("|", "\\|") for v in r)
                   + " |")
    return "\n".join(out)


def markdown_to_html(markdown: str, title: str = "Model card") -> str:
    """A standalone HTML page from the card's markdown (mistune, installed with nbconvert)."""
    import mistune

    body = mistune.create_markdown(plugins=["table"])(markdown)
    return ("<!doctype html><html><head><meta charset='utf-8'><title>" + html.escape(title) + "</title><style>"
            "body{font-family:system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;line-height:1.45}"
            "table{border-collapse:collapse;font-size:.85rem}td,th{border:1px solid #ccc;padding:.25rem .5rem}"
            "th{background:#f0f3f8}blockquote{background:#fff3cd;border-left:4px solid #e0a800;margin:0;"
            "padding:.5rem 1rem}</style></head><body>" + body + "</body></html>")


def write_model_card(card: ModelCard, folder: str | Path | None = None, stem: str = "model_card_emails"
                     ) -> tuple[Path, Path]:
    """Write `<stem>.md` and `<stem>.html` (default folder: reports/) and return both paths."""
    from lib.core.paths import reports_dir

    folder = Path(folder) if folder is not None else reports_dir()
    folder.mkdir(parents=True, exist_ok=True)
    md = card.to_markdown()
    md_path, html_path = folder / f"{stem}.md", folder / f"{stem}.html"
    md_path.write_text(md, encoding="utf-8")
    html_path.write_text(markdown_to_html(md, f"Model card: {card.model_name}"), encoding="utf-8")
    return md_path, html_path


def notebook_headline(notebook: str, contains: str = "") -> dict[str, Any]:
    """Headline figures of another notebook's last run (`reports/metrics/<notebook>.json`) whose names
    contain `contains`; empty when that notebook has not run. Used to cite, e.g., notebook 01's PII scores."""
    import json

    from lib.core.paths import metrics_dir

    path = metrics_dir() / f"{notebook}.json"
    if not path.is_file():
        return {}
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    figures = {k: v for k, v in (record.get("headline") or {}).items() if contains.lower() in k.lower()}
    if figures:
        figures = {f"{k} ({notebook}, {record.get('data', {}).get('name', '?')})": v for k, v in figures.items()}
    return figures
