"""Text printed on product photos, read by Tesseract (via pytesseract), and a classifier on that text.

The photos of the product study are small (Flipkart: at most 256 px; the demo catalogue: 128 px), far below
the ~30 px letter height Tesseract is trained on, so each photo is converted to greyscale and upscaled
(LANCZOS) until its long side reaches `long_side` (768 px: ×3 for a 256 px photo) before it is read. Only
words Tesseract is at least `min_conf` sure of and holding at least two letters are kept: on fabric, wood or
print textures Tesseract "reads" strings of punctuation, digits and single letters.

`ocr_images` reads a list of photos once, in parallel (Tesseract is a subprocess, so threads suffice), and
caches the result under `models/ocr/`, keyed by the image list (paths, sizes, mtimes), the languages and the
settings. A missing Tesseract is an error naming what to install (`OCRUnavailable`), never a silent skip.

The OCR member of the product study is `OcrTextClassifier`: TF-IDF character n-grams → logistic regression
on the OCR text; a photo without readable text gets the training class prior, so a vote sees an
uninformative member there, not a confident guess.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from lib.core.paths import models_dir
from lib.vision.features import image_list_hash
from lib.vision.images import MISSING, OK, UNREADABLE, decode_item

FAILED = "failed"  # Tesseract itself failed on this photo (timeout, crash); counted like an unreadable file
DEBIAN_PACKAGES = ("tesseract-ocr", "tesseract-ocr-fra", "tesseract-ocr-eng")
DEFAULT_LANG = "fra+eng"
# The defaults below were measured on 100 Flipkart photos (≤ 256 px), scoring each setting by the listing words
# it reads: OCR words of 3+ letters that also occur in the listing's own title, description or specifications.
# Page segmentation mode 11 ("sparse text, in no particular order") suits packshots: a few words scattered
# over the product, no paragraphs. It read 11 listing words on the 100 photos against 9 for psm 6 ("one
# uniform block of text") and 1 for psm 3 (automatic layout, which finds no text block on most packshots),
# and ran fastest (37 s vs 86 s and 70 s for the 100 photos, 2 workers).
DEFAULT_PSM = 11
# Tesseract's word confidence (0-100). Kept words at ≥ 60: 0.65 per photo, half of them not listing words;
# at ≥ 80: 0.34 per photo, 58 % listing words, and nearly all listing words still read (11 vs 12). On all
# 1,047 photos, 5-fold CV of the OCR text classifier: ≥ 80 puts text on 16 % of photos and is right on 44 % of
# them (7 classes), ≥ 60 on 35 % and right on 27 % (log loss on all photos 1.918 vs 1.928; the prior's: 1.946).
# The OCR member should speak rarely and usefully, so 80. Clear printed words score 85-96 (tests/vision/test_ocr.py).
DEFAULT_MIN_CONF = 80.0
# Long side after upscaling: ×3 for a 256 px Flipkart photo, ×6 for a 128 px generated one, so letters a few
# pixels high reach the height Tesseract reads well. No upscaling read 4 listing words where 768 px read 11;
# 1,024 px read 12 in twice the time (72 s vs 37 s). The long side, not the short one, sets the scale: a
# short-side rule (≥ 600 px) read 13 (noise on 100 photos) in 63 s and blows elongated photos (30 × 256 px)
# up 20-fold.
DEFAULT_LONG_SIDE = 768
TIMEOUT_S = 60  # per photo; a stuck Tesseract process becomes status "failed", not a hung notebook

INSTALL_HINT = (
    "Install Tesseract with the French and English data: `sudo apt-get install " + " ".join(DEBIAN_PACKAGES)
    + "` (Debian/Ubuntu; `scripts/setup_env.sh` installs them itself when run as root). "
    "Without OCR, notebooks 05 and 06 run with the parameter `OCR=False` (e.g. `./run_all.sh -p OCR=False 05 06`),"
    " which leaves out the OCR member; everything else works without Tesseract.")


class OCRUnavailable(RuntimeError):
    """Tesseract or one of its language packs is not installed."""


@dataclass
class OcrResult:
    """The words kept from one photo."""

    text: str  # kept words joined by spaces, in Tesseract's reading order
    n_words: int
    mean_conf: float  # mean confidence of the kept words (NaN when none is kept)
    seconds: float
    status: str = OK  # "ok", "missing", "unreadable" or "failed"


_CHECKED: set[tuple[str, tuple[str, ...]]] = set()


def _tesseract_env() -> None:
    # One thread per Tesseract process: `ocr_images` already runs `workers` of them on a shared 2-core machine,
    # and OpenMP spin-waiting makes oversubscribed processes several times slower.
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")


def _split_langs(lang: str | Sequence[str]) -> tuple[str, ...]:
    parts = lang.split("+") if isinstance(lang, str) else list(lang)
    return tuple(sorted(p.strip() for p in parts if p.strip()))


def require_tesseract(langs: str | Sequence[str] = ("fra", "eng")) -> str:
    """Check that the Tesseract binary and the language packs `langs` are installed; return its version.

    Raises:
        OCRUnavailable: naming the Debian packages to install and the `OCR=False` notebook parameter.
    """
    import pytesseract

    _tesseract_env()
    cmd = str(pytesseract.pytesseract.tesseract_cmd)
    wanted = _split_langs(langs)
    # pytesseract memoises its version/language queries for the process, so a binary removed or a
    # `tesseract_cmd` changed later would go unnoticed: look the binary up ourselves each time.
    if shutil.which(cmd) is None:
        raise OCRUnavailable(f"Tesseract OCR is not installed (no `{cmd}` executable found). {INSTALL_HINT}")
    try:
        version = str(pytesseract.get_tesseract_version())
    except (pytesseract.TesseractNotFoundError, OSError) as err:
        raise OCRUnavailable(f"Tesseract OCR could not be run ({err}). {INSTALL_HINT}") from err
    key = (cmd, wanted)
    if key not in _CHECKED:
        try:
            have = set(pytesseract.get_languages(config=""))
        except (pytesseract.TesseractError, pytesseract.TesseractNotFoundError, OSError) as err:
            raise OCRUnavailable(f"Tesseract could not list its languages ({err}). {INSTALL_HINT}") from err
        missing = [lang for lang in wanted if lang not in have]
        if missing:
            raise OCRUnavailable(
                f"Tesseract {version} lacks the language data {missing} (installed: {sorted(have)}); packages "
                + ", ".join(f"tesseract-ocr-{m}" for m in missing) + f". {INSTALL_HINT}")
        _CHECKED.add(key)
    return version


MAX_UPSCALE = 3.0  # ×3 read best on Flipkart's 256 px photos; more costs time (×4 pixels per ×2) for no words


def prepare_image(image: Any, long_side: int = DEFAULT_LONG_SIDE, max_upscale: float = MAX_UPSCALE) -> Any:
    """Greyscale, then upscale (LANCZOS) towards a long side of `long_side` px, at most ×`max_upscale`
    (0: no resizing). The cap keeps small generated photos (128 px) at ×3 instead of ×6: four times fewer
    pixels for Tesseract, and their printed labels read as well."""
    from PIL import Image

    im = image.convert("RGB").convert("L")
    w, h = im.size
    if long_side and max(w, h) < long_side:
        scale = min(long_side / max(w, h), max_upscale) if max_upscale else long_side / max(w, h)
        im = im.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.LANCZOS)
    return im


def _keep(word: str) -> bool:
    return sum(ch.isalpha() for ch in word) >= 2


def tesseract_config(psm: int = DEFAULT_PSM) -> str:
    """The command-line options given to Tesseract."""
    return f"--psm {int(psm)}"


def read_text(path_or_pil: Any, lang: str = DEFAULT_LANG, min_conf: float = DEFAULT_MIN_CONF,
              psm: int = DEFAULT_PSM, long_side: int = DEFAULT_LONG_SIDE, timeout: float = TIMEOUT_S) -> OcrResult:
    """The words Tesseract reads on one photo (a path or a PIL image).

    Args:
        lang: Tesseract languages joined by "+" (the French and English packs by default).
        min_conf: keep words whose confidence (0-100) is at least this.
        psm: Tesseract page segmentation mode (11: sparse text, see `DEFAULT_PSM`).
        long_side: upscale until the long side is at least this many pixels (0: read as is).

    Returns:
        An `OcrResult`; a missing or unreadable file gives empty text and that status (no exception).

    Raises:
        OCRUnavailable: Tesseract or a language pack is not installed.
    """
    import pytesseract

    t0 = time.perf_counter()
    require_tesseract(lang)
    image, status = decode_item(path_or_pil)
    if status != OK:
        return OcrResult("", 0, float("nan"), time.perf_counter() - t0, status)
    try:
        data = pytesseract.image_to_data(prepare_image(image, long_side), lang=lang, config=tesseract_config(psm),
                                         output_type=pytesseract.Output.DICT, timeout=timeout)
    except (RuntimeError, pytesseract.TesseractError):  # pytesseract reports a timeout as a RuntimeError
        return OcrResult("", 0, float("nan"), time.perf_counter() - t0, FAILED)
    words, confs = [], []
    for word, conf in zip(data.get("text", []), data.get("conf", [])):
        word = str(word).strip()
        try:
            conf = float(conf)
        except (TypeError, ValueError):
            continue
        if word and conf >= min_conf and _keep(word):
            words.append(word)
            confs.append(conf)
    mean_conf = float(np.mean(confs)) if confs else float("nan")
    return OcrResult(" ".join(words), len(words), mean_conf, time.perf_counter() - t0, OK)


def ocr_cache_path(paths: Sequence[str | None], lang: str = DEFAULT_LANG, min_conf: float = DEFAULT_MIN_CONF,
                   psm: int = DEFAULT_PSM, long_side: int = DEFAULT_LONG_SIDE) -> Path:
    """`models/ocr/ocr_<lang>_psm<psm>_conf<min_conf>_side<long_side>x<max upscale>_<image list hash>.json`."""
    safe_lang = "+".join(_split_langs(lang)) if lang else "none"
    settings = f"psm{int(psm)}_conf{float(min_conf):g}_side{int(long_side)}x{MAX_UPSCALE:g}"
    return models_dir() / "ocr" / f"ocr_{safe_lang}_{settings}_{image_list_hash(paths)}.json"


COLUMNS = ["path", "text", "n_words", "mean_conf", "status"]


def _frame(rows: list[dict[str, Any]], cache: Path | None, from_cache: bool, seconds: float) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["text"] = frame["text"].fillna("").astype(str)
    frame["n_words"] = frame["n_words"].fillna(0).astype(int)
    frame["mean_conf"] = frame["mean_conf"].astype(float)
    frame.attrs.update({"from_cache": from_cache, "cache_path": str(cache) if cache else None, "seconds": seconds})
    return frame


def ocr_images(paths: Sequence[str | None], lang: str = DEFAULT_LANG, cache: bool = True, workers: int = 2,
               progress: bool = True, min_conf: float = DEFAULT_MIN_CONF, psm: int = DEFAULT_PSM,
               long_side: int = DEFAULT_LONG_SIDE) -> pd.DataFrame:
    """Read the text on each photo once, `workers` Tesseract processes at a time, with an on-disk cache.

    Args:
        paths: image files (None for a listing without a photo); a path listed twice is read once.
        cache: read/write `ocr_cache_path(...)` under `models/ocr/`; editing or replacing a photo changes the
            image list's hash, so stale results are never reused.

    Returns:
        One row per path: path, text, n_words, mean_conf, status ("ok", "missing", "unreadable", "failed").
        `frame.attrs` holds `from_cache`, `cache_path` and `seconds`.

    Raises:
        OCRUnavailable: Tesseract or a language pack is missing (and the result is not cached).
    """
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    paths = [None if p is None or (isinstance(p, float) and np.isnan(p)) or str(p) == "" else str(p) for p in paths]
    cache_path = ocr_cache_path(paths, lang, min_conf, psm, long_side) if cache else None
    if cache_path is not None and cache_path.is_file():
        stored = json.loads(cache_path.read_text(encoding="utf-8"))
        return _frame(stored["rows"], cache_path, True, time.perf_counter() - t0)
    version = require_tesseract(lang)
    unique = list(dict.fromkeys(p for p in paths if p is not None))
    results: dict[str, OcrResult] = {}
    with ThreadPoolExecutor(max_workers=max(1, int(workers))) as pool:
        futures = {pool.submit(read_text, p, lang, min_conf, psm, long_side): p for p in unique}
        for fut in tqdm(as_completed(futures), total=len(futures), desc=f"OCR {lang} psm {psm}",
                        disable=not progress, unit="photo"):
            results[futures[fut]] = fut.result()
    missing = OcrResult("", 0, float("nan"), 0.0, MISSING)
    rows = []
    for p in paths:
        r = results.get(p, missing) if p is not None else missing
        rows.append({"path": p, "text": r.text, "n_words": r.n_words,
                     "mean_conf": None if np.isnan(r.mean_conf) else round(r.mean_conf, 2), "status": r.status})
    seconds = time.perf_counter() - t0
    if cache_path is not None:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_path.with_suffix(".tmp")
        settings = {"lang": lang, "min_conf": min_conf, "psm": psm, "long_side": long_side,
                    "tesseract_version": version, "seconds": round(seconds, 2)}
        tmp.write_text(json.dumps({"settings": settings, "rows": rows}, ensure_ascii=False), encoding="utf-8")
        tmp.replace(cache_path)  # atomic: an interrupted run leaves no half-written cache
    return _frame(rows, cache_path, False, seconds)


def ocr_summary(frame: pd.DataFrame) -> dict[str, Any]:
    """How much text the photos hold: share with at least one kept word, words per photo, mean confidence.

    Shares and means are over the photos that could be read (status "ok").
    """
    ok = frame[frame["status"] == OK]
    with_text = ok[ok["n_words"] >= 1]
    n_words = int(ok["n_words"].sum())
    return {
        "n_photos": int(len(frame)), "n_read": int(len(ok)),
        "n_missing": int((frame["status"] == MISSING).sum()),
        "n_unreadable": int((frame["status"] == UNREADABLE).sum()),
        "n_failed": int((frame["status"] == FAILED).sum()),
        "share_with_text": float(len(with_text) / len(ok)) if len(ok) else 0.0,
        "words_per_photo": float(ok["n_words"].mean()) if len(ok) else 0.0,
        "words_per_photo_with_text": float(with_text["n_words"].mean()) if len(with_text) else 0.0,
        # word-weighted: a photo with ten confident words counts more than one with a single word
        "mean_conf": (float((with_text["mean_conf"] * with_text["n_words"]).sum() / n_words) if n_words
                      else float("nan")),
        "seconds": frame.attrs.get("seconds"), "from_cache": frame.attrs.get("from_cache"),
    }


def ocr_examples(frame: pd.DataFrame, n: int = 8, seed: int = 0) -> pd.DataFrame:
    """`n` photos with text, drawn at random (reproducibly): file name, text, words, confidence."""
    with_text = frame[(frame["status"] == OK) & (frame["n_words"] >= 1)]
    sample = with_text.sample(n=min(n, len(with_text)), random_state=seed) if len(with_text) else with_text
    out = sample[["path", "text", "n_words", "mean_conf"]].copy()
    out["path"] = out["path"].map(lambda p: Path(p).name if p else p)
    return out.rename(columns={"path": "photo"}).reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------------------
# The OCR member's classifier


def make_ocr_text_model(seed: int, C: float = 3.0) -> Any:
    """TF-IDF character n-grams (2-5, within words, sublinear tf, lower-cased, accents stripped) → logistic
    regression (balanced classes). Character n-grams survive OCR's misread letters ("Parfum" read "Parfurn").

    Args:
        C: inverse regularisation. On the Flipkart photos' OCR text (5-fold CV, min_conf 80) C = 3 gave the
            lowest log loss of 1, 3 and 10 and the best accuracy on photos with text (0.445 vs 0.433).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=True,
                        strip_accents="unicode"),
        LogisticRegression(C=C, class_weight="balanced", max_iter=2000, random_state=seed))


def _has_text(texts: Sequence[Any]) -> np.ndarray:
    return np.array([isinstance(t, str) and t.strip() != "" for t in texts], dtype=bool)


class OcrTextClassifier(ClassifierMixin, BaseEstimator):
    """`make_ocr_text_model` fitted on the photos with OCR text; photos without text get the class prior.

    Works like a scikit-learn classifier on lists of strings (fit / predict_proba / predict / classes_, and
    `clone` for cross-validation). `predict_proba` has one column per class of `classes` (or
    `range(n_classes)`, or the labels seen in `fit`), in sorted order, even for classes absent from the
    training rows with text. A training set where fewer than two classes have text (e.g. a fold of photos
    without any) gives the prior for every row.

    With `cross_val_predict(..., method="predict_proba")` pass `n_classes`: scikit-learn hands the estimator
    labels encoded as 0..K-1, which `classes` given as names would not match.

    On Flipkart (5-fold CV, 1,050 listings, 7 classes) the member is barely informative: 16 % of photos have
    text, it is right on 44 % of those, and its log loss (1.918) is no better than that of a model knowing only
    whether a photo has text (1.918; the prior's: 1.946), since text on a photo mostly means "Beauty and
    Personal Care" (63 of the 164 photos with text).
    """

    def __init__(self, seed: int = 0, C: float = 3.0, classes: Sequence[Any] | None = None,
                 n_classes: int | None = None):
        self.seed = seed
        self.C = C
        self.classes = classes
        self.n_classes = n_classes

    def fit(self, texts: Sequence[Any], y: Sequence[Any]) -> "OcrTextClassifier":
        texts = list(texts)
        y = np.asarray(y)
        if len(texts) != len(y):
            raise ValueError(f"{len(texts)} texts but {len(y)} labels")
        if self.classes is not None:
            self.classes_ = np.array(sorted(self.classes))
        elif self.n_classes is not None:
            self.classes_ = np.arange(int(self.n_classes))
        else:
            self.classes_ = np.unique(y)
        unknown = set(np.unique(y).tolist()) - set(self.classes_.tolist())
        if unknown:
            raise ValueError(f"labels {sorted(unknown)} are not among classes {self.classes_.tolist()}")
        counts = np.array([(y == c).sum() for c in self.classes_], dtype=float)
        self.prior_ = counts / counts.sum() if counts.sum() else np.full(len(self.classes_), 1 / len(self.classes_))
        has = _has_text(texts)
        self.n_fit_with_text_ = int(has.sum())
        self.model_ = None
        if len(np.unique(y[has])) >= 2:
            self.model_ = make_ocr_text_model(self.seed, self.C)
            self.model_.fit([texts[i] for i in np.flatnonzero(has)], y[has])
            # where each of the model's classes sits among classes_
            self.columns_ = np.searchsorted(self.classes_, self.model_.classes_)
        return self

    def predict_proba(self, texts: Sequence[Any]) -> np.ndarray:
        """Probabilities, one column per class of `classes_`; the training prior for rows without text."""
        texts = list(texts)
        proba = np.tile(self.prior_, (len(texts), 1))
        has = _has_text(texts)
        if self.model_ is not None and has.any():
            sub = np.zeros((int(has.sum()), len(self.classes_)))
            sub[:, self.columns_] = self.model_.predict_proba([texts[i] for i in np.flatnonzero(has)])
            proba[has] = sub
        return proba

    def predict(self, texts: Sequence[Any]) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(texts), axis=1)]
