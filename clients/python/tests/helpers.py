"""Shared pieces of the thread tests."""

from __future__ import annotations

import threading
from contextlib import ExitStack
from typing import Callable, List, Optional, Set

from session_registry import Registry


def alternate_blocks(reg: Registry, me: str, rounds: int, start: int,
                     errors: List[str], backends: Set[int]) -> None:
    """Runs ``rounds`` blocks acting as ``me``, user_context and clientless_session in
    turn (beginning with the first when ``start`` is odd). Inside each, the context
    must be me's, before and after a statement; after each, a checkout of its own must
    see nobody's. Deviations go to ``errors``; the server backends used to ``backends``."""
    for i in range(rounds):
        with ExitStack() as stack:
            sid: Optional[int] = None
            if (i + start) % 2:
                stack.enter_context(reg.user_context(me))
            else:
                sid = stack.enter_context(reg.clientless_session(me)).id
            for _ in range(2):
                with reg.connection() as conn:
                    row = conn.execute("SELECT pg_backend_pid(), pg_sleep(0.001)").fetchone()
                assert row is not None
                backends.add(row[0])
                seen = (reg.get_user_context(), reg.current_session_id())
                if seen != (me, sid):
                    errors.append(f"{me} round {i}: saw {seen}")
        seen = (reg.get_user_context(), reg.current_session_id())
        if seen != (None, None):
            errors.append(f"{me} round {i} after the block: saw {seen}")


def run_threads(worker: Callable[[int], None], errors: List[str], count: int = 2) -> None:
    """Runs worker(0) ... worker(count - 1) in threads started together; an exception
    in a worker goes to ``errors``."""
    barrier = threading.Barrier(count)

    def run(n: int) -> None:
        try:
            barrier.wait()
            worker(n)
        except Exception as exc:  # reported through errors
            errors.append(f"thread {n}: {exc!r}")

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
