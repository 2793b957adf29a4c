"""Child processes of a run die with it.

dbt and Great Expectations run inside the `okr-kpi run` process (okr_kpi.dbt_invoke, issue 19);
the children left are dbt on Spark (a subprocess, see dbt_invoke.in_process), `Project.dbt` of
other commands, and the checks' worker when it is run as a process of its own. A `kill -9` of a
run (a scheduler's timeout, an operator) reaches only its own process. Left alone, a child dbt
would go on holding the warehouse, and the next run would find it taken (exit 50) until it
finishes. On Linux each child asks the kernel for a
SIGKILL when its parent dies (prctl PR_SET_PDEATHSIG); elsewhere a group kill (what schedulers
send) still reaches them.
"""

from __future__ import annotations

import os
import signal

_PR_SET_PDEATHSIG = 1


def _prctl():
    """libc's prctl, looked up once in the parent (the child between fork and exec imports and
    loads nothing); None where there is none."""
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (ImportError, OSError, AttributeError):
        return None
    return prctl


_PRCTL = _prctl() if os.name == "posix" else None


def die_with_parent() -> None:
    """preexec_fn of subprocess.Popen: runs in the child between fork and exec."""
    parent = os.getppid()
    if _PRCTL is None or _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def preexec() -> dict:
    """Keyword arguments for subprocess.Popen/run that tie the child to this process."""
    return {"preexec_fn": die_with_parent} if _PRCTL is not None else {}
