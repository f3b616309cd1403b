"""The old scripting API (session_registry.compat), in process and as an old
script runs it: a file executed by a new interpreter, bound by PG* variables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import psycopg
import pytest

import session_registry
from session_registry import Registry, SessionNotFound, compat

OLD_SCRIPT = Path(__file__).with_name("old_gateway_script.py")


@pytest.fixture
def bound(dsn: str) -> Iterator[Registry]:
    reg = compat.configure(dsn)
    try:
        yield reg
    finally:
        compat.configure(dsn)  # closes the connection it made


def test_the_old_names_exist() -> None:
    for n in ["get_session_user", "get_session_info", "open_clientless_session", "close_clientless_session",
              "get_user_context", "set_user_context", "SessionNotFoundException", "ClientlessSession",
              "UserContext"]:
        assert n in compat.__all__ and hasattr(compat, n)
    assert compat.SessionNotFoundException is SessionNotFound


def test_calls(bound: Registry, name: str) -> None:
    sid = compat.open_clientless_session(name)
    assert compat.get_session_user(sid) == name
    record = compat.get_session_info(sid)
    assert record.getUser() == name and record.getEndTime() is None and record.getReason() is None
    assert record.getSessionUUID() == bound.get(sid).uuid
    assert record.getStartTime() <= record.getTimeStamp()
    assert compat.close_clientless_session(sid) is True
    ended = compat.get_session_info(sid)
    assert ended.getReason() == "closed" and ended.getEndTime() is not None
    with pytest.raises(compat.SessionNotFoundException):
        compat.get_session_user(9_000_000_000)
    with pytest.raises(compat.SessionNotFoundException):
        compat.get_session_info(9_000_000_000)
    with pytest.raises(compat.SessionNotFoundException):
        compat.close_clientless_session(9_000_000_000)


def test_context_managers(bound: Registry, name: str) -> None:
    assert compat.get_user_context() is None
    assert compat.set_user_context("outer" + name) is None
    with compat.ClientlessSession(name) as session:
        assert isinstance(session.id, int) and session.getUser() == name
        assert compat.get_user_context() == name
        with compat.UserContext("inner" + name):
            assert compat.get_user_context() == "inner" + name
        assert bound.current_session_id() == session.id
    assert compat.get_user_context() == "outer" + name
    assert bound.get(session.id).end_reason == "closed"
    ctx = compat.UserContext(name)
    with pytest.raises(ZeroDivisionError):
        with ctx:
            1 / 0
    with ctx:  # reusable
        assert compat.get_user_context() == name
    assert compat.set_user_context(None) == "outer" + name


def test_bound_to_a_pool(dsn: str, name: str) -> None:
    from psycopg_pool import ConnectionPool

    with ConnectionPool(dsn, min_size=1, max_size=2) as pool:
        compat.configure(pool)
        try:
            with pytest.raises(psycopg.ProgrammingError):
                compat.set_user_context(name)  # nowhere to keep it outside a block
            with compat.UserContext(name):
                assert compat.get_user_context() == name
                with compat.connection() as conn:
                    assert conn.execute("SELECT session.get_user_context()").fetchone() == (name,)
                assert compat.set_user_context("other") == name  # inside a block it works
            assert compat.get_user_context() is None
        finally:
            compat.configure(dsn)


def test_configure_refuses_options_with_a_connection(conn: psycopg.Connection) -> None:
    with pytest.raises(TypeError):
        compat.configure(conn, autocommit=True)


def test_an_old_script_runs_after_changing_its_import(dbname: str, tmp_path: Path) -> None:
    env = dict(os.environ, PGDATABASE=dbname)
    package_dir = str(Path(session_registry.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_dir, env.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, str(OLD_SCRIPT)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "old script: all checks passed"
