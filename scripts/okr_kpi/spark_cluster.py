"""A local standalone Spark cluster with a Thrift server, from the pyspark distribution.

    python -m okr_kpi.spark_cluster start  --dir /tmp/okr-cluster   # prints the Thrift port
    python -m okr_kpi.spark_cluster status --dir /tmp/okr-cluster
    python -m okr_kpi.spark_cluster stop   --dir /tmp/okr-cluster

What it starts (every process bound to 127.0.0.1, each in its own process group):

- a master (`bin/spark-class org.apache.spark.deploy.master.Master`),
- `workers` workers of one core each (`...deploy.worker.Worker`), each with its own work dir,
- a Thrift server (`bin/spark-submit --class ...HiveThriftServer2 spark-internal`) submitted to
  that master: the application dbt-spark's `method: thrift` and okr-kpi talk to. Its executors run
  on the workers; its Hive metastore (embedded Derby) and warehouse are in `dir`.

Ports are free ones picked at start; logs, pids and work dirs are under `dir`; the state
(ports, pids) is `dir/cluster.json`. `start` returns once the Thrift server answers a query
that runs on an executor. `stop` kills every process group it started (TERM, then KILL) and checks
that none is left. Nothing is sent to any address but 127.0.0.1.

Memory is kept modest (a 2-core, 24 GiB machine shared with other work): 256 MB per daemon,
1 GB for the Thrift server's driver, 768 MB per executor (one per worker).
The tests start one per test session (tests/python/conftest.py); docs/warehouses.md shows the demo.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
STATE = "cluster.json"
THRIFT_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"


class ClusterError(RuntimeError):
    pass


def spark_home() -> Path:
    """The pyspark package directory: its bin/ and jars/ are a Spark distribution."""
    if os.environ.get("SPARK_HOME"):
        return Path(os.environ["SPARK_HOME"])
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        return s.connect_ex((HOST, port)) == 0


def _alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of this process counts as gone
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().split()
        return stat[2] != "Z"
    except OSError:
        return False


def _group_members(pgid: int) -> list[int]:
    """Live processes of process group `pgid` (from /proc)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


@dataclass
class Cluster:
    dir: Path
    workers: int = 2
    master_port: int = 0
    thrift_port: int = 0
    pids: dict[str, int] = field(default_factory=dict)
    executor_memory: str = "768m"
    driver_memory: str = "1g"

    # --- paths --------------------------------------------------------------------------------
    @property
    def warehouse_dir(self) -> Path:
        return self.dir / "spark-warehouse"

    @property
    def metastore_dir(self) -> Path:
        return self.dir / "metastore_db"

    @property
    def log_dir(self) -> Path:
        return self.dir / "logs"

    @property
    def master_url(self) -> str:
        return f"spark://{HOST}:{self.master_port}"

    def log(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    # --- state -------------------------------------------------------------------------------
    def save(self) -> None:
        state = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}
        (self.dir / STATE).write_text(json.dumps(state, indent=2) + "\n")

    @classmethod
    def load(cls, directory: Path) -> Cluster:
        path = Path(directory) / STATE
        if not path.is_file():
            raise ClusterError(f"no cluster in {directory} (no {STATE})")
        state = json.loads(path.read_text())
        state["dir"] = Path(state["dir"])
        return cls(**state)

    # --- processes ---------------------------------------------------------------------------
    def env(self, name: str) -> dict[str, str]:
        env = dict(os.environ)
        for key in ("SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED", "PYSPARK_SUBMIT_ARGS", "SPARK_CONF_DIR"):
            env.pop(key, None)
        conf_dir = self.dir / "conf"
        env.update({
            "SPARK_HOME": str(spark_home()),
            "SPARK_LOCAL_IP": HOST,
            "SPARK_LOCAL_HOSTNAME": HOST,
            "SPARK_MASTER_HOST": HOST,
            "SPARK_CONF_DIR": str(conf_dir),
            "SPARK_LOG_DIR": str(self.log_dir),
            "SPARK_PID_DIR": str(self.dir / "pids"),
            "SPARK_WORKER_DIR": str(self.dir / "work" / name),
            # the daemons' heap; the launcher gives it to the Thrift server's driver too
            "SPARK_DAEMON_MEMORY": self.driver_memory if name == "thrift" else "256m",
            "SPARK_NO_DAEMONIZE": "1",
            "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false",
        })
        return env

    def _spawn(self, name: str, cmd: list[str], cwd: Path) -> int:
        cwd.mkdir(parents=True, exist_ok=True)
        with open(self.log(name), "ab") as out:
            proc = subprocess.Popen(cmd, cwd=cwd, env=self.env(name), stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        self.pids[name] = proc.pid
        (self.dir / "pids" / f"{name}.pid").write_text(f"{proc.pid}\n")
        self.save()
        return proc.pid

    def _wait_for(self, name: str, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            if not _alive(self.pids[name]):
                raise ClusterError(f"{name} exited before {what}; see {self.log(name)}:\n"
                                   + _tail(self.log(name)))
            time.sleep(1)
        raise ClusterError(f"{name}: no {what} after {timeout:.0f}s; see {self.log(name)}:\n"
                           + _tail(self.log(name)))

    def _write_conf(self) -> None:
        conf = self.dir / "conf"
        conf.mkdir(parents=True, exist_ok=True)
        # Quiet, file-only logging (the processes' output goes to logs/<name>.log).
        (conf / "log4j2.properties").write_text(
            "rootLogger.level = warn\nrootLogger.appenderRef.stdout.ref = console\n"
            "appender.console.type = Console\nappender.console.name = console\n"
            "appender.console.target = SYSTEM_ERR\nappender.console.layout.type = PatternLayout\n"
            "appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n\n"
            "logger.thrift.name = org.apache.spark.sql.hive.thriftserver\nlogger.thrift.level = info\n"
            "logger.master.name = org.apache.spark.deploy\nlogger.master.level = info\n")
        (conf / "spark-defaults.conf").write_text(
            f"spark.driver.host {HOST}\nspark.driver.bindAddress {HOST}\nspark.ui.enabled false\n"
            "spark.ui.showConsoleProgress false\n")

    def start(self, timeout: float = 300) -> Cluster:
        """Start master, workers and Thrift server; return when a query runs on an executor."""
        self.dir.mkdir(parents=True, exist_ok=True)
        for sub in ("logs", "pids", "work"):
            (self.dir / sub).mkdir(exist_ok=True)
        if (self.dir / STATE).is_file():
            old = Cluster.load(self.dir)
            if old.running():
                raise ClusterError(f"a cluster is already running in {self.dir} (stop it first)")
        self._write_conf()
        home = spark_home()
        spark_class = str(home / "bin" / "spark-class")
        try:
            self.master_port = free_port()
            self._spawn("master", [spark_class, "org.apache.spark.deploy.master.Master", "--host", HOST,
                                   "--port", str(self.master_port), "--webui-port", str(free_port())],
                        self.dir / "work" / "master")
            self._wait_for("master", lambda: _port_open(self.master_port), 120, "master port")
            for i in range(1, self.workers + 1):
                name = f"worker{i}"
                work = self.dir / "work" / name
                self._spawn(name, [spark_class, "org.apache.spark.deploy.worker.Worker", "--host", HOST,
                                   "--port", str(free_port()), "--webui-port", str(free_port()),
                                   "--cores", "1", "--memory", "1g", "--work-dir", str(work),
                                   self.master_url], work)
            deadline = time.monotonic() + 120
            while self._registered_workers() < self.workers:
                if time.monotonic() > deadline:
                    raise ClusterError(f"only {self._registered_workers()} of {self.workers} workers "
                                       f"registered with the master; see {self.log_dir}")
                for i in range(1, self.workers + 1):
                    if not _alive(self.pids[f"worker{i}"]):
                        raise ClusterError(f"worker{i} exited; see {self.log(f'worker{i}')}:\n"
                                           + _tail(self.log(f"worker{i}")))
                time.sleep(1)
            self.start_thrift(timeout=timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _registered_workers(self) -> int:
        text = self.log("master").read_text(errors="replace") if self.log("master").exists() else ""
        return text.count("Registering worker")

    def start_thrift(self, timeout: float = 300) -> None:
        """(Re)start the Thrift server application on the running master (same port, metastore)."""
        if not self.thrift_port:
            self.thrift_port = free_port()
        metastore = self.metastore_dir
        derby_log = self.log_dir / "derby.log"
        cmd = [
            str(spark_home() / "bin" / "spark-submit"), "--class", THRIFT_CLASS,
            "--master", self.master_url, "--name", "okr-kpi-thrift",
            "--driver-memory", self.driver_memory, "--executor-memory", self.executor_memory,
            "--total-executor-cores", str(self.workers),
            "--conf", f"spark.driver.host={HOST}", "--conf", f"spark.driver.bindAddress={HOST}",
            "--conf", f"spark.driver.extraJavaOptions=-Dderby.stream.error.file={derby_log}",
            "--conf", "spark.ui.enabled=false",
            "--conf", f"spark.sql.warehouse.dir={self.warehouse_dir}",
            "--conf",
            f"spark.hadoop.javax.jdo.option.ConnectionURL=jdbc:derby:;databaseName={metastore};create=true",
            "--conf", "spark.sql.catalogImplementation=hive",
            "--conf", "spark.sql.session.timeZone=UTC",
            "--conf", "spark.sql.ansi.enabled=false",
            "--conf", "spark.sql.shuffle.partitions=4",
            "--conf", f"spark.local.dir={self.dir / 'work' / 'thrift-tmp'}",
            "--hiveconf", f"hive.server2.thrift.port={self.thrift_port}",
            "--hiveconf", f"hive.server2.thrift.bind.host={HOST}",
            "--hiveconf", "hive.server2.transport.mode=binary",
            "spark-internal",
        ]
        self._spawn("thrift", cmd, self.dir / "work" / "thrift")
        self._wait_for("thrift", self._answers, timeout, "answer to a query on the Thrift port")

    def stop_thrift(self) -> None:
        pid = self.pids.pop("thrift", None)
        if pid:
            _kill_group(pid)
        self.save()

    def _answers(self) -> bool:
        """True once the Thrift server runs a query on an executor (a job with a shuffle)."""
        if not _port_open(self.thrift_port):
            return False
        try:
            rows = thrift_query(self.thrift_port, "select count(distinct id % 7) from range(0, 1000, 1, 4)")
        except Exception:
            return False
        return rows == [(7,)]

    def running(self) -> dict[str, bool]:
        return {name: _alive(pid) for name, pid in self.pids.items() if _alive(pid)}

    def status(self) -> dict:
        return {"dir": str(self.dir), "master": self.master_url, "thrift_host": HOST,
                "thrift_port": self.thrift_port,
                "processes": {name: {"pid": pid, "alive": _alive(pid)} for name, pid in self.pids.items()},
                "answers": bool(self.thrift_port) and self._answers()}

    def stop(self) -> None:
        """Kill every process group started here (Thrift server first); verify none is left."""
        order = ["thrift"] + sorted(n for n in self.pids if n.startswith("worker")) + ["master"]
        for name in order + [n for n in self.pids if n not in order]:
            pid = self.pids.get(name)
            if pid:
                _kill_group(pid)
        left = {name: pid for name, pid in self.pids.items() if _alive(pid) or _group_members(pid)}
        if left:
            raise ClusterError(f"processes left after stop: {left}")
        self.pids = {}
        if self.dir.is_dir():
            self.save()


def _kill_group(pgid: int, grace: float = 20) -> None:
    """TERM the process group, KILL it after `grace` seconds; reap our own child."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and (_alive(pgid) or _group_members(pgid)):
        time.sleep(0.3)
    if _alive(pgid) or _group_members(pgid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (_alive(pgid) or _group_members(pgid)):
            time.sleep(0.2)
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pgid, os.WNOHANG)


def thrift_query(port: int, sql: str, host: str = HOST) -> list[tuple]:
    from pyhive import hive

    con = hive.connect(host=host, port=port, username="okr")
    try:
        cur = con.cursor()
        cur.execute(sql)
        return [tuple(r) for r in cur.fetchall()]
    finally:
        from okr_kpi.adapters.spark import close_thrift

        close_thrift(con)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m okr_kpi.spark_cluster",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["start", "stop", "status", "restart-thrift"])
    parser.add_argument("--dir", required=True, type=Path, help="state, logs, metastore and warehouse")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    directory = args.dir.resolve()
    try:
        if args.action == "start":
            cluster = Cluster(directory, workers=args.workers).start()
            print(f"Spark cluster up: master {cluster.master_url}, "
                  f"Thrift server {HOST}:{cluster.thrift_port}")
            print(f"  export OKR_KPI_SPARK_HOST={HOST} OKR_KPI_SPARK_PORT={cluster.thrift_port}")
            return 0
        cluster = Cluster.load(directory)
        if args.action == "status":
            status = cluster.status()
            print(json.dumps(status, indent=2))
            return 0 if status["answers"] else 1
        if args.action == "restart-thrift":
            cluster.stop_thrift()
            cluster.start_thrift()
            print(f"Thrift server restarted on {HOST}:{cluster.thrift_port}")
            return 0
        cluster.stop()
        print(f"Spark cluster in {directory} stopped; no process left")
        return 0
    except ClusterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
