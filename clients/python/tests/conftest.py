"""Fixtures: a database of the run's own on the cluster named by the PG* variables.

The run creates ``session_pyclient_<pid>``, installs the extension there and drops
it at the end (the roles session_reader/app/admin are cluster-wide and stay).
PGUSER must be allowed to create databases and the extension.
"""

from __future__ import annotations

import os
import secrets
import uuid
from typing import Any, Dict, Iterator

import psycopg
import pytest
from psycopg import sql

from session_registry import Registry


@pytest.fixture(scope="session")
def dbname() -> Iterator[str]:
    name = f"session_pyclient_{os.getpid()}"
    with psycopg.connect(dbname="postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        with psycopg.connect(dbname=name, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION session")
        yield name
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def dsn(dbname: str) -> str:
    return psycopg.conninfo.make_conninfo("", dbname=dbname)


@pytest.fixture
def conn(dsn: str) -> Iterator["psycopg.Connection[Any]"]:
    """An autocommit connection."""
    with psycopg.connect(dsn, autocommit=True) as c:
        yield c


@pytest.fixture
def tx_conn(dsn: str) -> Iterator["psycopg.Connection[Any]"]:
    """A connection without autocommit (psycopg's default)."""
    with psycopg.connect(dsn) as c:
        yield c


@pytest.fixture
def reg(conn: "psycopg.Connection[Any]") -> Registry:
    return Registry(conn)


@pytest.fixture
def pool(dsn: str) -> Iterator[Any]:
    from psycopg_pool import ConnectionPool

    p = ConnectionPool(dsn, min_size=2, max_size=2, open=True)
    p.wait()
    try:
        yield p
    finally:
        p.close()


@pytest.fixture
def name() -> str:
    """A username nobody else in the run uses."""
    return "u" + uuid.uuid4().hex[:10]



@pytest.fixture(scope="session")
def app_role(dbname: str) -> Iterator[Dict[str, str]]:
    """Connection options of a login role with only session_app and session_reader,
    as an application has (with a password, for clusters that ask for one)."""
    role = f"session_pyclient_app_{os.getpid()}"
    password = secrets.token_hex(16)
    with psycopg.connect(dbname="postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE session_app, session_reader").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )
    try:
        yield {"user": role, "password": password}
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))

