"""The :class:`Registry`: every call of the extension, over a connection or a pool."""

from __future__ import annotations

import itertools
import logging
import select
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    Generator,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Type,
    TypeVar,
    Union,
    overload,
)

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from .errors import SessionNotFound, translate
from .models import (
    ConcurrencyBucket,
    Connection,
    EndedSession,
    Event,
    GatewaySession,
    IPAddress,
    ProjectUsage,
    SessionInfo,
    from_row,
    gateway_row,
    perspective_dict,
)

if TYPE_CHECKING:  # pragma: no cover
    from psycopg_pool import ConnectionPool

__all__ = ["Registry", "ClientlessSession"]

log = logging.getLogger("session_registry")

T = TypeVar("T")
Params = Union[Sequence[Any], Mapping[str, Any], None]
Address = Union[str, IPAddress, None]

#: the channel on which the registry sends its (empty) wake-up notifications
EVENTS_CHANNEL = "session_events"

_savepoint_numbers = itertools.count(1)


@dataclass
class ClientlessSession:
    """What ``with registry.clientless_session(user) as s`` gives: the session's id,
    its user, and the connection that acts for it inside the block."""

    id: int
    username: str
    connection: "psycopg.Connection[Any]" = field(repr=False)


@dataclass
class _Saved:
    """What a context manager found on entry, to put back on exit."""

    user_context: Optional[str]
    session_id: Optional[int]
    local: bool  # set with is_local => true: the context lives in this transaction
    savepoint: Optional[str]  # our savepoint, when a transaction was already open


class Registry:
    """The session registry, over a psycopg 3 connection or a
    ``psycopg_pool.ConnectionPool``.

    Over a **connection**, every call runs on it, in its current transaction: with
    ``autocommit=False`` your writes commit when you commit, like any other statement.

    Over a **pool**, a call outside a block checks a connection out for that call
    alone and commits. Inside ``user_context()`` / ``clientless_session()`` /
    ``connection()`` every call of the same thread runs on the block's connection,
    in the block's transaction, where the context is set with ``is_local => true``:
    it ends with the checkout, so it never reaches the next user of the connection
    (and a transaction-mode pooler such as PgBouncer is safe).
    """

    def __init__(self, source: Union["psycopg.Connection[Any]", "ConnectionPool"]):
        if isinstance(source, psycopg.Connection):
            self._conn: Optional[psycopg.Connection[Any]] = source
            self._pool: Optional[ConnectionPool] = None
        elif hasattr(source, "getconn") and hasattr(source, "connection"):
            self._conn = None
            self._pool = source
        else:
            raise TypeError(
                f"Registry needs a psycopg.Connection or a psycopg_pool.ConnectionPool, "
                f"not {type(source).__name__}"
            )
        self._local = threading.local()

    # ------------------------------------------------------------------
    # connections and statements

    @property
    def pool(self) -> Optional["ConnectionPool"]:
        return self._pool

    @contextmanager
    def connection(self) -> Iterator["psycopg.Connection[Any]"]:
        """The connection this thread's calls use: the block's own when a context
        manager of this registry is active in the thread, else the registry's
        connection, else a connection checked out of the pool for the block (one
        transaction, committed at the end, rolled back on an exception)."""
        current = getattr(self._local, "conn", None)
        if current is not None:
            yield current
            return
        if self._pool is None:
            assert self._conn is not None
            yield self._conn
            return
        with self._pool.connection() as conn:
            began = False
            if conn.autocommit:
                # the checkout is one transaction, whatever the pool's settings
                conn.execute("BEGIN")
                began = True
            self._local.conn = conn
            try:
                yield conn
            except BaseException:
                if began:
                    _quiet_rollback(conn)
                raise
            else:
                if began and conn.info.transaction_status != TransactionStatus.IDLE:
                    conn.execute("COMMIT")
            finally:
                self._local.conn = None

    def _rows(self, query: Union[str, sql.Composable], params: Params = None) -> List[Dict[str, Any]]:
        with self.connection() as conn:
            return _fetch(conn, query, params)

    def _value(self, query: Union[str, sql.Composable], params: Params = None) -> Any:
        with self.connection() as conn:
            return _fetch_value(conn, query, params)

    def _objects(self, cls: Type[T], query: Union[str, sql.Composable], params: Params = None) -> List[T]:
        return [from_row(cls, row) for row in self._rows(query, params)]

    # ------------------------------------------------------------------
    # sessions

    def open(
        self,
        username: Optional[str],
        project: str,
        address: Address = None,
        scope: str = "browser",
        client_id: Optional[str] = None,
        user_agent: Optional[str] = None,
        node: Optional[str] = None,
        attributes: Optional[Mapping[str, Any]] = None,
    ) -> int:
        """Opens a session and returns its id (``session.open_session``); ``username``
        None opens one nobody is logged in to yet."""
        return int(
            self._value(
                "SELECT session.open_session(username => %s::text, project => %s::text,"
                " address => %s::inet, scope => %s::text, client_id => %s::text,"
                " user_agent => %s::text, node => %s::text, attributes => %s::jsonb)",
                (
                    username,
                    project,
                    _inet(address),
                    scope,
                    client_id,
                    user_agent,
                    node,
                    _jsonb(attributes),
                ),
            )
        )

    def set_user(self, session_id: int, username: Optional[str]) -> None:
        """Logs a user in to a session, or out with None (``session.set_session_user``)."""
        self._value("SELECT session.set_session_user(%s::bigint, %s::text)", (session_id, username))

    @overload
    def heartbeat(
        self, session_id: int, bytes_sent: int = 0, page_ids: Optional[Sequence[str]] = None
    ) -> bool: ...

    @overload
    def heartbeat(
        self,
        session_id: Union[Sequence[int], Mapping[int, int]],
        bytes_sent: Optional[Sequence[int]] = None,
    ) -> int: ...

    def heartbeat(self, session_id: Any, bytes_sent: Any = None, page_ids: Any = None) -> Any:
        """One heartbeat: ``heartbeat(42, bytes_sent=2048, page_ids=['/main'])``
        returns False when the session is not open.

        A batch, one call for many sessions: ``heartbeat([1, 2, 5], [100, 0, 40])``
        or ``heartbeat({1: 100, 2: 0, 5: 40})`` returns how many open sessions it
        touched."""
        if isinstance(session_id, Mapping):
            if bytes_sent is not None:
                raise TypeError("heartbeat({id: bytes}) takes no bytes_sent")
            ids, sent = list(session_id.keys()), list(session_id.values())
            return self._heartbeat_batch(ids, sent)
        if isinstance(session_id, (list, tuple)):
            if page_ids is not None:
                raise TypeError("a batch heartbeat takes no page_ids")
            return self._heartbeat_batch(list(session_id), None if bytes_sent is None else list(bytes_sent))
        return bool(
            self._value(
                "SELECT session.heartbeat(%s::bigint, %s::bigint, %s::text[])",
                (session_id, 0 if bytes_sent is None else bytes_sent, _text_array(page_ids)),
            )
        )

    def _heartbeat_batch(self, ids: List[int], sent: Optional[List[int]]) -> int:
        return int(self._value("SELECT session.heartbeat(%s::bigint[], %s::bigint[])", (ids, sent)))

    def close(self, session_id: int, reason: str = "logout") -> bool:
        """Ends a session; False when it had already ended (``session.close_session``)."""
        return bool(self._value("SELECT session.close_session(%s::bigint, %s::text)", (session_id, reason)))

    def terminate(self, session_id: int, reason: str = "terminated") -> bool:
        """Ends a session as an administrator (``session.terminate_session``)."""
        return bool(
            self._value("SELECT session.terminate_session(%s::bigint, %s::text)", (session_id, reason))
        )

    def close_node(self, node: str, reason: str = "node_shutdown") -> int:
        """Ends every open session of a node and returns how many (``session.close_node_sessions``)."""
        return int(self._value("SELECT session.close_node_sessions(%s::text, %s::text)", (node, reason)))

    def open_clientless(
        self,
        username: str,
        project: Optional[str] = None,
        node: Optional[str] = None,
        attributes: Optional[Mapping[str, Any]] = None,
    ) -> int:
        """Opens a clientless session (``session.open_clientless_session``)."""
        return int(
            self._value(
                "SELECT session.open_clientless_session(%s::text, %s::text, %s::text, %s::jsonb)",
                (username, project, node, _jsonb(attributes)),
            )
        )

    def close_clientless(self, session_id: int) -> bool:
        """Closes a clientless session with reason ``closed``."""
        return bool(self._value("SELECT session.close_clientless_session(%s::bigint)", (session_id,)))

    def expire(self) -> int:
        """Applies the timeouts now; returns how many sessions ended."""
        return int(self._value("SELECT session.expire_sessions()"))

    def purge_history(self, older_than: Union[timedelta, str]) -> int:
        """Removes sessions that ended before ``now() - older_than``; returns how many."""
        return int(self._value("SELECT session.purge_history(%s::interval)", (older_than,)))

    # ------------------------------------------------------------------
    # reading

    def list(self, username_regex: Optional[str] = None, project_regex: Optional[str] = None) -> List[SessionInfo]:
        """The open sessions whose whole username and project match, in
        ``start_time, id`` order; None means no filter. An invalid pattern raises
        :class:`InvalidPattern`."""
        return self._objects(
            SessionInfo,
            "SELECT * FROM session.get_session_info(username_regex => %s::text, project_regex => %s::text)",
            (username_regex, project_regex),
        )

    def get(self, session_id: int) -> SessionInfo:
        """One session by id, open or ended; :class:`SessionNotFound` if there is none."""
        rows = self._rows("SELECT * FROM session.get_session_info(%s::bigint)", (session_id,))
        return from_row(SessionInfo, rows[0])

    def get_user(self, session_id: int) -> str:
        """The user of a session, open or ended (``'Unauthenticated'`` when nobody is
        logged in); :class:`SessionNotFound` if there is none."""
        return str(self._value("SELECT session.get_session_user(%s::bigint)", (session_id,)))

    # reporting views

    def active_sessions(self) -> List[SessionInfo]:
        """``session.active_sessions``: every open session."""
        return self._objects(SessionInfo, "SELECT * FROM session.active_sessions ORDER BY start_time, id")

    def history(
        self,
        since: Optional[datetime] = None,
        until: Optional[datetime] = None,
        limit: Optional[int] = None,
    ) -> List[EndedSession]:
        """``session.history``: ended sessions with their duration, by ``end_time``
        (give ``since`` to read only the partitions you need)."""
        return self._objects(
            EndedSession,
            "SELECT * FROM session.history"
            " WHERE (%(since)s::timestamptz IS NULL OR end_time >= %(since)s::timestamptz)"
            " AND (%(until)s::timestamptz IS NULL OR end_time < %(until)s::timestamptz)"
            " ORDER BY end_time, id LIMIT %(limit)s::bigint",
            {"since": since, "until": until, "limit": limit},
        )

    def project_usage(self) -> List[ProjectUsage]:
        """``session.project_usage``: per project, open sessions and users."""
        return self._objects(ProjectUsage, "SELECT * FROM session.project_usage ORDER BY project")

    def connections(self) -> List[Connection]:
        """``session.connections``: every client backend with its context and session."""
        return self._objects(Connection, "SELECT * FROM session.connections ORDER BY pid")

    def concurrency(
        self,
        from_time: datetime,
        to_time: datetime,
        bucket: Union[timedelta, str] = timedelta(hours=1),
        project_regex: Optional[str] = None,
        **options: Any,
    ) -> List[ConcurrencyBucket]:
        """``session.concurrency()``: per bucket and project, the peak of sessions open
        at one moment and the distinct users. More named arguments of the SQL
        function (such as ``origin``) are passed on as they are."""
        args = [
            sql.SQL("from_time => {}::timestamptz").format(sql.Placeholder()),
            sql.SQL("to_time => {}::timestamptz").format(sql.Placeholder()),
            sql.SQL("bucket => {}::interval").format(sql.Placeholder()),
            sql.SQL("project_regex => {}::text").format(sql.Placeholder()),
        ]
        params: List[Any] = [from_time, to_time, bucket, project_regex]
        for name, value in options.items():
            args.append(sql.SQL("{} => {}").format(sql.Identifier(name), sql.Placeholder()))
            params.append(value)
        query = sql.SQL("SELECT * FROM session.concurrency({}) ORDER BY bucket_start, project").format(
            sql.SQL(", ").join(args)
        )
        return self._objects(ConcurrencyBucket, query, params)

    # the gateway scripting API's two listings, in their own shapes

    def get_session_info(
        self, username_filter: Optional[str] = None, project_filter: Optional[str] = None
    ) -> List[GatewaySession]:
        """``system.util.getSessionInfo``: rows of ``username, project, address,
        isDesigner, clientId, creationTime`` for the open sessions whose whole
        username and project match the regular expressions."""
        return [gateway_row(s) for s in self.list(username_filter, project_filter)]

    def get_perspective_session_info(
        self, username_filter: Optional[str] = None, project_filter: Optional[str] = None
    ) -> List[Dict[str, Any]]:
        """``system.perspective.getSessionInfo``: a dict per open session keyed ``id,
        userAgent, username, project, uptime, clientAddress, lastComm, sessionScope,
        activePages, recentBytesSent, totalBytesSent, pageIds``."""
        return [perspective_dict(s) for s in self.list(username_filter, project_filter)]

    # ------------------------------------------------------------------
    # the user context

    def get_user_context(self) -> Optional[str]:
        """The user this thread's connection acts for; None when unset."""
        return self._value("SELECT session.get_user_context()")  # type: ignore[no-any-return]

    def current_session_id(self) -> Optional[int]:
        """The session attached to this thread's connection; None when unattached."""
        return self._value("SELECT session.current_session_id()")  # type: ignore[no-any-return]

    def set_user_context(self, username: Optional[str], is_local: Optional[bool] = None) -> Optional[str]:
        """Sets the context of this thread's connection (detaching a session) and
        returns the previous one. ``is_local`` None means true over a pool (a
        session-scope context would stay on the pooled connection for its next
        user) and false over a connection. Prefer :meth:`user_context`, which puts
        back what was there."""
        return self._value(  # type: ignore[no-any-return]
            "SELECT session.set_user_context(%s::text, %s::boolean)", (username, self._is_local(is_local))
        )

    def attach(self, session_id: int, is_local: Optional[bool] = None) -> Optional[str]:
        """Attaches this thread's connection to an open session and returns the
        previous user context (``is_local`` as for :meth:`set_user_context`)."""
        return self._value(  # type: ignore[no-any-return]
            "SELECT session.attach_session(%s::bigint, %s::boolean)", (session_id, self._is_local(is_local))
        )

    def _is_local(self, is_local: Optional[bool]) -> bool:
        return self._pool is not None if is_local is None else is_local

    def reset_user_context(self) -> None:
        """Clears the context and the attached session of this thread's connection
        (for the connection, like ``RESET``)."""
        self._value("SELECT session.reset_user_context()")

    @contextmanager
    def user_context(self, username: str) -> Iterator["psycopg.Connection[Any]"]:
        """Acts as ``username`` inside the block and puts back exactly what was there
        before (the previous context, or the session that was attached), also after
        an exception or a failed transaction. Gives the connection to use.

        Outside a transaction on an autocommit connection the context is set for the
        connection and put back at the end; inside a transaction (a connection without
        autocommit, an explicit transaction, every pool checkout) it is set with
        ``is_local => true`` and lives in that transaction. The block must not end
        the transaction it started in."""
        with self.connection() as conn:
            saved = _enter(conn)
            try:
                _fetch_value(
                    conn, "SELECT session.set_user_context(%s::text, %s::boolean)", (username, saved.local)
                )
                yield conn
            except BaseException:
                _leave(conn, saved, failing=True)
                raise
            else:
                _leave(conn, saved, failing=False)

    @contextmanager
    def clientless_session(
        self,
        username: str,
        project: Optional[str] = None,
        node: Optional[str] = None,
        attributes: Optional[Mapping[str, Any]] = None,
    ) -> Iterator[ClientlessSession]:
        """Opens a clientless session for ``username``, attaches the connection to it
        for the block, and at the end puts back what was there and closes the session
        (reason ``closed``). Scoping and failures as for :meth:`user_context`; when
        the block's transaction fails, the open is rolled back with it."""
        with self.connection() as conn:
            saved = _enter(conn)
            session_id: Optional[int] = None
            try:
                session_id = int(
                    _fetch_value(
                        conn,
                        "SELECT session.open_clientless_session(%s::text, %s::text, %s::text, %s::jsonb)",
                        (username, project, node, _jsonb(attributes)),
                    )
                )
                _fetch_value(conn, "SELECT session.attach_session(%s::bigint, %s::boolean)", (session_id, saved.local))
                yield ClientlessSession(session_id, username, conn)
            except BaseException:
                undone = _leave(conn, saved, failing=True)
                if session_id is not None and not undone:
                    _close_quietly(conn, session_id)
                raise
            else:
                undone = _leave(conn, saved, failing=False)
                if session_id is not None and not undone:
                    _fetch_value(conn, "SELECT session.close_clientless_session(%s::bigint)", (session_id,))

    # ------------------------------------------------------------------
    # events

    def events(
        self,
        after_event_id: int = 0,
        *,
        max_rows: int = 1000,
        timeout: Optional[float] = None,
        poll_interval: float = 5.0,
    ) -> Generator[Event, None, None]:
        """The registry's events after ``after_event_id``, in order, then every new
        one as it is committed (``session.events_since`` woken up by ``LISTEN
        session_events``). Stops when ``timeout`` seconds pass without an event (None:
        never). Keep the last ``event_id`` you processed and pass it when you start
        again to miss nothing.

        Needs ``session_reader``. Over a pool it holds a connection of its own while
        it runs; over a connection, that connection must be in autocommit mode and is
        listening while the iterator runs. Leaving the loop (or ``close()``) stops
        listening and gives a pool's connection back."""
        if self._pool is not None:
            return self._pool_events(after_event_id, max_rows, timeout, poll_interval)
        assert self._conn is not None
        if not self._conn.autocommit:
            raise psycopg.ProgrammingError(
                "events() needs a connection in autocommit mode (notifications arrive between transactions)"
            )
        return _follow_events(self._conn, after_event_id, max_rows, timeout, poll_interval)

    def _pool_events(
        self, after_event_id: int, max_rows: int, timeout: Optional[float], poll_interval: float
    ) -> Generator[Event, None, None]:
        assert self._pool is not None
        conn = self._pool.getconn()
        autocommit = conn.autocommit
        try:
            conn.autocommit = True
            yield from _follow_events(conn, after_event_id, max_rows, timeout, poll_interval)
        finally:
            try:
                if not conn.closed:
                    conn.autocommit = autocommit
            finally:
                self._pool.putconn(conn)


# ----------------------------------------------------------------------
# helpers


def _inet(address: Address) -> Optional[str]:
    return None if address is None else str(address)


def _jsonb(value: Optional[Mapping[str, Any]]) -> Optional[Jsonb]:
    return None if value is None else Jsonb(value)


def _text_array(values: Optional[Sequence[str]]) -> Optional[List[str]]:
    return None if values is None else [str(v) for v in values]


def _fetch(conn: "psycopg.Connection[Any]", query: Union[str, sql.Composable], params: Params = None) -> List[Dict[str, Any]]:
    try:
        with conn.cursor(row_factory=dict_row) as cur:
            cur.execute(query, params)  # type: ignore[arg-type]
            return cur.fetchall()
    except psycopg.Error as exc:
        raise translate(exc) from exc


def _execute(conn: "psycopg.Connection[Any]", query: Union[str, sql.Composable], params: Params = None) -> None:
    try:
        conn.execute(query, params)  # type: ignore[arg-type]
    except psycopg.Error as exc:
        raise translate(exc) from exc


def _fetch_value(conn: "psycopg.Connection[Any]", query: Union[str, sql.Composable], params: Params = None) -> Any:
    try:
        with conn.cursor() as cur:
            cur.execute(query, params)  # type: ignore[arg-type]
            row = cur.fetchone()
            return None if row is None else row[0]
    except psycopg.Error as exc:
        raise translate(exc) from exc


def _enter(conn: "psycopg.Connection[Any]") -> _Saved:
    """Reads the context and attached session before a context manager changes them,
    and opens a savepoint when a transaction is already running, so that a failure
    inside the block can be rolled back to this point without undoing what came
    before it."""
    status = conn.info.transaction_status
    local = status != TransactionStatus.IDLE or not conn.autocommit
    savepoint = None
    if status == TransactionStatus.INERROR:
        # as psycopg would say on the next statement; do not start in a failed transaction
        raise psycopg.errors.InFailedSqlTransaction(
            "current transaction is aborted, commands ignored until end of transaction block"
        )
    if status == TransactionStatus.INTRANS:
        savepoint = f"session_registry_{next(_savepoint_numbers)}"
        conn.execute(sql.SQL("SAVEPOINT {}").format(sql.Identifier(savepoint)))
    row = _fetch(conn, "SELECT session.get_user_context() AS c, session.current_session_id() AS s")[0]
    return _Saved(row["c"], row["s"], local, savepoint)


def _leave(conn: "psycopg.Connection[Any]", saved: _Saved, failing: bool) -> bool:
    """Puts back what :func:`_enter` saved; first rolls back a failed transaction
    (to our savepoint when there is one). Returns True when it rolled back the
    block's work. When the block is failing already, a failure here is logged and
    the block's exception goes on."""
    if conn.closed or conn.broken:
        return False
    try:
        undone = False
        if conn.info.transaction_status == TransactionStatus.INERROR:
            if saved.savepoint:
                conn.execute(sql.SQL("ROLLBACK TO SAVEPOINT {}").format(sql.Identifier(saved.savepoint)))
            else:
                conn.rollback()
            undone = saved.local
        if saved.savepoint and conn.info.transaction_status == TransactionStatus.INTRANS:
            conn.execute(sql.SQL("RELEASE SAVEPOINT {}").format(sql.Identifier(saved.savepoint)))
        _restore(conn, saved)
        return undone
    except Exception:
        if not failing:
            raise
        log.warning("could not restore the user context after a failure", exc_info=True)
        return False


def _restore(conn: "psycopg.Connection[Any]", saved: _Saved) -> None:
    if saved.session_id is None:
        _fetch_value(
            conn, "SELECT session.set_user_context(%s::text, %s::boolean)", (saved.user_context, saved.local)
        )
        return
    in_transaction = conn.info.transaction_status != TransactionStatus.IDLE or not conn.autocommit
    try:
        if in_transaction:
            # a savepoint, so that a session that ended meanwhile does not fail the
            # transaction. (Without autocommit and outside a transaction, which happens
            # only after rolling back a block that began the transaction, psycopg makes
            # this a transaction of its own instead: the state saved then was the
            # connection's own, which the rollback has put back already.)
            with conn.transaction():
                _fetch_value(
                    conn, "SELECT session.attach_session(%s::bigint, %s::boolean)", (saved.session_id, saved.local)
                )
        else:
            _fetch_value(
                conn, "SELECT session.attach_session(%s::bigint, %s::boolean)", (saved.session_id, saved.local)
            )
    except SessionNotFound:
        # the session attached before the block has ended meanwhile: keep its user
        log.warning("session %s ended inside the block; restoring its user without it", saved.session_id)
        _fetch_value(
            conn, "SELECT session.set_user_context(%s::text, %s::boolean)", (saved.user_context, saved.local)
        )


def _close_quietly(conn: "psycopg.Connection[Any]", session_id: int) -> None:
    try:
        if conn.info.transaction_status == TransactionStatus.INTRANS:
            with conn.transaction():
                _fetch_value(conn, "SELECT session.close_clientless_session(%s::bigint)", (session_id,))
        elif conn.info.transaction_status == TransactionStatus.IDLE:
            _fetch_value(conn, "SELECT session.close_clientless_session(%s::bigint)", (session_id,))
    except Exception:
        log.warning("could not close clientless session %s after a failure", session_id, exc_info=True)


def _quiet_rollback(conn: "psycopg.Connection[Any]") -> None:
    try:
        if not conn.closed and conn.info.transaction_status != TransactionStatus.IDLE:
            conn.execute("ROLLBACK")
    except Exception:
        log.warning("rollback failed", exc_info=True)


def _follow_events(
    conn: "psycopg.Connection[Any]",
    after_event_id: int,
    max_rows: int,
    timeout: Optional[float],
    poll_interval: float,
) -> Generator[Event, None, None]:
    """Reads events with ``session.events_since`` and sleeps on the socket between
    batches; a notification (any payload) only wakes it up. A notification that
    arrives while a batch is being read sets a flag, so it is never slept through;
    ``poll_interval`` bounds the sleep anyway."""
    woken = [False]

    def on_notify(notify: psycopg.Notify) -> None:
        if notify.channel == EVENTS_CHANNEL:
            woken[0] = True

    conn.add_notify_handler(on_notify)
    last = after_event_id
    try:
        _execute(conn, sql.SQL("LISTEN {}").format(sql.Identifier(EVENTS_CHANNEL)))
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            woken[0] = False
            rows = _fetch(
                conn, "SELECT * FROM session.events_since(%s::bigint, %s::integer)", (last, max_rows)
            )
            for row in rows:
                event = from_row(Event, row)
                last = event.event_id
                yield event
            if rows and timeout is not None:
                deadline = time.monotonic() + timeout
            if len(rows) >= max_rows or woken[0]:
                continue
            wait = poll_interval
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                wait = min(wait, remaining)
            select.select([conn.fileno()], [], [], wait)
    finally:
        conn.remove_notify_handler(on_notify)
        if not conn.closed and not conn.broken:
            try:
                if conn.info.transaction_status == TransactionStatus.INERROR:
                    conn.rollback()
                conn.execute(sql.SQL("UNLISTEN {}").format(sql.Identifier(EVENTS_CHANNEL)))
            except psycopg.Error:
                log.warning("UNLISTEN failed", exc_info=True)
