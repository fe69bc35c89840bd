"""One Spark session builder: `local[*]` on a laptop/CI, the cluster's own session on EMR (YARN).

Settings come from the notebook's parameters (driver memory, shuffle partitions, Arrow batch size).
Arrow is always on: the featurisation UDF exchanges image bytes and float vectors with Python via Arrow.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Files that exist only on EMR nodes (instance metadata written by the EMR instance controller).
EMR_MARKERS = ("/mnt/var/lib/info/job-flow.json", "/mnt/var/lib/info/instance.json",
               "/emr/instance-controller/lib/info/extraInstanceData.json")


def on_emr() -> bool:
    """Whether this process runs on an EMR node (or `CASEBOOK_ON_EMR=1` says so)."""
    if os.environ.get("CASEBOOK_ON_EMR", "") in ("1", "true"):
        return True
    return any(Path(p).exists() for p in EMR_MARKERS)


@dataclass(frozen=True)
class SparkSettings:
    """What a notebook may set about its Spark session."""

    master: str = "auto"  # "auto": the active/EMR session (YARN) when there is one, else local[*]
    app_name: str = "ml-casebook"
    driver_memory: str = "4g"
    shuffle_partitions: int = 8
    arrow_batch_size: int = 256  # rows per Arrow record batch handed to a pandas UDF
    log_level: str = "WARN"
    ui_enabled: bool = False
    extra: tuple[tuple[str, str], ...] = ()


def resolve_master(master: str = "auto") -> str:
    """"auto" → "yarn" on EMR, "local[*]" elsewhere; any explicit master is returned unchanged."""
    if master and master != "auto":
        return master
    return "yarn" if on_emr() else "local[*]"


def get_spark(settings: SparkSettings | None = None, **overrides: Any) -> Any:
    """Return a SparkSession: the already-active one (EMR notebooks, tests) or a new one.

    Args:
        settings: a `SparkSettings`; keyword overrides replace its fields (e.g. `driver_memory="6g"`).

    An active session (e.g. the one JupyterHub/Livy or `spark-submit` created on EMR) is reused and only
    its runtime SQL settings (shuffle partitions, Arrow) are updated: driver memory cannot change after start.
    """
    from pyspark.sql import SparkSession

    s = settings or SparkSettings()
    if overrides:
        s = SparkSettings(**{**s.__dict__, **overrides})
    runtime = {
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.execution.arrow.maxRecordsPerBatch": str(int(s.arrow_batch_size)),
        "spark.sql.shuffle.partitions": str(int(s.shuffle_partitions)),
    }
    active = SparkSession.getActiveSession()
    if active is not None:
        for key, value in runtime.items():
            active.conf.set(key, value)
        active.sparkContext.setLogLevel(s.log_level)
        return active
    master = resolve_master(s.master)
    if master.startswith("local"):
        # The Python workers must be this interpreter (the venv with torch and lib), not `python3` on PATH.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (SparkSession.builder.appName(s.app_name).master(master)
               .config("spark.driver.memory", s.driver_memory)
               .config("spark.ui.enabled", str(bool(s.ui_enabled)).lower())
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.python.worker.reuse", "true")  # keeps the lazily built model alive between tasks
               .config("spark.sql.session.timeZone", "UTC"))
    if master.startswith("local"):
        builder = builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
    for key, value in {**runtime, **dict(s.extra)}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(s.log_level)
    return spark


def task_slots(spark: Any) -> int:
    """How many tasks run at once per executor (local: the cores; cluster: `spark.executor.cores`)."""
    conf = spark.sparkContext.getConf()
    master = spark.sparkContext.master
    if master.startswith("local"):
        return int(spark.sparkContext.defaultParallelism)
    return int(conf.get("spark.executor.cores", "1"))


def spark_info(spark: Any) -> dict[str, Any]:
    """The session's facts worth recording in a report."""
    sc = spark.sparkContext
    return {"spark_version": spark.version, "master": sc.master, "default_parallelism": sc.defaultParallelism,
            "task_slots_per_executor": task_slots(spark), "on_emr": on_emr(),
            "shuffle_partitions": spark.conf.get("spark.sql.shuffle.partitions"),
            "arrow_batch_size": spark.conf.get("spark.sql.execution.arrow.maxRecordsPerBatch"),
            "driver_memory": sc.getConf().get("spark.driver.memory", "default")}
