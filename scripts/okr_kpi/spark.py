"""Compatibility: the Spark code lives in okr_kpi.adapters.spark (the Spark adapter)."""

from okr_kpi.adapters.spark import (  # noqa: F401
    SPARK_TYPES,
    SparkWarehouse,
    local_paths,
    local_session,
    quote_spark,
    release_local_session,
)
