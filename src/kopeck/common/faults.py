"""Named fault points for crash tests. ``fault_point(name)`` does nothing unless the environment
variable ``KOPECK_FAULT`` names it (``name`` or ``name@N``: the N-th time this process passes
there, default the first); then the process kills itself with SIGKILL — no cleanup, no rollback
handler, no ``finally`` — exactly as if the machine lost it at that instant. Production never sets
the variable; the crash tests of billing runs do, in the worker processes they start."""

from __future__ import annotations

import os
import signal

_passes: dict[str, int] = {}


def fault_point(name: str) -> None:
    wanted = os.environ.get("KOPECK_FAULT")
    if not wanted:
        return
    target, _, nth = wanted.partition("@")
    if target != name:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
