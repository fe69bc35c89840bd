"""Spark PCA: output shape, the slice of a wide fit equals a k-component fit, Parquet round trip, classifier."""
from __future__ import annotations

import numpy as np
import pytest

from lib.spark.pca import collect_table, evaluate_classifier, fit_pca, write_parquet


@pytest.fixture(scope="module")
def vectors_df(spark):
    from pyspark.ml.linalg import Vectors

    rng = np.random.default_rng(0)
    # 60 rows, 12-d, variance concentrated in 3 directions; labels from the first direction.
    basis = rng.normal(size=(3, 12))
    z = rng.normal(size=(60, 3)) * np.array([5.0, 2.0, 1.0])
    x = z @ basis + 0.05 * rng.normal(size=(60, 12))
    rows = [(f"file:/d/{'Training' if i < 40 else 'Test'}/{'a' if z[i, 0] > 0 else 'b'}/{i}.jpg",
             "Training" if i < 40 else "Test", "a" if z[i, 0] > 0 else "b", Vectors.dense(x[i])) for i in range(60)]
    return spark.createDataFrame(rows, ["path", "split", "label", "features"])


@pytest.mark.slow
def test_pca_shape_variance_and_slice(vectors_df):
    from pyspark.ml.feature import PCA

    res = fit_pca(vectors_df, k=3, curve_k=10)
    assert len(res.explained_variance) == 10
    assert np.all(np.diff(res.explained_variance) <= 1e-12) and res.explained_variance.sum() <= 1 + 1e-9
    assert res.cumulative_at_k > 0.98  # three directions hold almost all the variance
    meta, arrays = collect_table(res.transform(vectors_df))
    assert arrays["pca_features"].shape == (60, 3) and arrays["features"].shape == (60, 12)
    direct = PCA(k=3, inputCol="features", outputCol="p").fit(vectors_df).transform(vectors_df)
    ref = np.stack([r["p"].toArray() for r in direct.select("p").collect()])
    np.testing.assert_allclose(np.abs(arrays["pca_features"]), np.abs(ref), rtol=1e-6, atol=1e-8)
    with pytest.raises(ValueError):
        fit_pca(vectors_df, k=13)


@pytest.mark.slow
def test_parquet_round_trip(vectors_df, tmp_path):
    res = fit_pca(vectors_df, k=2, curve_k=0)
    out = res.transform(vectors_df)
    target = write_parquet(out, str(tmp_path / "features.parquet"))
    back = out.sparkSession.read.parquet(target)
    assert back.columns == ["path", "split", "label", "features", "pca_features"]
    m1, a1 = collect_table(out.orderBy("path"))
    m2, a2 = collect_table(back.orderBy("path"))
    assert m1.equals(m2)
    np.testing.assert_array_equal(a1["features"], a2["features"])
    np.testing.assert_array_equal(a1["pca_features"], a2["pca_features"])


def test_classifier_scores_separable_data():
    rng = np.random.default_rng(1)
    x = np.vstack([rng.normal(0, 1, (50, 5)), rng.normal(3, 1, (50, 5))])
    y = np.array(["a"] * 50 + ["b"] * 50)
    idx = rng.permutation(100)
    res = evaluate_classifier(x[idx[:70]], y[idx[:70]], x[idx[70:]], y[idx[70:]], "toy")
    assert res["accuracy"] > 0.9 and res["n_features"] == 5 and len(res["predictions"]) == 30
    shuffled = evaluate_classifier(x[idx[:70]], rng.permutation(y[idx[:70]]), x[idx[70:]], y[idx[70:]], "noise")
    assert shuffled["accuracy"] < res["accuracy"]
