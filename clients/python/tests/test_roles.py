"""The client as an application uses it: a role with session_app and session_reader
only (no superuser), over a pool."""

from __future__ import annotations

from typing import Dict

import psycopg
import pytest

from session_registry import Registry, SessionNotFound


def test_an_application_role_over_a_pool(dsn: str, app_role: Dict[str, str], name: str) -> None:
    from psycopg_pool import ConnectionPool

    with ConnectionPool(dsn, min_size=1, max_size=2, kwargs=dict(app_role)) as pool:
        reg = Registry(pool)
        sid = reg.open(name, "P", address="10.9.9.9")
        assert reg.heartbeat(sid, 10, ["/x"]) is True
        assert [s.id for s in reg.list(name)] == [sid]
        with reg.clientless_session(name + "-job") as job:
            with reg.user_context(name):
                assert reg.get_user_context() == name
            assert (reg.get_user_context(), reg.current_session_id()) == (name + "-job", job.id)
        assert reg.get(job.id).end_reason == "closed"
        assert reg.get_session_info(name)[0].address == "10.9.9.9"
        with pytest.raises(SessionNotFound):
            reg.get_user(9_000_000_000)
        # what the role was not granted stays refused
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            reg.terminate(sid)
        assert reg.close(sid) is True


def test_events_for_a_reader(conn: psycopg.Connection, dsn: str, app_role: Dict[str, str],
                             name: str) -> None:
    with psycopg.connect(dsn, autocommit=True, user=app_role["user"], password=app_role["password"]) as reader:
        reg = Registry(reader)
        start = max([e.event_id for e in reg.events(0, timeout=0)], default=0)
        Registry(conn).open(name, "P")
        events = reg.events(start, timeout=10)
        got = next(e for e in events if e.username == name)
        events.close()  # stops listening
        assert got.event == "open"
        assert reader.execute("SELECT pg_listening_channels()").fetchall() == []
