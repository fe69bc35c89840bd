"""One local Spark session for all Spark tests (JVM start-up is the slow part), and a tiny demo image set."""
from __future__ import annotations

from pathlib import Path

import pytest

from lib.fruits.demo import generate_demo_fruits


@pytest.fixture(scope="session")
def spark():
    """local[2], UI off, quiet; stopped at the end of the session."""
    from lib.spark.session import SparkSettings, get_spark

    session = get_spark(SparkSettings(master="local[2]", app_name="casebook-tests", driver_memory="2g",
                                      shuffle_partitions=2, arrow_batch_size=16))
    yield session
    session.stop()


@pytest.fixture(scope="session")
def tiny_fruits(tmp_path_factory) -> Path:
    """3 classes × (4 train + 2 test) synthetic images, plus one truncated JPEG in Training/."""
    root = tmp_path_factory.mktemp("fruits") / "demo"
    return generate_demo_fruits(root, n_classes=3, n_train=4, n_test=2, size=100, seed=7, n_corrupt=1)
