"""Suite-wide set-up: each pytest process (one per xdist worker) gets its own Great Expectations
context, so tests that run the checks in parallel never share gx/great_expectations.yml or its
stores (a test that wants a particular context sets OKR_KPI_GX_DIR itself)."""

from __future__ import annotations

import os
import sys

import pytest

# An xdist worker runs as `python -c ...`: its __main__ has neither __spec__ nor __file__, which
# pyspark's Spark Connect module (imported by great_expectations) takes for a doctest run without
# grpc, and it calls sys.exit(0) at import. Give the worker's __main__ a file name.
_main = sys.modules["__main__"]
if getattr(_main, "__spec__", None) is None and not hasattr(_main, "__file__"):
    _main.__file__ = "<pytest-xdist worker>"


# The modules that hold the Spark cluster longest, heaviest first (pytest --durations on this
# machine, docs/benchmarks.md "The Spark test modules"). `make test` distributes whole modules to
# the xdist workers in collection order as they become free (--dist loadfile): started first, the
# long cluster modules run while the other worker goes through the short ones, instead of one of
# them starting last and leaving a worker idle at the end (longest job first).
LONGEST_FIRST = (
    "test_spark_cluster.py", "test_checks_spark.py", "test_kpi_options.py", "test_okr_scoring.py",
    "test_kpi_aggregation.py", "test_segments_marts.py", "test_kpi_row_level.py", "test_report_cycles.py",
    "test_segments_breaches.py", "test_publish_spark.py", "test_spark_file_load.py",
)


def pytest_collection_modifyitems(session, config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order


@pytest.fixture(scope="session", autouse=True)
def _own_gx_context(tmp_path_factory):
    if "OKR_KPI_GX_DIR" not in os.environ:
        os.environ["OKR_KPI_GX_DIR"] = str(tmp_path_factory.mktemp("gx"))
    yield


@pytest.fixture(scope="session", autouse=True)
def _demo_project_deps():
    """`dbt deps` in examples/demo (the demo company's project), once per session."""
    from harness import ensure_demo_deps

    ensure_demo_deps()
    yield


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory, worker_id):
    """A local standalone Spark cluster (master, 2 one-core workers, Thrift server) for the whole
    test session, started the first time a test asks for it (only when Spark tests are selected)
    and torn down at the end with no process left. Sets OKR_KPI_SPARK_HOST/PORT, which the
    profile's target `cluster` reads (harness.target_env copies os.environ).

    Under pytest-xdist the workers share ONE cluster (in the session's common base temp dir):
    the first to need it starts it under a file lock, each registers itself, and the last one
    to leave stops it (a worker that comes later starts it again)."""
    import fcntl

    from harness import require_target

    require_target("spark")  # Java + pyspark (skip, or fail under CI=true)
    from okr_kpi.spark_cluster import HOST, Cluster

    root = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        root = root.parent  # common to every xdist worker of this session
    home = root / "spark_cluster"
    home.mkdir(parents=True, exist_ok=True)
    users = home / "users"
    users.mkdir(exist_ok=True)
    with open(home / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            cluster = Cluster.load(home / "cluster")
            if not cluster._answers():
                raise RuntimeError("not answering")
        except Exception:
            cluster = Cluster(home / "cluster")
            cluster.start()
        (users / f"{worker_id}-{os.getpid()}").touch()
    old = {k: os.environ.get(k) for k in ("OKR_KPI_SPARK_HOST", "OKR_KPI_SPARK_PORT")}
    os.environ["OKR_KPI_SPARK_HOST"] = HOST
    os.environ["OKR_KPI_SPARK_PORT"] = str(cluster.thrift_port)
    try:
        yield cluster
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        with open(home / "lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            (users / f"{worker_id}-{os.getpid()}").unlink(missing_ok=True)
            if not any(users.iterdir()):
                Cluster.load(home / "cluster").stop()
