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
