"""PCA with `pyspark.ml.feature.PCA`, its explained-variance curve, Parquet output, and what the
reduced features are worth to a classifier (logistic regression on PCA vs full features)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass
class PCAResult:
    """A fitted Spark PCA and its explained variance (each component's share of the total variance)."""

    model: Any  # PCAModel with `n_fitted` ≥ k components
    k: int
    explained_variance: np.ndarray  # per component, for the `n_fitted` components
    fit_s: float
    input_col: str = "features"
    output_col: str = "pca_features"

    @property
    def cumulative_at_k(self) -> float:
        """Share of the total variance kept by the first k components."""
        return float(np.sum(self.explained_variance[: self.k]))

    def transform(self, df: Any) -> Any:
        """Add `output_col` = the first k principal coordinates."""
        from pyspark.ml.feature import VectorSlicer

        n_fitted = len(self.explained_variance)
        if n_fitted == self.k:
            return self.model.transform(df)
        # Components come sorted by eigenvalue: the first k of a wider fit are the k-component PCA.
        wide = self.model.copy({self.model.outputCol: "_pca_all"}).transform(df)
        sliced = VectorSlicer(inputCol="_pca_all", outputCol=self.output_col, indices=list(range(self.k)))
        return sliced.transform(wide).drop("_pca_all")


def fit_pca(df: Any, k: int = 50, input_col: str = "features", output_col: str = "pca_features",
            curve_k: int = 200, dim: int | None = None, n_rows: int | None = None) -> PCAResult:
    """Fit `pyspark.ml.feature.PCA` once with max(k, curve_k) components (capped by rows − 1 and dim).

    Spark's `explainedVariance` is each component's share of the *total* variance, so one wider fit gives
    both the curve and the cumulative share at k; `PCAResult.transform` keeps the first k coordinates.
    Note that Spark's PCA projects the raw (uncentred) vectors, as the original study did.

    Args:
        dim, n_rows: the feature dimension and row count when known (saves a Spark job each).
    """
    from pyspark.ml.feature import PCA

    if dim is None:
        first = df.select(input_col).first()
        if first is None:
            raise ValueError("cannot fit PCA on an empty DataFrame")
        dim = int(first[input_col].size)
    n_rows = int(n_rows if n_rows is not None else df.count())
    if not 1 <= k <= dim:
        raise ValueError(f"k must be in 1..{dim} (the feature dimension), got {k}")
    if n_rows < 2:
        raise ValueError(f"PCA needs at least 2 rows, got {n_rows}")
    n_fit = max(k, min(curve_k, n_rows - 1, dim))
    t0 = time.perf_counter()
    model = PCA(k=n_fit, inputCol=input_col, outputCol=output_col).fit(df)
    fit_s = time.perf_counter() - t0
    return PCAResult(model=model, k=k, explained_variance=np.asarray(model.explainedVariance.toArray()),
                     fit_s=fit_s, input_col=input_col, output_col=output_col)


def plot_explained_variance(result: PCAResult, title: str = "PCA explained variance", ax: Any = None) -> Any:
    """Per-component and cumulative explained variance, with the chosen k marked."""
    import matplotlib.pyplot as plt

    ev = result.explained_variance
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    comps = np.arange(1, len(ev) + 1)
    ax.bar(comps, ev * 100, color="#9ecae1", label="per component")
    ax.plot(comps, np.cumsum(ev) * 100, color="#08519c", label="cumulative")
    ax.axvline(result.k, color="#d62728", ls="--", lw=1)
    ax.annotate(f"k={result.k}: {result.cumulative_at_k:.1%}", (result.k, result.cumulative_at_k * 100),
                xytext=(8, -14), textcoords="offset points", color="#d62728")
    ax.set(xlabel="principal component (rank)", ylabel="explained variance (% of total)", title=title, ylim=(0, 100))
    ax.legend(loc="center right")
    return ax


def plot_projection_2d(pdf: pd.DataFrame, x: str = "pc1", y: str = "pc2", label: str = "label",
                       title: str = "First two principal components", ax: Any = None) -> Any:
    """Scatter of the first two PCA coordinates, one colour per class."""
    import matplotlib.pyplot as plt

    classes = sorted(pdf[label].unique())
    cmap = plt.get_cmap("tab20", max(20, len(classes)))
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 6.5))
    for i, c in enumerate(classes):
        part = pdf[pdf[label] == c]
        ax.scatter(part[x], part[y], s=10, alpha=0.75, color=cmap(i % cmap.N),
                   marker="os^Dv"[(i // 20) % 5], label=c)
    ax.set(xlabel="PC 1 (projection, feature units)", ylabel="PC 2 (projection, feature units)", title=title)
    ax.legend(fontsize=7, ncol=1 + len(classes) // 18, loc="center left", bbox_to_anchor=(1.01, 0.5), markerscale=1.5)
    return ax


def collect_table(df: Any, vector_cols: tuple[str, ...] = ("features", "pca_features"),
                  other_cols: tuple[str, ...] = ("path", "split", "label")) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Collect a (small enough) result table in one Spark job: metadata as pandas, vectors as float32 arrays."""
    rows = df.select(*other_cols, *vector_cols).collect()
    meta = pd.DataFrame([[r[c] for c in other_cols] for r in rows], columns=list(other_cols))
    arrays = {c: (np.stack([r[c].toArray() for r in rows]).astype(np.float32) if rows else np.zeros((0, 0), np.float32))
              for c in vector_cols}
    return meta, arrays


def evaluate_classifier(x_train: np.ndarray, y_train: Any, x_test: np.ndarray, y_test: Any, name: str = "",
                        c: float = 1.0, max_iter: int = 200, seed: int = 42) -> dict[str, Any]:
    """Standardise + multinomial logistic regression (sklearn, lbfgs); accuracy and macro-F1 on the test set.

    The vectors are small once featurised (n × 1,280 floats), so the classifier runs on the driver;
    at larger scale swap in `pyspark.ml.classification.LogisticRegression` on the Parquet table.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=max_iter, random_state=seed))
    t0 = time.perf_counter()
    clf.fit(x_train, np.asarray(y_train))
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = clf.predict(x_test)
    predict_s = time.perf_counter() - t0
    return {"features": name, "n_features": int(x_train.shape[1]),
            "accuracy": float(accuracy_score(y_test, pred)),
            "macro_f1": float(f1_score(y_test, pred, average="macro")),
            "fit_s": round(fit_s, 3), "predict_s": round(predict_s, 3), "predictions": pred}


def write_parquet(df: Any, uri: str, columns: tuple[str, ...] = ("path", "split", "label", "features", "pca_features"),
                  mode: str = "overwrite") -> str:
    """Write the result table (path, label, features, pca_features...) as Parquet to a local path or s3://."""
    from lib.spark.images import as_uri

    target = as_uri(uri)
    df.select(*[c for c in columns if c in df.columns]).write.mode(mode).parquet(target)
    return target
