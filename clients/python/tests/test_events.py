"""events(): session.events_since() woken up by LISTEN session_events."""

from __future__ import annotations

import threading
import time
from typing import List

import psycopg
import pytest

from session_registry import Event, Registry


def last_event_id(reg: Registry) -> int:
    ids = [e.event_id for e in reg.events(0, timeout=0)]
    return ids[-1] if ids else 0


def test_events_after_an_id_in_order(reg: Registry, name: str) -> None:
    start = last_event_id(reg)
    sid = reg.open(name, "P", node="gw-1")
    reg.set_user(sid, None)
    reg.close(sid)
    got = [e for e in reg.events(start, timeout=0) if e.id == sid]
    assert all(isinstance(e, Event) for e in got)
    assert [(e.event, e.reason) for e in got] == [("open", None), ("user", "logout"), ("close", "logout")]
    assert got[0].username == name and got[0].project == "P" and got[0].node == "gw-1"
    assert got[0].scope == "browser" and got[0].uuid == reg.get(sid).uuid
    assert got[0].event_time.tzinfo is not None
    ids = [e.event_id for e in got]
    assert ids == sorted(ids)
    # resuming after the last one processed gives only what came later
    assert [e for e in reg.events(ids[0], timeout=0) if e.id == sid][0].event == "user"


def test_events_in_small_batches(reg: Registry, name: str) -> None:
    start = last_event_id(reg)
    ids = [reg.open(name, "P") for _ in range(5)]
    got = [e.id for e in reg.events(start, max_rows=2, timeout=0) if e.id in ids]
    assert got == ids


def test_events_wake_up_on_commit(dsn: str, name: str) -> None:
    """The iterator sleeps until a commit of another connection wakes it up."""
    from psycopg_pool import ConnectionPool

    with ConnectionPool(dsn, min_size=1, max_size=2) as pool:
        reg = Registry(pool)
        start = last_event_id(reg)
        received: List[Event] = []

        def writer() -> None:
            time.sleep(0.5)
            with psycopg.connect(dsn, autocommit=True) as other:
                Registry(other).open(name, "P")

        t = threading.Thread(target=writer)
        t0 = time.monotonic()
        t.start()
        for event in reg.events(start, timeout=10, poll_interval=30):
            if event.username == name:
                received.append(event)
                break
        t.join()
        elapsed = time.monotonic() - t0
    assert [e.event for e in received] == ["open"]
    # woken by the notification, not by the 30 s poll nor the 10 s timeout
    assert elapsed < 8, elapsed


def test_events_need_autocommit_on_a_plain_connection(tx_conn: psycopg.Connection) -> None:
    with pytest.raises(psycopg.ProgrammingError):
        Registry(tx_conn).events()
