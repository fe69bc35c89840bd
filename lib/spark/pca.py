"""PCA with `pyspark.ml.feature.PCA`, its explained-variance curve, Parquet output, and what the
reduced features are worth to a classifier (pyspark.ml LogisticRegression on PCA vs full features)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass
class PCAResult:
    """A fitted PCA model and its explained variance (ratios of the total variance)."""

    model: Any
    k: int
    explained_variance: np.ndarray  # per component, for the first `len(...)` components
    fit_s: float

    @property
    def cumulative_at_k(self) -> float:
        """Share of the total variance kept by the first k components."""
        return float(np.sum(self.explained_variance[: self.k]))


def fit_pca(df: Any, k: int = 50, input_col: str = "features", output_col: str = "pca_features",
            curve_k: int | None = None) -> PCAResult:
    """Fit `pyspark.ml.feature.PCA` with k components.

    Spark's `explainedVariance` is each component's share of the *total* variance, so the curve from a
    fit with `curve_k` ≥ k components also gives the cumulative share at every k' ≤ curve_k. The returned
    model is the k-component one (its components equal the curve fit's first k).

    Args:
        curve_k: components for the curve (default max(k, min(200, n_rows − 1, dim))); 0 → no separate fit.
    """
    from pyspark.ml.feature import PCA

    first = df.select(input_col).first()
    if first is None:
        raise ValueError("cannot fit PCA on an empty DataFrame")
    dim = int(first[input_col].size)
    n = df.count()
    if not 1 <= k <= dim:
        raise ValueError(f"k must be in 1..{dim} (the feature dimension), got {k}")
    t0 = time.perf_counter()
    model = PCA(k=k, inputCol=input_col, outputCol=output_col).fit(df)
    fit_s = time.perf_counter() - t0
    ev = np.asarray(model.explainedVariance.toArray())
    if curve_k is None:
        curve_k = max(k, min(200, n - 1, dim))
    if curve_k and curve_k > k:
        curve = PCA(k=min(curve_k, dim), inputCol=input_col, outputCol="_curve").fit(df)
        ev = np.asarray(curve.explainedVariance.toArray())
    return PCAResult(model=model, k=k, explained_variance=ev, fit_s=fit_s)


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


def vectors_to_numpy(df: Any, col: str) -> np.ndarray:
    """Collect an ML vector column to a dense float32 array (driver memory: rows × dim)."""
    rows = df.select(col).collect()
    return np.stack([r[col].toArray() for r in rows]).astype(np.float32) if rows else np.zeros((0, 0), np.float32)


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


def evaluate_classifier(train: Any, test: Any, features_col: str, label_col: str = "label",
                        reg_param: float = 0.01, max_iter: int = 100, seed: int = 42) -> dict[str, Any]:
    """Train a multinomial pyspark.ml LogisticRegression (standardised inputs) and score it on `test`.

    Returns:
        accuracy, macro_f1, fit_s, predict_s, n_features and the test predictions (pandas: label, prediction).
    """
    from pyspark.ml import Pipeline
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.evaluation import MulticlassClassificationEvaluator
    from pyspark.ml.feature import IndexToString, StandardScaler, StringIndexer

    indexer = StringIndexer(inputCol=label_col, outputCol="_y", stringOrderType="alphabetAsc", handleInvalid="keep")
    scaler = StandardScaler(inputCol=features_col, outputCol="_x", withMean=True, withStd=True)
    lr = LogisticRegression(featuresCol="_x", labelCol="_y", predictionCol="_pred", family="multinomial",
                            regParam=reg_param, elasticNetParam=0.0, maxIter=max_iter)
    t0 = time.perf_counter()
    model = Pipeline(stages=[indexer, scaler, lr]).fit(train.select(label_col, features_col))
    fit_s = time.perf_counter() - t0
    labels = model.stages[0].labels
    back = IndexToString(inputCol="_pred", outputCol="prediction", labels=labels)
    t0 = time.perf_counter()
    pred = back.transform(model.transform(test.select(label_col, features_col))).cache()
    acc = MulticlassClassificationEvaluator(labelCol="_y", predictionCol="_pred", metricName="accuracy").evaluate(pred)
    f1 = MulticlassClassificationEvaluator(labelCol="_y", predictionCol="_pred", metricName="f1").evaluate(pred)
    out = pred.select(label_col, "prediction").toPandas()
    predict_s = time.perf_counter() - t0
    pred.unpersist()
    dim = int(train.select(features_col).first()[features_col].size)
    return {"features": features_col, "n_features": dim, "accuracy": float(acc), "weighted_f1": float(f1),
            "fit_s": round(fit_s, 2), "predict_s": round(predict_s, 2), "predictions": out}


def write_parquet(df: Any, uri: str, columns: tuple[str, ...] = ("path", "split", "label", "features", "pca_features"),
                  mode: str = "overwrite") -> str:
    """Write the result table (path, label, features, pca_features...) as Parquet to a local path or s3://."""
    from lib.spark.images import as_uri

    target = as_uri(uri)
    df.select(*[c for c in columns if c in df.columns]).write.mode(mode).parquet(target)
    return target
