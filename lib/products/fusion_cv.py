"""Does the late fusion beat the best single modality beyond one small test split? Nested cross-validation.

Notebook 06 scores the fusion on the test split (~15 % of the listings: ~150 rows on Flipkart, where one
row is worth ~0.007 weighted F1). This module answers the same question on **every** listing:

* outer K-fold over all listings: each listing is predicted once, by models that never saw it;
* inside each outer training part, an inner K-fold gives out-of-fold scores on which the text temperature,
  the image temperature and the fusion weight `a` are chosen (so the calibration and `a` are chosen on
  ~800 rows instead of ~150 validation rows, and never on the rows they are scored on);
* the text side is the notebook-04 pipeline (TF-IDF word+char → LinearSVC, temperature-calibrated); the
  image side is a classifier on the cached backbone features of notebook 05 (the fine-tuned CNN member of
  the vote is left out: refitting it 30 times is not affordable on a CPU).

`text_strength_ablation` repeats the study with less informative texts (designation only, truncated
designations): how the fusion's gain depends on how much the text already knows.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold

from lib.ensemble.fusion import fuse, search_alpha
from lib.evaluation.calibration import apply_temperature, fit_temperature
from lib.evaluation.crossfit import align_columns
from lib.products.text_model import make_text_pipeline, scores, scores_matrix

FitPredict = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (train rows, eval rows) -> (n_eval, k) log-scores


@dataclass
class NestedFusionCV:
    """Outer-fold predictions of text, image and fusion for every listing, and what was chosen per fold."""

    y: np.ndarray
    classes: list[str]
    p_text: np.ndarray
    p_image: np.ndarray  # NaN rows: no photo
    p_fusion: np.ndarray
    text_present: np.ndarray
    image_present: np.ndarray
    folds: pd.DataFrame  # fold, n_train, n_eval, alpha, T_text, T_image, weighted F1 of each model on the fold
    seconds: float = 0.0
    settings: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.y)

    def summary(self) -> pd.DataFrame:
        """Pooled scores over all listings: text, image (rows without photo count as errors), fusion."""
        rows = []
        for name, p, answered in (("text", self.p_text, self.text_present),
                                  ("image", np.nan_to_num(self.p_image), self.image_present),
                                  ("fusion", self.p_fusion, np.ones(len(self), bool))):
            pred = np.where(answered, p.argmax(1), (self.y + 1) % p.shape[1])  # unanswered = an error
            rows.append({"model": name, "rows": len(self), "answered": int(answered.sum()),
                         "correct": int((pred == self.y).sum()), **scores(self.y, pred)})
        return pd.DataFrame(rows)

    def alpha_curve(self, grid: Sequence[float] | None = None) -> pd.DataFrame:
        """Pooled weighted F1 of the fusion had every fold used the same fixed `a` (hindsight, not a choice).

        The calibrated outer-fold probabilities are fused with each `a`: the best point of this curve is an
        upper bound on what any way of choosing `a` could reach with these two models.
        """
        grid = np.round(np.linspace(0, 1, 21), 4) if grid is None else grid
        rows = []
        for a in grid:
            pred = fuse(self.p_image, self.p_text, float(a), self.image_present, self.text_present).argmax(1)
            rows.append({"alpha": float(a), "correct": int((pred == self.y).sum()), **scores(self.y, pred)})
        return pd.DataFrame(rows)


def _columns(model_classes: Sequence, k: int) -> Callable[[np.ndarray], np.ndarray]:
    """Map a classifier's columns (a subset of 0..k-1 when a fold lacks a class) onto all k classes."""
    cols = np.asarray(model_classes, dtype=int)

    def expand(z: np.ndarray) -> np.ndarray:
        # a class absent from the fold's training rows gets the floor: never chosen
        return align_columns(z, cols, range(k))

    return expand


def text_fit_predict(texts: Sequence[str], y: np.ndarray, k: int, template: Any) -> FitPredict:
    """Fit a fresh copy of the text pipeline `template` on some rows, return its decision scores on others."""
    texts = ["" if t is None else str(t) for t in texts]

    def run(train: np.ndarray, ev: np.ndarray) -> np.ndarray:
        pipe = clone(template).fit([texts[i] for i in train], y[train])
        return _columns(pipe.classes_, k)(scores_matrix(pipe, [texts[i] for i in ev]))

    return run


def image_fit_predict(X: np.ndarray, y: np.ndarray, k: int, model: str = "logreg", seed: int = 42,
                      fast: bool = False) -> FitPredict:
    """Fit a feature classifier (`lib.vision.classifiers`) on some rows, return log-probabilities on others."""
    from lib.vision.classifiers import make_feature_model

    def run(train: np.ndarray, ev: np.ndarray) -> np.ndarray:
        clf = make_feature_model(model, seed, fast=fast).fit(X[train], y[train])
        return _columns(clf.classes_, k)(np.log(np.clip(clf.predict_proba(X[ev]), 1e-12, 1.0)))

    return run


def _oof(fit_predict: FitPredict, rows: np.ndarray, y: np.ndarray, k: int, folds: int, seed: int) -> np.ndarray:
    """Out-of-fold scores of `rows` (stratified `folds`-fold inside them)."""
    out = np.zeros((len(rows), k))
    n_splits = min(folds, int(np.bincount(y[rows]).max()))
    for a, b in StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(rows, y[rows]):
        out[b] = fit_predict(rows[a], rows[b])
    return out


def _check_folds(y: np.ndarray, folds: int, what: str) -> None:
    counts = np.bincount(y)
    counts = counts[counts > 0]
    if folds < 2:
        raise ValueError(f"{what}: need at least 2 folds, got {folds}")
    if counts.min() < folds:
        raise ValueError(f"{what}: the rarest class has {counts.min()} listings, fewer than {folds} folds: "
                         "lower the number of folds or use more rows")


def nested_fusion_cv(texts: Sequence[str], X_image: np.ndarray, y: Sequence[int], classes: Sequence[str],
                     image_present: Sequence[bool] | None = None, folds: int = 5, inner_folds: int = 5,
                     text_pipeline: Any = None, text_model: str = "LinearSVC", C: float = 1.0,
                     image_model: str = "logreg",
                     alpha_grid: Sequence[float] | None = None, metric: str = "weighted_f1", seed: int = 42,
                     fast: bool = False, progress: bool = True,
                     image_scores: tuple[np.ndarray, np.ndarray] | None = None, **tfidf: object) -> NestedFusionCV:
    """Nested K-fold estimate of text, image and late fusion on every listing.

    Args:
        texts: cleaned listing texts (empty = text missing on that row).
        X_image: (n, d) backbone features; rows where `image_present` is False are ignored (any values).
        y: class indices into `classes`.
        folds / inner_folds: outer and inner K.
        text_pipeline: the text pipeline to refit (e.g. notebook 04's, so that C, class weights and the TF-IDF
            settings are the same); default `make_text_pipeline(text_model, C=C, **tfidf)`.
        metric: what `a` maximises on the inner out-of-fold rows (ties: lower NLL; see `search_alpha`).
        image_scores: the (outer, inner) image log-scores of a previous run with the same y, folds and seed
            (`NestedFusionCV.settings["image_scores"]`): the ablation reuses them instead of refitting.

    Returns:
        A `NestedFusionCV`; `settings["image_scores"]` holds the image scores for reuse.
    """
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    y = np.asarray(y, dtype=int)
    k = len(classes)
    texts = ["" if t is None else str(t) for t in texts]
    n = len(y)
    if len(texts) != n or len(X_image) != n:
        raise ValueError(f"texts ({len(texts)}), image features ({len(X_image)}) and labels ({n}) differ in length")
    has_img = np.ones(n, bool) if image_present is None else np.asarray(image_present, bool)
    has_txt = np.array([bool(t.strip()) for t in texts])
    _check_folds(y, folds, "outer folds")
    template = (make_text_pipeline(text_model, seed=seed, C=C, **tfidf) if text_pipeline is None
                else text_pipeline)
    text_fp = text_fit_predict(texts, y, k, template)
    image_fp = image_fit_predict(np.asarray(X_image, dtype=np.float32), y, k, image_model, seed, fast)

    p_text, p_image, p_fusion = np.zeros((n, k)), np.full((n, k), np.nan), np.zeros((n, k))
    cached_outer, cached_inner = image_scores if image_scores is not None else (None, {})
    outer_img = np.full((n, k), np.nan) if cached_outer is None else cached_outer
    inner_img: dict[int, np.ndarray] = dict(cached_inner)
    fold_rows = []
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(n), y))
    for f, (tr, ev) in enumerate(tqdm(splits, desc="nested CV (outer folds)", disable=not progress)):
        tr_t, tr_i = tr[has_txt[tr]], tr[has_img[tr]]
        ev_t, ev_i = ev[has_txt[ev]], ev[has_img[ev]]
        # inner out-of-fold scores → temperatures and the fusion weight, chosen without the outer fold
        z_t = _oof(text_fp, tr_t, y, k, inner_folds, seed)
        T_t = fit_temperature(z_t, y[tr_t])
        if f not in inner_img:
            inner_img[f] = _oof(image_fp, tr_i, y, k, inner_folds, seed)
        T_i = fit_temperature(inner_img[f], y[tr_i])
        oof_t, oof_i = np.full((len(tr), k), np.nan), np.full((len(tr), k), np.nan)
        pos = {r: j for j, r in enumerate(tr)}
        oof_t[[pos[r] for r in tr_t]] = apply_temperature(z_t, T_t)
        oof_i[[pos[r] for r in tr_i]] = apply_temperature(inner_img[f], T_i)
        search = search_alpha(oof_i, oof_t, y[tr], grid=alpha_grid, metric=metric,
                              image_present=has_img[tr], text_present=has_txt[tr])
        # refit on the whole outer training part, predict the outer fold
        if len(ev_t):
            p_text[ev_t] = apply_temperature(text_fp(tr_t, ev_t), T_t)
        p_text[ev[~has_txt[ev]]] = 1.0 / k
        if cached_outer is None and len(ev_i):
            outer_img[ev_i] = image_fp(tr_i, ev_i)
        if len(ev_i):
            p_image[ev_i] = apply_temperature(outer_img[ev_i], T_i)
        p_fusion[ev] = fuse(p_image[ev], p_text[ev], search.alpha, has_img[ev], has_txt[ev])
        fold_rows.append({"fold": f + 1, "n_train": len(tr), "n_eval": len(ev), "alpha": search.alpha,
                          "T_text": T_t, "T_image": T_i,
                          "inner_oof_fusion_" + metric: float(search.curve.set_index("alpha").loc[search.alpha, metric]),
                          "text_weighted_f1": scores(y[ev], p_text[ev].argmax(1))["weighted_f1"],
                          "image_weighted_f1": (scores(y[ev_i], p_image[ev_i].argmax(1))["weighted_f1"]
                                                if len(ev_i) else float("nan")),
                          "fusion_weighted_f1": scores(y[ev], p_fusion[ev].argmax(1))["weighted_f1"]})
    clf = template.steps[-1][1] if hasattr(template, "steps") else template
    settings = {"folds": folds, "inner_folds": inner_folds, "text_model": type(clf).__name__,
                "C": getattr(clf, "C", None),
                "image_model": image_model, "metric": metric, "seed": seed, "image_scores": (outer_img, inner_img)}
    return NestedFusionCV(y, list(classes), p_text, p_image, p_fusion, has_txt, has_img, pd.DataFrame(fold_rows),
                          time.perf_counter() - t0, settings)


def listing_features(splits: dict[str, pd.DataFrame], classes: Sequence[str], backbone: str, input_size: int | None,
                     batch_size: int = 32, framing: str = "letterbox", tta_flip: bool = False
                     ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, object]:
    """All listings (train, val, test stacked) with their backbone features, read from notebook 05's cache.

    The photo list is built exactly as notebook 05 builds it (`feature_paths`), so the cache key matches and
    nothing is recomputed when 05 ran with the same backbone, input size, framing (letterbox by default: padded
    to a square on white, not centre-cropped) and flip TTA.

    Returns:
        (listings, features (n, d) with zero rows where there is no photo, has-photo mask, the FeatureSet).
    """
    from lib.vision.features import extract_features
    from lib.vision.study import feature_paths, image_split

    order = ("train", "val", "test")
    img = {name: image_split(splits[name], classes) for name in order}
    fs = extract_features(feature_paths(img), backbone, input_size, batch_size=batch_size, framing=framing,
                          tta_flip=tta_flip)
    df = pd.concat([splits[name] for name in order], ignore_index=True)
    row = {i: j for j, i in enumerate(i for name in order for i in img[name].ids)}
    has = df["id"].astype(str).map(row).notna().to_numpy() if row else np.zeros(len(df), bool)
    X = np.zeros((len(df), fs.features.shape[1]), dtype=np.float32)
    X[has] = fs.features[[row[i] for i in df["id"].astype(str)[has]]]
    has &= np.isfinite(X).all(1)
    return df, X, has, fs


def error_overlap(cv: NestedFusionCV, confident: float = 0.9) -> dict[str, int]:
    """How complementary the two modalities are: of the text model's errors, how many the image gets right.

    The fusion can only fix a text error where the image is right; where the text is also confidently
    wrong (max probability ≥ `confident`) a small image weight cannot overturn it.
    """
    text_wrong = cv.p_text.argmax(1) != cv.y
    img_right = cv.image_present & (np.nan_to_num(cv.p_image).argmax(1) == cv.y)
    sure = cv.p_text.max(1) >= confident
    return {"text_errors": int(text_wrong.sum()), "image_right_on_them": int((text_wrong & img_right).sum()),
            f"of_which_text_confident_{confident:g}": int((text_wrong & img_right & sure).sum()),
            "fusion_errors": int((cv.p_fusion.argmax(1) != cv.y).sum())}


def best_single_modality(cv: NestedFusionCV) -> str:
    """"text" or "image": the single modality with the higher pooled weighted F1 (the fusion's bar)."""
    s = cv.summary().set_index("model")["weighted_f1"]
    return "text" if s["text"] >= s["image"] else "image"


def paired_gain(cv: NestedFusionCV, reference: str = "text", n_boot: int = 1000, seed: int = 42) -> dict[str, float]:
    """Weighted-F1 gain fusion − `reference` over all listings, with a 95 % paired bootstrap interval."""
    from lib.evaluation.paired import compare_paired

    ref = {"text": cv.p_text, "image": np.nan_to_num(cv.p_image)}[reference].argmax(1)
    fused = cv.p_fusion.argmax(1)
    return compare_paired(cv.y, ref, fused, n_boot=n_boot, seed=seed)


def truncate_words(texts: Sequence[str], n_words: int) -> list[str]:
    """The first `n_words` words of each text (a weaker text signal for the ablation)."""
    return [" ".join(str(t or "").split()[:n_words]) for t in texts]


def text_variants(df: pd.DataFrame, specs: Sequence[str]) -> dict[str, list[str]]:
    """Texts for the ablation from short specs.

    "full" = designation + description (the text model's input), "designation" = the title alone,
    "designation:N" = its first N words.

    Raises:
        ValueError: an unknown spec (names the accepted forms).
    """
    out: dict[str, list[str]] = {}
    for spec in specs:
        name, _, n = str(spec).partition(":")
        if name == "full" and not n:
            out["designation + description"] = df["text"].fillna("").tolist()
        elif name == "designation" and not n:
            out["designation only"] = df["designation"].fillna("").tolist()
        elif name == "designation" and n.isdigit() and int(n) > 0:
            out[f"first {int(n)} words of the designation"] = truncate_words(df["designation"], int(n))
        else:
            raise ValueError(f"unknown text variant {spec!r}: use 'full', 'designation' or 'designation:N' (N > 0)")
    if not out:
        raise ValueError("no text variant given")
    return out


def text_strength_ablation(variants: dict[str, Sequence[str]], X_image: np.ndarray, y: Sequence[int],
                           classes: Sequence[str], image_present: Sequence[bool] | None = None,
                           progress: bool = True, **kwargs: object) -> tuple[pd.DataFrame, dict[str, NestedFusionCV]]:
    """`nested_fusion_cv` for each text variant (same folds, the image side fitted once and reused).

    Returns:
        A table (variant, text / image / fusion weighted F1 over all listings, the best single modality, the
        fusion's gain over it with a 95 % paired bootstrap interval, rows fixed/broken, mean `a` chosen) and
        the per-variant results.
    """
    rows, results, image_scores = [], {}, None
    for name, texts in variants.items():
        cv = nested_fusion_cv(texts, X_image, y, classes, image_present=image_present, progress=progress,
                              image_scores=image_scores, **kwargs)
        image_scores = cv.settings["image_scores"]
        s = cv.summary().set_index("model")
        best = best_single_modality(cv)
        g = paired_gain(cv, best, seed=int(kwargs.get("seed", 42)))
        rows.append({"text variant": name, "text_weighted_f1": s.loc["text", "weighted_f1"],
                     "image_weighted_f1": s.loc["image", "weighted_f1"],
                     "fusion_weighted_f1": s.loc["fusion", "weighted_f1"], "best_single": best,
                     "gain_over_best_single": g["gain"], "gain_ci_low": g["ci_low"], "gain_ci_high": g["ci_high"],
                     "rows_fixed": g["fixed"], "rows_broken": g["broken"],
                     "mean_alpha": float(cv.folds["alpha"].mean()), "seconds": round(cv.seconds, 1)})
        results[name] = cv
    return pd.DataFrame(rows), results


def plot_ablation(table: pd.DataFrame, title: str = "Fusion gain against the strength of the text"):
    """Left: weighted F1 of text / image / fusion per text variant; right: the gain with its 95 % interval."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 0.6 * len(table) + 2.5))
    yv = np.arange(len(table))
    for off, (col, lab) in zip((-0.27, 0, 0.27), (("text_weighted_f1", "text"), ("image_weighted_f1", "image"),
                                                   ("fusion_weighted_f1", "fusion"))):
        axes[0].barh(yv + off, table[col], 0.26, label=lab)
    axes[0].set_yticks(yv, table["text variant"])
    lo = max(0.0, float(table[["text_weighted_f1", "image_weighted_f1", "fusion_weighted_f1"]].min().min()) - 0.05)
    axes[0].set(xlabel="weighted F1, all listings, nested CV (0–1)", ylabel="text given to the text model",
                title=title, xlim=(lo, 1.0))
    axes[0].legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)
    g = table["gain_over_best_single"]
    err = np.vstack([g - table["gain_ci_low"], table["gain_ci_high"] - g])
    axes[1].errorbar(g, yv, xerr=err, fmt="o", capsize=4)
    axes[1].axvline(0, color="black", lw=0.8)
    axes[1].set_yticks(yv, [""] * len(table))
    axes[1].set(xlabel="fusion − best single modality, weighted F1 (95 % paired bootstrap)",
                title="gain of the fusion")
    fig.tight_layout()
    return fig


def plot_cv_alpha_curve(curve: pd.DataFrame, chosen: Sequence[float], title: str = "Fusion on every listing"):
    """Pooled weighted F1 against a fixed `a` (hindsight), with the `a` each outer fold chose marked."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(curve["alpha"], curve["weighted_f1"], "-o", ms=3, label="fusion with a fixed a (hindsight)")
    ax.axhline(curve.iloc[0]["weighted_f1"], color="#72b7b2", ls=":", label="text alone (a = 0)")
    for i, a in enumerate(chosen):
        ax.axvline(a, color="grey", ls="--", lw=0.8, label="a chosen per outer fold (inner CV)" if i == 0 else None)
    ax.set(xlabel="a, weight of the image probabilities", ylabel="weighted F1, all listings (0–1)", title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def early_fusion_inputs(E_text: np.ndarray, X_image: np.ndarray, image_present: Sequence[bool]) -> np.ndarray:
    """One row per listing: [text embedding | image features | has-photo flag].

    A listing without a photo gets zeros in the image block and a 0 flag, so the classifier can learn that
    the block carries nothing there (after standardisation the zeros are not "an average photo").
    """
    has = np.asarray(image_present, bool)
    X_img = np.where(has[:, None], np.nan_to_num(np.asarray(X_image, dtype=np.float32)), 0.0)
    return np.hstack([np.asarray(E_text, dtype=np.float32), X_img, has[:, None].astype(np.float32)])


def early_fusion_cv(E_text: np.ndarray, X_image: np.ndarray, image_present: Sequence[bool], y: Sequence[int], k: int,
                    Cs: Sequence[float] = (0.01, 0.03, 0.1), folds: int = 5, inner_folds: int = 5, seed: int = 42,
                    progress: bool = True):
    """Early fusion on every listing: one logistic regression on the concatenated text embedding and image
    features, C chosen per outer fold on inner folds (`nested_select_cv`, the same outer folds as
    `nested_fusion_cv` for the same y, K and seed, so the two fusions are paired row by row)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from lib.ensemble.vote_cv import nested_select_cv, proba_member

    X = early_fusion_inputs(E_text, X_image, image_present)
    y = np.asarray(y, dtype=int)
    cands = {f"C={C:g}": proba_member(
        lambda C=C: make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=3000, class_weight="balanced",
                                                                       random_state=seed)), X, y, k)
        for C in Cs}
    return nested_select_cv(cands, y, k, folds, inner_folds, seed, progress, desc="early fusion (outer folds)")


def image_side_representation(meta: dict) -> tuple[str, int, str, bool]:
    """The features the nested CV's image side uses: those of the vote's most weighted feature member.

    `meta` is notebook 05's saved `meta.json`. The weight was chosen on validation; a vote saved before members
    had their own representation gives its single feature backbone (centre crop when framing was not recorded).
    """
    specs = meta.get("member_specs") or {}
    weights = dict(zip(meta["vote"]["members"], meta["vote"]["weights"]))
    if specs:
        name = max(specs, key=lambda m: (weights.get(m, 0.0), -list(specs).index(m)))
        s = specs[name]
        return s["backbone"], int(s["input_size"]), s.get("framing", "letterbox"), bool(s.get("flip", False))
    return (meta["feature_backbone"], int(meta["feature_input_size"]), meta.get("feature_framing", "center_crop"),
            bool(meta.get("feature_tta_flip", False)))


def embedding_text_cv(E_text: np.ndarray, y: Sequence[int], k: int, Cs: Sequence[float] = (3.0, 30.0),
                      folds: int = 5, inner_folds: int = 5, seed: int = 42, progress: bool = True):
    """The frozen-encoder text model (notebook 04's `EmbeddingHead`) on every listing, C chosen per outer fold
    on inner folds; the same outer folds as `nested_fusion_cv` and `early_fusion_cv`."""
    from lib.ensemble.vote_cv import nested_select_cv, proba_member
    from lib.products.text_embed import EmbeddingHead

    y = np.asarray(y, dtype=int)
    cands = {f"C={c:g}": proba_member(lambda c=c: EmbeddingHead(c, seed, k), E_text, y, k) for c in Cs}
    return nested_select_cv(cands, y, k, folds, inner_folds, seed, progress, desc="e5 text (outer folds)")


def pooled_scores(preds: dict[str, np.ndarray], y: Sequence[int], k: int) -> pd.DataFrame:
    """One row per model: accuracy, weighted F1 and macro F1 (over all `k` classes) of its argmax on every row."""
    return pd.DataFrame([{"model": m, **scores(y, np.asarray(p).argmax(1), labels=range(k))} for m, p in preds.items()])
