"""The session builder: master resolution, EMR detection, Arrow and runtime settings."""
from __future__ import annotations

import pytest

from lib.spark.session import get_spark, on_emr, resolve_master, spark_info, task_slots


def test_resolve_master_local_by_default(monkeypatch):
    monkeypatch.delenv("CASEBOOK_ON_EMR", raising=False)
    if on_emr():
        pytest.skip("running on an EMR node")
    assert resolve_master("auto") == "local[*]"
    assert resolve_master("local[3]") == "local[3]"


def test_resolve_master_yarn_on_emr(monkeypatch):
    monkeypatch.setenv("CASEBOOK_ON_EMR", "1")
    assert on_emr() and resolve_master("auto") == "yarn"


@pytest.mark.slow
def test_active_session_is_reused_with_new_runtime_settings(spark):
    again = get_spark(shuffle_partitions=3, arrow_batch_size=64)
    assert again is spark
    assert spark.conf.get("spark.sql.execution.arrow.pyspark.enabled") == "true"
    assert spark.conf.get("spark.sql.shuffle.partitions") == "3"
    assert spark.conf.get("spark.sql.execution.arrow.maxRecordsPerBatch") == "64"
    info = spark_info(spark)
    assert info["master"] == "local[2]" and task_slots(spark) == 2 and info["on_emr"] is False
    get_spark(shuffle_partitions=2, arrow_batch_size=16)  # restore the fixture's settings
