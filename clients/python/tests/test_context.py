"""user_context() and clientless_session(): nesting in every order, exceptions and
failed transactions inside each, on every kind of connection, and a pool shared by
threads that must never see each other's context."""

from __future__ import annotations

import itertools
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, ContextManager, Iterator, List, Optional, Set, Tuple

import psycopg
import psycopg.errors
import pytest
from psycopg.pq import TransactionStatus

from session_registry import ClientlessSession, Registry, SessionNotFound

from helpers import alternate_blocks, run_threads

State = Tuple[Optional[str], Optional[int]]

MODES = ["autocommit", "transaction", "explicit", "pool", "pool-autocommit"]
INITIAL = ["none", "context", "attached"]
ORDERS = ["".join(p) for n in (1, 2, 3) for p in itertools.product("UC", repeat=n)]
# every order up to two levels from every initial state; three levels from the
# hardest initial state (an attached session, which only attach_session can restore)
NESTINGS = [(i, o) for i in INITIAL for o in ORDERS if len(o) <= 2 or i == "attached"]
# failures: without a context before, and with an attached session before
FAILURE_INITIAL = ["none", "attached"]


class Boom(Exception):
    pass


@dataclass
class Env:
    mode: str
    reg: Registry
    conn: Optional[psycopg.Connection]  # the plain connection, None for a pool

    @property
    def local(self) -> bool:
        return self.mode != "autocommit"

    def scope(self) -> ContextManager[Any]:
        """What the test body runs in: a pool checkout, so that the state set before
        and between blocks stays on one connection; an explicit transaction."""
        if self.mode.startswith("pool"):
            return self.reg.connection()
        if self.mode == "explicit":
            assert self.conn is not None
            return self.conn.transaction()
        return nullcontext()

    def state(self) -> State:
        return (self.reg.get_user_context(), self.reg.current_session_id())

    def settle(self) -> None:
        """Makes what was set so far permanent where the test may commit."""
        if self.mode == "transaction":
            assert self.conn is not None
            self.conn.commit()

    def fail_transaction(self) -> None:
        """Leaves the block's connection in a failed transaction."""
        with self.reg.connection() as conn:
            if conn.info.transaction_status == TransactionStatus.IDLE and conn.autocommit:
                conn.execute("BEGIN")
            with pytest.raises(psycopg.errors.DivisionByZero):
                conn.execute("SELECT 1/0")
            assert conn.info.transaction_status == TransactionStatus.INERROR


@pytest.fixture(params=MODES)
def env(request: Any, dsn: str) -> Iterator[Env]:
    mode = request.param
    if mode.startswith("pool"):
        from psycopg_pool import ConnectionPool

        kwargs = {"autocommit": True} if mode == "pool-autocommit" else {}
        with ConnectionPool(dsn, min_size=1, max_size=1, kwargs=kwargs) as pool:
            yield Env(mode, Registry(pool), None)
        return
    with psycopg.connect(dsn, autocommit=mode in ("autocommit", "explicit")) as conn:
        yield Env(mode, Registry(conn), conn)


def set_initial(env: Env, initial: str, who: str) -> State:
    if initial == "context":
        env.reg.set_user_context("pre" + who, is_local=env.mode.startswith("pool"))
    elif initial == "attached":
        sid = env.reg.open("pre" + who, "P")
        env.reg.attach(sid, is_local=env.mode.startswith("pool"))
    env.settle()
    return env.state()


@contextmanager
def block(env: Env, kind: str, who: str) -> Iterator[State]:
    """Enters a user_context (U) or clientless_session (C) block and gives the state
    that must hold inside it."""
    if kind == "U":
        with env.reg.user_context(who):
            yield (who, None)
    else:
        with env.reg.clientless_session(who, project="P", node="n") as cs:
            assert isinstance(cs, ClientlessSession) and cs.username == who
            yield (who, cs.id)


def users(order: str, who: str) -> List[str]:
    return [f"{who}{i}{kind}" for i, kind in enumerate(order)]


def assert_clientless_gone(env: Env, order: str, names: List[str]) -> None:
    for kind, user in zip(order, names):
        if kind == "C":
            assert env.reg.list(user) == [], f"the clientless session of {user} is still open"


# ----------------------------------------------------------------------


@pytest.mark.parametrize("initial,order", NESTINGS)
def test_nesting_restores_each_level(env: Env, initial: str, order: str, name: str) -> None:
    names = users(order, name)
    with env.scope():
        start = set_initial(env, initial, name)

        def nest(level: int, outside: State) -> None:
            if level == len(order):
                return
            with block(env, order[level], names[level]) as inside:
                assert env.state() == inside
                nest(level + 1, inside)
                assert env.state() == inside
            assert env.state() == outside

        nest(0, start)
        assert env.state() == start
        assert_clientless_gone(env, order, names)


@pytest.mark.parametrize("order", [o for o in ORDERS if len(o) <= 2])
@pytest.mark.parametrize("initial", FAILURE_INITIAL)
def test_exception_inside_each_level(env: Env, initial: str, order: str, name: str) -> None:
    names = users(order, name)
    with env.scope():
        start = set_initial(env, initial, name)
        if len(order) == 1:
            with pytest.raises(Boom):
                with block(env, order[0], names[0]):
                    raise Boom
        else:
            with pytest.raises(Boom):
                with block(env, order[0], names[0]) as outer:
                    with pytest.raises(Boom):
                        with block(env, order[1], names[1]):
                            raise Boom
                    assert env.state() == outer
                    raise Boom
        assert env.state() == start
        assert_clientless_gone(env, order, names)


@pytest.mark.parametrize("propagate", [False, True], ids=["caught-inside", "propagating"])
@pytest.mark.parametrize("order", [o for o in ORDERS if len(o) <= 2])
@pytest.mark.parametrize("initial", FAILURE_INITIAL)
def test_failed_transaction_inside_each_level(
    env: Env, initial: str, order: str, propagate: bool, name: str
) -> None:
    names = users(order, name)

    def fail() -> None:
        if propagate:
            with env.reg.connection() as conn:
                if conn.autocommit and conn.info.transaction_status == TransactionStatus.IDLE:
                    conn.execute("BEGIN")
                conn.execute("SELECT 1/0")
        else:
            env.fail_transaction()

    expect: ContextManager[Any] = nullcontext()
    if propagate:
        expect = pytest.raises(psycopg.errors.DivisionByZero)
    with env.scope():
        start = set_initial(env, initial, name)
        if len(order) == 1:
            with expect:
                with block(env, order[0], names[0]):
                    fail()
        else:
            with block(env, order[0], names[0]) as outer:
                kept = env.reg.open(name + "kept", "P")  # work of the outer block before the failure
                with expect:
                    with block(env, order[1], names[1]):
                        fail()
                assert env.state() == outer
                assert env.reg.get(kept).id == kept  # rolled back to the inner block's start only
        assert env.state() == start
        assert_clientless_gone(env, order, names)


def test_clientless_is_closed_with_reason_closed(env: Env, name: str) -> None:
    with env.scope():
        with env.reg.clientless_session(name) as cs:
            assert env.reg.get(cs.id).end_time is None
        info = env.reg.get(cs.id)
        assert (info.scope, info.end_reason) == ("clientless", "closed")


def test_failed_transaction_in_a_clientless_block(env: Env, name: str) -> None:
    """Inside a transaction the open is rolled back with the failure; on an
    autocommit connection it was committed and is closed."""
    with env.scope():
        with env.reg.clientless_session(name) as cs:
            env.fail_transaction()
        if env.mode == "autocommit":
            assert env.reg.get(cs.id).end_reason == "closed"
        else:
            with pytest.raises(SessionNotFound):
                env.reg.get(cs.id)


def test_restoring_an_attached_session_that_ended_meanwhile(env: Env, name: str, caplog: Any) -> None:
    with env.scope():
        with env.reg.clientless_session(name) as cs:
            with env.reg.user_context("inner" + name):
                env.reg.terminate(cs.id)
            # the session cannot be attached again: its user stays, without it
            assert env.state() == (name, None)
            assert "ended inside the block" in caplog.text


def test_a_block_refuses_to_start_in_a_failed_transaction(name: str, tx_conn: psycopg.Connection) -> None:
    reg = Registry(tx_conn)
    with pytest.raises(psycopg.errors.DivisionByZero):
        tx_conn.execute("SELECT 1/0")
    with pytest.raises(psycopg.errors.InFailedSqlTransaction):
        with reg.user_context(name):
            pass


# ----------------------------------------------------------------------
# pools


@pytest.mark.parametrize("kwargs", [{}, {"autocommit": True}], ids=["default", "autocommit"])
def test_pool_context_lives_only_in_the_checkout(dsn: str, name: str, kwargs: dict) -> None:
    from psycopg_pool import ConnectionPool

    with ConnectionPool(dsn, min_size=1, max_size=1, kwargs=kwargs) as pool:
        reg = Registry(pool)
        with reg.user_context(name) as conn:
            assert reg.get_user_context() == name
            pid = conn.info.backend_pid
        with reg.connection() as conn:
            assert conn.info.backend_pid == pid  # the same server connection ...
            assert (reg.get_user_context(), reg.current_session_id()) == (None, None)  # ... clean
        with reg.clientless_session(name) as cs:
            assert reg.current_session_id() == cs.id
        assert reg.get_user_context() is None  # a call of its own: a new checkout


def test_pool_context_is_transaction_local(pool: Any, name: str) -> None:
    """is_local => true: even a commit inside the block (which the block must not do)
    ends the context, so nothing can reach the next user of the connection."""
    reg = Registry(pool)
    with reg.user_context(name) as conn:
        assert reg.get_user_context() == name
        conn.commit()
        assert reg.get_user_context() is None


@pytest.mark.parametrize("size", [1, 2])
def test_pool_two_threads_never_see_each_others_context(dsn: str, name: str, size: int) -> None:
    """With one connection the threads take turns on it (every block's connection
    was the other thread's just before); with two they also run side by side."""
    from psycopg_pool import ConnectionPool

    errors: List[str] = []
    backends: List[Set[int]] = [set(), set()]
    with ConnectionPool(dsn, min_size=size, max_size=size) as pool:
        reg = Registry(pool)
        run_threads(lambda n: alternate_blocks(reg, f"{name}-t{n}", 40, n, errors, backends[n]), errors)
    assert errors == []
    assert all(len(b) > 0 for b in backends)
    if size == 1:
        assert backends[0] == backends[1]  # one server connection, handed between the threads


def test_plain_transaction_connection_leaves_nothing_after_commit(tx_conn: psycopg.Connection, name: str) -> None:
    reg = Registry(tx_conn)
    with reg.user_context(name):
        assert reg.get_user_context() == name
    tx_conn.commit()
    assert (reg.get_user_context(), reg.current_session_id()) == (None, None)


def test_autocommit_connection_sets_the_context_for_the_connection(conn: psycopg.Connection, name: str) -> None:
    reg = Registry(conn)
    with reg.user_context(name):
        # every statement is its own transaction, and the context stays for the block
        conn.execute("SELECT 1")
        assert conn.execute("SELECT session.get_user_context()").fetchone() == (name,)
    assert reg.get_user_context() is None


