"""The pandas UDF (broadcast weights, rebuilt per worker) gives the same vectors as direct torch inference."""
from __future__ import annotations

import numpy as np
import pytest

from lib.spark.featurize import (add_features, featurize_bytes, load_backbone_payload, make_featurizer,
                                 torch_threads_per_task)


def test_threads_per_task_never_oversubscribe():
    assert torch_threads_per_task(2, cpu_count=2) == 1
    assert torch_threads_per_task(2, cpu_count=8) == 4
    assert torch_threads_per_task(16, cpu_count=4) == 1


@pytest.fixture(scope="module")
def payload():
    return load_backbone_payload("efficientnet-lite0", input_size=64)


@pytest.mark.slow
def test_payload_is_a_1280d_feature_extractor(payload):
    spec, state, _ = payload
    assert spec.arch == "tf_efficientnet_lite0" and spec.feature_dim == 1280 and spec.input_size == 64
    assert not any(k.startswith("classifier") for k in state)


@pytest.mark.slow
def test_udf_matches_direct_torch(spark, tiny_fruits, payload):
    from lib.spark.images import read_images

    df = read_images(spark, tiny_fruits)  # includes the corrupt file: it must come out as a null vector
    fz = make_featurizer(spark, payload=payload, batch_size=4, torch_threads=1)
    rows = add_features(df, fz, n_partitions=2, keep_content=True).orderBy("path").collect()
    fz.destroy()
    contents = [bytes(r["content"]) for r in rows]
    direct = featurize_bytes(contents, payload=payload, batch_size=5, threads=1)
    corrupt = [i for i, r in enumerate(rows) if "corrupt_" in r["path"]]
    assert len(corrupt) == 1 and rows[corrupt[0]]["features"] is None and np.isnan(direct[corrupt[0]]).all()
    ok = [i for i in range(len(rows)) if i not in corrupt]
    udf = np.stack([rows[i]["features"].toArray() for i in ok])
    assert udf.shape == (18, 1280)
    np.testing.assert_allclose(udf, direct[ok], rtol=1e-4, atol=1e-4)
    # Real features: different classes give different vectors, and they are not all zero.
    assert np.abs(udf).mean() > 0.01 and np.std(udf, axis=0).mean() > 1e-3
