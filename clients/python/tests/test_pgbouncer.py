"""Through a real PgBouncer in transaction mode with one server connection: two
threads with pools of their own client connections share that server connection
transaction by transaction, and never see each other's context."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator, List, Set

import psycopg
import pytest

from session_registry import Registry

from helpers import alternate_blocks, run_threads

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def bouncer(dbname: str, tmp_path_factory: Any) -> Iterator[str]:
    if os.geteuid() == 0:
        pytest.skip("PgBouncer refuses to run as root; make test runs this as the cluster's OS user")
    assert os.path.exists(PGBOUNCER), "PgBouncer is missing (test/scripts/deps.sh installs it)"
    d: Path = tmp_path_factory.mktemp("pgbouncer")
    port = free_port()
    user = os.environ["PGUSER"]
    (d / "users.txt").write_text(f'"{user}" ""\n')
    # clients get in without a password; PgBouncer logs in to the server with PGPASSWORD, if any
    server_password = f" password={os.environ['PGPASSWORD']}" if os.environ.get("PGPASSWORD") else ""
    (d / "pgbouncer.ini").write_text(
        f"""[databases]
txn = host=127.0.0.1 port={os.environ['PGPORT']} dbname={dbname} pool_mode=transaction{server_password}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {d / 'users.txt'}
default_pool_size = 1
max_client_conn = 20
ignore_startup_parameters = extra_float_digits
logfile = {d / 'pgbouncer.log'}
pidfile = {d / 'pgbouncer.pid'}
"""
    )
    proc = subprocess.Popen([PGBOUNCER, str(d / "pgbouncer.ini")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    dsn = f"host=127.0.0.1 port={port} dbname=txn user={user}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(dsn, connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    log = d / "pgbouncer.log"
                    raise RuntimeError("PgBouncer did not start: " + (log.read_text() if log.exists() else ""))
                time.sleep(0.1)
        yield dsn
    finally:
        proc.terminate()
        proc.wait(30)


def test_a_session_scope_context_would_leak_here(bouncer: str, name: str) -> None:
    """The control: what the blocks avoid. Set for the connection, a context stays on
    the one server connection for the next client's transaction."""
    with psycopg.connect(bouncer, autocommit=True, prepare_threshold=None) as a, \
            psycopg.connect(bouncer, autocommit=True, prepare_threshold=None) as b:
        Registry(a).set_user_context(name)  # is_local false: the connection's
        try:
            assert Registry(b).get_user_context() == name
        finally:
            Registry(a).set_user_context(None)


def test_two_threads_through_pgbouncer(bouncer: str, name: str) -> None:
    from psycopg_pool import ConnectionPool

    errors: List[str] = []
    backends: List[Set[int]] = [set(), set()]

    def worker(n: int) -> None:
        with ConnectionPool(bouncer, min_size=1, max_size=1, kwargs={"prepare_threshold": None}) as pool:
            alternate_blocks(Registry(pool), f"{name}-b{n}", 30, n, errors, backends[n])

    run_threads(worker, errors)
    assert errors == []
    assert backends[0] == backends[1] and len(backends[0]) == 1  # one server connection for both
