"""The shared behaviour cases of the old scripting API (compat_cases.py) against
session_registry.compat; clients/jython/tests/run_cases.py runs the same cases
against the Jython module."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, List, Optional, Tuple
from uuid import UUID

import psycopg
import pytest

from session_registry import compat

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compat_cases  # noqa: E402 - found next to this file

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class PoolView:
    """A psycopg pool, and what its connections hold."""

    def __init__(self, pool: Any, size: int):
        self.pool = pool
        self.size = size

    def states(self) -> List[Tuple[Optional[str], Optional[int]]]:
        conns = [self.pool.getconn() for _ in range(self.size)]
        try:
            return [
                c.execute("SELECT session.get_user_context(), session.current_session_id()").fetchone()
                for c in conns
            ]
        finally:
            for c in conns:
                c.rollback()
                self.pool.putconn(c)


class CPythonRuntime:
    api = compat
    text = str

    def __init__(self, dsn: str):
        self.dsn = dsn
        self.pools: List[Any] = []

    def bind(self, project: Optional[str] = None) -> None:
        compat.configure(self.dsn, project=project)

    def bind_pool(self, size: int) -> PoolView:
        from psycopg_pool import ConnectionPool

        pool = ConnectionPool(self.dsn, min_size=size, max_size=size, open=True)
        pool.wait()
        self.pools.append(pool)
        compat.configure(pool)
        return PoolView(pool, size)

    def value(self, query: str) -> Any:
        with compat.connection() as conn:
            row = conn.execute(query).fetchone()
            assert row is not None
            return row[0]

    def fails(self, query: str) -> None:
        with compat.connection() as conn:
            with pytest.raises(psycopg.Error):
                conn.execute(query)

    @staticmethod
    def is_time(value: Any) -> bool:
        return isinstance(value, datetime) and value.tzinfo is not None

    @staticmethod
    def micros(value: datetime) -> int:
        return (value - EPOCH) // (datetime.resolution)

    @staticmethod
    def is_uuid(value: Any) -> bool:
        return isinstance(value, UUID)

    def close(self) -> None:
        compat.configure(self.dsn)  # closes the connection it made
        for pool in self.pools:
            pool.close()


@pytest.fixture
def rt(dsn: str) -> Iterator[CPythonRuntime]:
    runtime = CPythonRuntime(dsn)
    try:
        yield runtime
    finally:
        runtime.close()


@pytest.mark.parametrize("case", compat_cases.CASES, ids=lambda c: c.__name__[len("test_"):])
def test_case(rt: CPythonRuntime, case: Callable[[CPythonRuntime], None]) -> None:
    case(rt)
