"""Loading e-mail data: CSV exports, `.eml` folders, mbox files, the demo inbox and triage splits.

Every loader returns `(DataFrame, LoadReport)`: the report counts what was read and kept and lists
each row or message that was dropped (or kept with a warning) and why. Nothing is dropped silently.
Label sets always come from the data (or the caller's configuration), never from this code.
"""
from __future__ import annotations

import csv
import email
import email.policy
import mailbox
import re
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lib.core.csvfile import reader_with_header
from lib.emails.demo import CATEGORIES, PII_TYPES, URGENCIES, demo_pii_values, generate_demo_inbox

__all__ = ["LoadReport", "TriageData", "load_csv", "load_eml_folder", "load_mbox", "generate_demo_inbox",
           "load_triage_dataset", "KNOWN_DATASETS", "CATEGORIES", "URGENCIES", "PII_TYPES", "demo_pii_values",
           "write_eml_folder", "write_mbox", "write_demo_files"]

COLUMNS = ["text", "subject", "sender", "date", "category", "urgency"]
LAYOUT_KEYS = ("train_file", "test_file", "file", "text_col", "label_col", "urgency_col", "subject_col", "sep")


@dataclass
class LoadReport:
    """What a loader read, kept and dropped (with reasons)."""

    source: str
    n_read: int = 0
    n_kept: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)  # dropped rows/messages
    warnings: list[dict[str, Any]] = field(default_factory=list)  # kept, but repaired (e.g. bad charset)
    notes: list[str] = field(default_factory=list)

    @property
    def n_dropped(self) -> int:
        return len(self.problems)

    def drop(self, where: Any, reason: str) -> None:
        """Record a dropped row or message."""
        self.problems.append({"where": where, "reason": reason})

    def warn(self, where: Any, reason: str) -> None:
        """Record a row or message kept after a repair."""
        self.warnings.append({"where": where, "reason": reason})

    def summary(self) -> str:
        """One line: read, kept, dropped by reason."""
        reasons = pd.Series([p["reason"].split(":")[0] for p in self.problems], dtype=object).value_counts()
        why = "; ".join(f"{r}: {n}" for r, n in reasons.items()) or "none"
        return (f"{self.source}: read {self.n_read}, kept {self.n_kept}, dropped {self.n_dropped} ({why}), "
                f"repaired {len(self.warnings)}")

    def to_frame(self) -> pd.DataFrame:
        """Dropped and repaired items as a table."""
        rows = [{"status": "dropped", **p} for p in self.problems] + [{"status": "repaired", **w} for w in self.warnings]
        return pd.DataFrame(rows, columns=["status", "where", "reason"])

    def merge(self, other: "LoadReport") -> "LoadReport":
        """Combine two reports (e.g. train and test files)."""
        return LoadReport(f"{self.source} + {other.source}", self.n_read + other.n_read, self.n_kept + other.n_kept,
                          self.problems + other.problems, self.warnings + other.warnings, self.notes + other.notes)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or (isinstance(value, str) and not value.strip())


# --------------------------------------------------------------------------- CSV


def _decode(raw: bytes, encoding: str | None, report: LoadReport) -> str:
    if encoding:
        return raw.decode(encoding)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        report.notes.append(f"not valid UTF-8 ({err.reason} at byte {err.start}): decoded as cp1252")
        return raw.decode("cp1252", errors="replace")


def load_csv(path: str | Path, text_col: str = "text", label_col: str | None = "category",
             urgency_col: str | None = "urgency", subject_col: str | None = "subject",
             sender_col: str | None = "sender", date_col: str | None = "date", sep: str = ",",
             encoding: str | None = None, require_label: bool = True) -> tuple[pd.DataFrame, LoadReport]:
    """Read a labelled (or unlabelled) e-mail CSV into the standard columns.

    Args:
        path: the CSV file.
        text_col: body column (required).
        label_col: category column; None for unlabelled data. Missing optional columns are filled with NaN.
        urgency_col / subject_col / sender_col / date_col: optional columns (ignored when absent).
        sep: field separator.
        encoding: None tries UTF-8 then cp1252 (said in the report).
        require_label: drop (and report) rows without a label.

    Returns:
        (DataFrame with columns text, subject, sender, date, category, urgency, row), LoadReport.
        `row` is the 1-based line number of the record in the file (header = line 1).
    """
    path = Path(path)
    report = LoadReport(str(path.name))
    if not path.is_file():
        raise FileNotFoundError(f"CSV file not found: {path}")
    content = _decode(path.read_bytes(), encoding, report)
    reader, header = reader_with_header(content, path, sep)
    wanted = {"text": text_col, "category": label_col, "urgency": urgency_col, "subject": subject_col,
              "sender": sender_col, "date": date_col}
    if text_col not in header:
        raise ValueError(f"{path.name}: text column {text_col!r} not found; columns are {header}")
    if label_col is not None and label_col not in header and require_label:
        raise ValueError(f"{path.name}: label column {label_col!r} not found; columns are {header}. "
                         "Pass label_col=None for unlabelled data.")
    index = {std: header.index(col) for std, col in wanted.items() if col is not None and col in header}
    rows = []
    line_no = 1
    while True:
        start_line = reader.line_num + 1
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            report.n_read += 1
            report.drop(f"line {start_line}", f"malformed CSV: {err}")
            continue
        line_no = start_line
        if not rec or all(not c.strip() for c in rec):
            continue  # blank lines are not records
        report.n_read += 1
        if len(rec) != len(header):
            report.drop(f"line {line_no}", f"wrong field count: {len(rec)} fields, header has {len(header)}")
            continue
        row = {std: rec[i] for std, i in index.items()}
        if _is_missing(row.get("text")):
            report.drop(f"line {line_no}", "empty text")
            continue
        if require_label and label_col is not None and _is_missing(row.get("category")):
            report.drop(f"line {line_no}", "missing label")
            continue
        row["row"] = line_no
        rows.append(row)
    df = pd.DataFrame(rows)
    for col in COLUMNS:
        if col not in df:
            df[col] = np.nan
    for col in ("category", "urgency", "subject", "sender", "date"):
        df[col] = df[col].map(lambda v: np.nan if _is_missing(v) else str(v).strip())
    report.n_kept = len(df)
    return df[COLUMNS + ["row"]].reset_index(drop=True), report


# --------------------------------------------------------------------------- .eml and mbox


def _body_text(msg: Message, where: str, report: LoadReport) -> str | None:
    """The best text body of a message (plain preferred, else HTML), decoding charsets defensively."""
    part: Message | None
    if isinstance(msg, EmailMessage):
        part = msg.get_body(preferencelist=("plain", "html"))
    else:
        part = next((p for p in msg.walk() if p.get_content_type() in ("text/plain", "text/html")), None)
    if part is None:
        if not msg.is_multipart() and msg.get_content_maintype() == "text":
            part = msg
        else:
            return None
    payload = part.get_payload(decode=True)
    if payload is None:
        payload = str(part.get_payload()).encode("utf-8", "replace")
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset)
    except LookupError:
        report.warn(where, f"unknown charset {charset!r}: decoded as UTF-8 with replacement characters")
    except UnicodeDecodeError:
        report.warn(where, f"body is not valid {charset}: decoded with replacement characters")
    return payload.decode("utf-8", errors="replace")


def _header(msg: Message, name: str) -> str | None:
    try:
        value = msg.get(name)
    except Exception:  # malformed headers raise various errors under the default policy
        return None
    return None if value is None else str(value)


def _message_row(msg: Message, where: str, report: LoadReport, label: str | None) -> dict[str, Any] | None:
    report.n_read += 1
    known = [h for h in ("From", "To", "Subject", "Date", "Message-ID") if _header(msg, h)]
    if not known:
        report.drop(where, "not an e-mail: no From/To/Subject/Date/Message-ID header")
        return None
    try:
        body = _body_text(msg, where, report)
    except Exception as err:  # a broken MIME structure must be reported, not crash the whole load
        report.drop(where, f"undecodable message: {type(err).__name__}: {err}")
        return None
    if body is None or not body.strip():
        report.drop(where, "no text body (only attachments or empty)")
        return None
    date = _header(msg, "Date")
    try:
        date = parsedate_to_datetime(date).isoformat() if date else None
    except (TypeError, ValueError):
        report.warn(where, "unparseable Date header: kept as text")
    return {"text": body, "subject": _header(msg, "Subject"), "sender": parseaddr(_header(msg, "From") or "")[1] or None,
            "date": date, "category": _header(msg, "X-Category") or label,
            "urgency": _header(msg, "X-Urgency"), "file": where}


def load_eml_folder(folder: str | Path, label_from_subfolder: bool = True) -> tuple[pd.DataFrame, LoadReport]:
    """Read every `*.eml` under `folder`.

    The category is the `X-Category` header when present, else (with `label_from_subfolder`) the name
    of the subfolder holding the file (`folder/<category>/*.eml`), else NaN. Urgency: `X-Urgency`.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"e-mail folder not found: {folder}")
    report = LoadReport(str(folder.name))
    rows = []
    for path in sorted(folder.rglob("*.eml")):
        rel = str(path.relative_to(folder))
        label = path.parent.name if label_from_subfolder and path.parent != folder else None
        try:
            msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        except Exception as err:
            report.n_read += 1
            report.drop(rel, f"unparseable file: {type(err).__name__}: {err}")
            continue
        row = _message_row(msg, rel, report, label)
        if row is not None:
            rows.append(row)
    df = pd.DataFrame(rows, columns=COLUMNS + ["file"])
    report.n_kept = len(df)
    return df, report


def load_mbox(path: str | Path) -> tuple[pd.DataFrame, LoadReport]:
    """Read an mbox file (category from `X-Category`, urgency from `X-Urgency` when present)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"mbox file not found: {path}")
    report = LoadReport(path.name)
    box = mailbox.mbox(str(path), factory=lambda f: email.message_from_binary_file(f, policy=email.policy.default),
                       create=False)
    rows = []
    try:
        for i, key in enumerate(box.iterkeys()):
            where = f"message {i + 1}"
            try:
                msg = box[key]
            except Exception as err:
                report.n_read += 1
                report.drop(where, f"unparseable message: {type(err).__name__}: {err}")
                continue
            row = _message_row(msg, where, report, None)
            if row is not None:
                rows.append(row)
    finally:
        box.close()
    df = pd.DataFrame(rows, columns=COLUMNS + ["file"])
    report.n_kept = len(df)
    return df, report


def _to_message(row: pd.Series) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = str(row.get("sender") or "unknown@example.org")
    msg["To"] = "scolarite@univ-exemple.fr"
    msg["Subject"] = str(row.get("subject") or "")
    if isinstance(row.get("date"), str):
        msg["Date"] = pd.Timestamp(row["date"]).strftime("%a, %d %b %Y %H:%M:%S +0100")
    if not _is_missing(row.get("category")):
        msg["X-Category"] = str(row["category"])
    if not _is_missing(row.get("urgency")):
        msg["X-Urgency"] = str(row["urgency"])
    subtype = "html" if bool(row.get("is_html", False)) else "plain"
    msg.set_content(str(row["text"]), subtype=subtype, charset="utf-8")
    return msg


def write_eml_folder(df: pd.DataFrame, folder: str | Path, by_category: bool = True) -> Path:
    """Write rows as `.eml` files (one subfolder per category) — for demos and tests of the loaders."""
    folder = Path(folder)
    for i, row in df.reset_index(drop=True).iterrows():
        sub = folder / re.sub(r"[^\w.-]+", "_", str(row["category"])) if by_category else folder
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"{row.get('id', i)}.eml").write_bytes(bytes(_to_message(row)))
    return folder


def write_mbox(df: pd.DataFrame, path: str | Path) -> Path:
    """Write rows to an mbox file (category and urgency in X- headers)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    box = mailbox.mbox(str(path))
    try:
        for _, row in df.iterrows():
            box.add(_to_message(row))
        box.flush()
    finally:
        box.close()
    return path


# --------------------------------------------------------------------------- triage datasets

# How known real data sets are laid out (any other folder: pass the same keys to load_triage_dataset).
KNOWN_DATASETS: dict[str, dict[str, Any]] = {
    "intents_fr": {"train_file": "training_dataset.csv", "test_file": "test_dataset.csv",
                   "text_col": "utterance", "label_col": "intent", "urgency_col": None},
}


@dataclass
class TriageData:
    """Train/test splits ready for modelling: `text` is cleaned and anonymised."""

    train: pd.DataFrame
    test: pd.DataFrame
    labels: list[str]
    source: str  # "real" or "demo"
    name: str
    load_report: LoadReport
    has_urgency: bool = False
    preprocessor: Any = None

    def describe(self) -> str:
        """One line for the notebook: source, sizes, classes."""
        tag = "SYNTHETIC demo inbox" if self.source == "demo" else f"real data set {self.name!r}"
        return (f"{tag}: {len(self.train)} train / {len(self.test)} test e-mails, {len(self.labels)} classes, "
                f"urgency labels: {'yes' if self.has_urgency else 'no'}")


def _stratified_cap(df: pd.DataFrame, max_rows: int | None, seed: int, col: str = "label",
                    report: LoadReport | None = None) -> pd.DataFrame:
    """At most `max_rows` rows, class proportions kept and no class dropped (said in `report`)."""
    from lib.core.sampling import stratified_indices

    if max_rows is None or max_rows <= 0 or len(df) <= max_rows:
        return df
    keep = df.iloc[stratified_indices(df[col].tolist(), max_rows, seed)]
    if report is not None:
        report.notes.append(f"training rows capped at {len(keep)} of {len(df)} (MAX_TRAIN_ROWS; stratified, "
                            f"all {df[col].nunique()} classes kept)")
    return keep


def split_keeping_rare(df: pd.DataFrame, test_size: float, seed: int, col: str = "category",
                       report: LoadReport | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified train/test split in which a class with a single example stays in train.

    A single example cannot be both learned and scored: it goes to train, and `report` says how many.
    """
    from sklearn.model_selection import train_test_split

    counts = df[col].value_counts()
    rare = df[col].isin(counts[counts < 2].index)
    if rare.all():
        raise ValueError("every class has a single example: nothing can be held out for testing")
    common = df[~rare]
    n_test = max(int(round(test_size * len(df))), common[col].nunique())
    if n_test >= len(common):
        raise ValueError(f"{len(common)} rows in classes with 2+ examples: too few for a test split of {n_test}")
    train, test = train_test_split(common, test_size=n_test, stratify=common[col], random_state=seed)
    if rare.any() and report is not None:
        report.notes.append(f"{int(rare.sum())} classes with a single example kept in train only "
                            f"(they cannot be scored): {sorted(df.loc[rare, col].astype(str))[:10]}")
    return pd.concat([train, df[rare]]).sort_index(), test.sort_index()


def _prepare(df: pd.DataFrame, preprocessor: Any, progress: bool) -> pd.DataFrame:
    out = pd.DataFrame({
        "raw_text": df["text"].astype(str),
        "subject": df["subject"] if "subject" in df else np.nan,
        "label": df["category"].astype(str),
        "urgency": df["urgency"] if "urgency" in df else np.nan,
    })
    out["text"] = preprocessor.transform(out["raw_text"].tolist(),
                                         out["subject"].where(out["subject"].notna(), None).tolist(),
                                         progress=progress)
    out["lang"] = preprocessor.detect_language(out["text"].tolist())
    if "lang" in df:  # keep the generator's ground truth for the demo inbox
        out["lang_true"] = df["lang"].values
    for col in ("pii", "id", "is_html"):
        if col in df:
            out[col] = df[col].values
    return out.drop(columns=["raw_text", "subject"])


def load_triage_dataset(data_dir: str, dataset: str, seed: int, test_size: float = 0.2,
                        max_rows: int | None = None, n_demo: int = 1200, preprocessor: Any = None,
                        progress: bool = False, cache: bool = True, **layout: Any) -> TriageData:
    """Train/test splits for e-mail triage, from real data (DATA_DIR set) or the demo inbox (DATA_DIR "").

    Args:
        data_dir: the notebook's DATA_DIR; "" → the generated demo inbox (synthetic).
        dataset: the real data set's folder under `data_dir` (e.g. "intents_fr").
        seed: for the demo generator and the splits.
        test_size: held-out share when the data set has no separate test file.
        max_rows: cap the training rows (stratified), for quick profiles; the test set is kept whole.
        n_demo: size of the generated demo inbox.
        preprocessor: a `Preprocessor` (default: clean + anonymise with spaCy NER + py3langid).
        progress: show progress bars (NER).
        cache: reuse the prepared demo splits from data/demo/ (keyed on arguments and code; the demo only).
        layout: for real folders, overrides of KNOWN_DATASETS keys: train_file, test_file (or file),
            text_col, label_col, urgency_col, subject_col, sep.

    Returns:
        A `TriageData`; its `train`/`test` have columns text (cleaned, anonymised), label, urgency, lang.
    """
    from sklearn.model_selection import train_test_split

    from lib.core.datasets import resolve_dataset
    from lib.emails.preprocess import Preprocessor

    pre = preprocessor or Preprocessor()
    folder = resolve_dataset(data_dir, dataset)
    if folder is None and cache:
        path = _demo_cache_path(n_demo, seed, test_size, max_rows, pre)
        if path.is_file():
            cached = pd.read_pickle(path)
            return TriageData(cached["train"], cached["test"], cached["labels"], "demo", "demo inbox (synthetic)",
                              cached["report"], True, pre)
    if folder is None:
        raw = generate_demo_inbox(n=n_demo, seed=seed)
        report = LoadReport(f"demo inbox (synthetic, n={n_demo}, seed={seed})", len(raw), len(raw))
        train_raw, test_raw = train_test_split(raw, test_size=test_size, stratify=raw["category"], random_state=seed)
        train_raw = _stratified_cap(train_raw.rename(columns={"category": "label"}), max_rows, seed, report=report
                                    ).rename(columns={"label": "category"})
        source, name = "demo", "demo inbox (synthetic)"
    else:
        # empty values are the notebooks' "not set": the data set's known layout (or a single CSV) applies
        given = {k: v for k, v in layout.items() if v not in (None, "")}
        unknown = sorted(set(given) - set(LAYOUT_KEYS))
        if unknown:
            raise ValueError(f"unknown layout keys {unknown}; known: {list(LAYOUT_KEYS)}")
        spec = {**KNOWN_DATASETS.get(dataset, {}), **given}
        if "train_file" in given and "test_file" not in given:  # one labelled file: split it here
            spec = {k: v for k, v in spec.items() if k not in ("train_file", "test_file")} | {"file": given["train_file"]}
        kw = {k: spec[k] for k in ("text_col", "label_col", "urgency_col", "subject_col", "sep") if k in spec}
        kw.setdefault("urgency_col", "urgency")
        if "train_file" in spec and "test_file" in spec:
            train_raw, r1 = load_csv(folder / spec["train_file"], **kw)
            test_raw, r2 = load_csv(folder / spec["test_file"], **kw)
            report = r1.merge(r2)
        else:
            files = [folder / spec["file"]] if "file" in spec else sorted(folder.glob("*.csv"))
            if len(files) != 1:
                raise ValueError(f"{folder}: found {len(files)} CSV files; say which to use with file=... or "
                                 "train_file=/test_file=")
            raw, report = load_csv(files[0], **kw)
            train_raw, test_raw = split_keeping_rare(raw, test_size, seed, report=report)
        train_raw = _stratified_cap(train_raw.rename(columns={"category": "label"}), max_rows, seed, report=report
                                    ).rename(columns={"label": "category"})
        source, name = "real", dataset
    train = _prepare(train_raw, pre, progress).reset_index(drop=True)
    test = _prepare(test_raw, pre, progress).reset_index(drop=True)
    unseen = sorted(set(test["label"]) - set(train["label"]))
    if unseen:
        report.notes.append(f"test labels absent from train (cannot be predicted): {unseen}")
    labels = sorted(set(train["label"]) | set(test["label"]))
    has_urgency = bool(train["urgency"].notna().any())
    if source == "demo" and cache:
        path = _demo_cache_path(n_demo, seed, test_size, max_rows, pre)
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.to_pickle({"train": train, "test": test, "labels": labels, "report": report}, path)
    return TriageData(train, test, labels, source, name, report, has_urgency, pre)


def _demo_cache_path(n_demo: int, seed: int, test_size: float, max_rows: int | None, pre: Any) -> Path:
    """data/demo/triage_<key>.pkl, keyed on the arguments and on the code that produces the data."""
    import hashlib
    import json

    from lib.core.paths import data_dir
    from lib.emails import clean, demo, preprocess
    from lib.text import anonymise, name_detectors

    h = hashlib.sha256(json.dumps([n_demo, seed, test_size, max_rows, pre.config()], sort_keys=True).encode())
    for mod in (demo, clean, anonymise, name_detectors, preprocess):
        h.update(Path(mod.__file__).read_bytes())
    h.update((Path(__file__).parent / "pii.yaml").read_bytes())  # the e-mail domain's patterns
    h.update(Path(__file__).read_bytes())
    return data_dir() / "demo" / f"triage_{h.hexdigest()[:16]}.pkl"


def write_demo_files(df: pd.DataFrame, folder: str | Path, n_messages: int = 40) -> dict[str, Path]:
    """Export a demo inbox as a CSV, an `.eml` folder and an mbox — each with a few deliberately broken
    records (wrong field count, empty text, missing label, a non-e-mail file, an unknown charset) so
    the loaders' reports have something to count."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cols = ["id", "date", "sender", "subject", "text", "category", "urgency"]
    csv_path = folder / "inbox.csv"
    df[cols].to_csv(csv_path, index=False)
    with csv_path.open("a", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["broken-1", "2025-03-01", "x@example.org", "too few fields"])
        w.writerow(["broken-2", "2025-03-01", "x@example.org", "empty text", "", "Autres", "faible"])
        w.writerow(["broken-3", "2025-03-01", "x@example.org", "no label", "Bonjour, une question.", "", "faible"])
    sample = df.head(n_messages)
    eml = folder / "eml"
    if eml.exists():
        import shutil

        shutil.rmtree(eml)
    write_eml_folder(sample, eml)
    (eml / "not-an-email.eml").write_bytes(b"\x00\x01\x02 binary junk, no headers \xff\xfe")
    (eml / "bad-charset.eml").write_bytes(
        b"From: a@example.org\r\nSubject: test\r\nContent-Type: text/plain; charset=x-unknown-42\r\n\r\n"
        b"Bonjour, je n'arrive pas \xe0 me connecter.\r\n")
    (eml / "attachment-only.eml").write_bytes(
        b"From: b@example.org\r\nSubject: scan\r\nMIME-Version: 1.0\r\nContent-Type: application/pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n")
    mbox = write_mbox(sample, folder / "inbox.mbox")
    return {"csv": csv_path, "eml": eml, "mbox": mbox}
