"""The old session scripting API for Jython 2.7, over JDBC.

A gateway script written for the old module runs after changing its import::

    from session_compat import *

    sid = open_clientless_session('R41')
    print get_session_user(sid), get_session_info(sid).getStartTime()
    with UserContext('R41'):
        save_something()
    close_clientless_session(sid)

The module is one file with no dependency but a JDBC driver for PostgreSQL
(pgjdbc) on the JVM's class path: copy it into the gateway's script library or
put it, alone or in a zip, on ``sys.path``. Bind it once with :func:`configure`
to a ``java.sql.Connection``, a ``javax.sql.DataSource`` (a connection pool) or
a JDBC URL; a script that does not is bound on first use to a connection made
from the ``PG*`` environment variables, as the CPython module does.

Times are ``java.sql.Timestamp``, the session UUID a ``java.util.UUID``, ids
Python ints and users unicode strings, as the old module returned them.

Threads: Jython has no global interpreter lock, so the module keeps every
thread's work apart. Over a ``DataSource`` each call outside a block checks out
a connection for itself, and each outermost ``UserContext`` /
``ClientlessSession`` / ``connection()`` block checks out one connection for
the block and runs it as one transaction, in which the context is set with
``is_local => true``: it ends with the transaction, so nothing is left on the
connection when it goes back to the pool. Over a single ``Connection`` the
threads take the connection in turn: a call, or a block from its start to its
end, holds it, so no thread sees another thread's context.

This file is written for Jython 2.7 and needs ``java.sql``; CPython scripts use
``session_registry.compat``, which keeps the same names and behaviour.
"""

import logging
import os
import re
import threading

from java.sql import Connection as _JdbcConnection
from java.sql import DriverManager, SQLException, Types
from java.util import Properties

__all__ = [
    "configure",
    "connection",
    "get_session_user",
    "get_session_info",
    "open_clientless_session",
    "close_clientless_session",
    "get_user_context",
    "set_user_context",
    "SessionNotFoundException",
    "SessionRecord",
    "ClientlessSession",
    "UserContext",
]

# the extension's SQLSTATE for an unknown session id, and PostgreSQL's for a
# statement sent in a transaction that has failed already
_SESSION_NOT_FOUND = "SE404"
_IN_FAILED_TRANSACTION = "25P02"

_log = logging.getLogger("session_compat")

_BIGINT_MIN = -(2 ** 63)
_BIGINT_MAX = 2 ** 63 - 1
_DIGITS = re.compile(r"\A\s*([0-9]+)\s*\Z")


class SessionNotFoundException(Exception):
    """No session with that id (SQLSTATE ``SE404``), or a value that cannot be a
    session id. ``cause`` is the ``java.sql.SQLException`` when the server said so."""

    sqlstate = _SESSION_NOT_FOUND

    def __init__(self, message, cause=None):
        Exception.__init__(self, message)
        self.cause = cause


# ----------------------------------------------------------------------
# where connections come from


class _SharedConnection(object):
    """One ``java.sql.Connection`` for every thread. A call, or a block from its
    start to its end, holds the lock: the threads take the connection in turn and
    none sees the context that another one's block set."""

    def __init__(self, conn, owned):
        self.conn = conn
        self.owned = owned
        self.lock = threading.RLock()

    def take(self, block):
        self.lock.acquire()
        return self.conn, None

    def give(self, conn, token, block, ok):
        self.lock.release()

    def close(self):
        if self.owned and not self.conn.isClosed():
            self.conn.close()


class _DataSource(object):
    """A ``javax.sql.DataSource``: a connection per call outside a block, and one per
    outermost block, in one transaction that is committed at the end (rolled back
    when the block fails) before the connection goes back."""

    def __init__(self, source):
        self.source = source

    def take(self, block):
        conn = self.source.getConnection()
        autocommit = None
        if block:
            try:
                autocommit = conn.getAutoCommit()
                conn.setAutoCommit(False)
            except:
                conn.close()
                raise
        return conn, autocommit

    def give(self, conn, autocommit, block, ok):
        try:
            if block or not conn.getAutoCommit():
                if ok:
                    conn.commit()
                else:
                    conn.rollback()
        finally:
            try:
                if block and autocommit:
                    conn.setAutoCommit(True)
            finally:
                conn.close()

    def close(self):
        pass


_lock = threading.Lock()
_source = None
_project = None
_local = threading.local()


def configure(source=None, **options):
    """Binds the module to ``source``: a ``java.sql.Connection`` (used as it is,
    shared by the threads in turn), a ``javax.sql.DataSource`` (a gateway's
    connection pool; a connection per call or block), or a JDBC URL string
    (``jdbc:postgresql://host:5432/db``), connected in autocommit mode with the
    other keyword arguments as JDBC properties (``user``, ``password``, ...).
    Without a source, the URL comes from the ``PG*`` environment variables.

    ``project`` is the project of the clientless sessions that the one-argument
    forms ``open_clientless_session(user)`` and ``ClientlessSession(user)`` open
    (None, the default: they have no project)."""
    global _source, _project
    project = options.pop("project", None)
    with _lock:
        if _source is not None:
            _source.close()
            _source = None
        if source is None:
            source, defaults = _environment_url()
            for key, value in defaults.items():
                options.setdefault(key, value)
        if isinstance(source, basestring):
            properties = Properties()
            for key, value in options.items():
                properties.setProperty(key, unicode(value))
            conn = DriverManager.getConnection(source, properties)
            conn.setAutoCommit(True)
            new = _SharedConnection(conn, owned=True)
        elif options:
            raise TypeError("JDBC properties go with a URL, not with a Connection or DataSource")
        elif isinstance(source, _JdbcConnection):
            new = _SharedConnection(source, owned=False)
        elif hasattr(source, "getConnection"):
            new = _DataSource(source)
        else:
            raise TypeError(
                "configure() needs a java.sql.Connection, a javax.sql.DataSource or a JDBC URL, not %s"
                % type(source).__name__
            )
        _source = new
        _project = project


def _environment_url():
    """A JDBC URL and properties from PGHOST, PGPORT, PGDATABASE, PGUSER and
    PGPASSWORD; a socket directory in PGHOST means this machine, over TCP."""
    env = os.environ
    host = env.get("PGHOST") or "localhost"
    if host.startswith("/"):
        host = "localhost"
    user = env.get("PGUSER") or env.get("USER") or "postgres"
    url = "jdbc:postgresql://%s:%s/%s" % (host, env.get("PGPORT") or "5432", env.get("PGDATABASE") or user)
    properties = {"user": user}
    if env.get("PGPASSWORD"):
        properties["password"] = env["PGPASSWORD"]
    return url, properties


def _current():
    if _source is None:
        configure()
    return _source


def _block_depth():
    return getattr(_local, "depth", 0)


def _enter_block():
    """The connection of this thread's block; the outermost block takes it."""
    if _block_depth():
        _local.depth += 1
        return _local.conn
    source = _current()
    conn, token = source.take(True)
    _local.conn, _local.source, _local.token, _local.depth = conn, source, token, 1
    return conn


def _leave_block(ok):
    _local.depth -= 1
    if _local.depth == 0:
        conn, source, token = _local.conn, _local.source, _local.token
        _local.conn = _local.source = _local.token = None
        source.give(conn, token, True, ok)


def _call(work):
    """Runs ``work(conn)`` on this thread's block connection, or on one taken for
    this call alone."""
    if _block_depth():
        return work(_local.conn)
    source = _current()
    conn, token = source.take(False)
    ok = False
    try:
        result = work(conn)
        ok = True
        return result
    finally:
        source.give(conn, token, False, ok)


class connection(object):
    """``with connection() as conn``: the ``java.sql.Connection`` the calls of this
    thread use, for the script's own statements (inside ``UserContext`` it is the
    one that acts as the user). Over a ``DataSource`` the block is one transaction."""

    def __enter__(self):
        return _enter_block()

    def __exit__(self, exc_type, exc, tb):
        _leave_block(exc_type is None)
        return False


# ----------------------------------------------------------------------
# statements


def _bind(statement, params):
    for i, value in enumerate(params):
        n = i + 1
        if value is None:
            statement.setNull(n, Types.VARCHAR)
        elif isinstance(value, bool):
            statement.setBoolean(n, value)
        elif isinstance(value, (int, long)):
            statement.setLong(n, value)
        else:
            statement.setString(n, unicode(value))


def _query(conn, sql, params, read):
    """Runs a query and returns ``read(resultset)`` after ``next()``; SQLSTATE SE404
    becomes SessionNotFoundException."""
    try:
        statement = conn.prepareStatement(sql)
        try:
            _bind(statement, params)
            rows = statement.executeQuery()
            try:
                rows.next()
                return read(rows)
            finally:
                rows.close()
        finally:
            statement.close()
    except SQLException as exc:
        if exc.getSQLState() == _SESSION_NOT_FOUND:
            raise SessionNotFoundException(_server_message(exc), exc)
        raise


def _server_message(exc):
    server = getattr(exc, "serverErrorMessage", None)
    if server is not None and server.getMessage():
        return server.getMessage()
    return exc.getMessage()


def _text(conn, sql, *params):
    return _query(conn, sql, params, lambda rows: rows.getString(1))


def _long(conn, sql, *params):
    def read(rows):
        value = rows.getLong(1)
        return None if rows.wasNull() else int(value)

    return _query(conn, sql, params, read)


def _bool(conn, sql, *params):
    return _query(conn, sql, params, lambda rows: bool(rows.getBoolean(1)))


def _session_id(value):
    """The session id that ``value`` names: an int, or a string of digits. Anything
    else names no session."""
    if isinstance(value, (int, long)) and not isinstance(value, bool):
        number = value
    else:
        match = _DIGITS.match(value) if isinstance(value, basestring) else None
        if match is None:
            raise SessionNotFoundException("session %r not found: not a session id" % (value,))
        number = int(match.group(1))
    if not _BIGINT_MIN <= number <= _BIGINT_MAX:
        raise SessionNotFoundException("session %d not found" % number)
    return int(number)


# ----------------------------------------------------------------------
# the calls


class SessionRecord(object):
    """What ``get_session_info(session_id)`` returns, read with the old getters."""

    def __init__(self, id, uuid, user, start_time, time_stamp, end_time, reason):
        self.id = id
        self.uuid = uuid
        self.user = user
        self.start_time = start_time
        self.time_stamp = time_stamp
        self.end_time = end_time
        self.reason = reason

    def getUser(self):
        return self.user

    def getTimeStamp(self):
        """The time of the latest activity (the last heartbeat, else the start)."""
        return self.time_stamp

    def getSessionUUID(self):
        return self.uuid

    def getStartTime(self):
        return self.start_time

    def getEndTime(self):
        """None while the session is open."""
        return self.end_time

    def getReason(self):
        """Why it ended; None while it is open."""
        return self.reason

    def getId(self):
        return self.id

    def __repr__(self):
        return "SessionRecord(id=%d, user=%r, reason=%r)" % (self.id, self.user, self.reason)


def get_session_user(session_id):
    """The user of a session, open or ended; SessionNotFoundException if none."""
    sid = _session_id(session_id)
    return _call(lambda conn: _text(conn, "SELECT session.get_session_user(?::bigint)", sid))


def get_session_info(session_id):
    """A session, open or ended; SessionNotFoundException if none."""
    sid = _session_id(session_id)

    def read(rows):
        return SessionRecord(
            int(rows.getLong(1)),
            rows.getObject(2),
            rows.getString(3),
            rows.getTimestamp(4),
            rows.getTimestamp(5),
            rows.getTimestamp(6),
            rows.getString(7),
        )

    return _call(
        lambda conn: _query(
            conn,
            "SELECT id, uuid, username, start_time, last_comm, end_time, end_reason"
            " FROM session.get_session_info(?::bigint)",
            [sid],
            read,
        )
    )


def _open_clientless(conn, user, project, node):
    if project is None:
        project = _project
    return _long(
        conn, "SELECT session.open_clientless_session(?::text, ?::text, ?::text)", user, project, node
    )


def open_clientless_session(user, project=None, node=None):
    """Opens a clientless session for ``user`` and returns its id; it stays open
    until closed. Without ``project``, the one given to ``configure``."""
    return _call(lambda conn: _open_clientless(conn, user, project, node))


def close_clientless_session(session_id):
    """Closes a clientless session; SessionNotFoundException if there is no such
    clientless session; False if it had already ended."""
    sid = _session_id(session_id)
    return _call(lambda conn: _bool(conn, "SELECT session.close_clientless_session(?::bigint)", sid))


def get_user_context():
    """The user the calls act for; None when unset."""
    return _call(lambda conn: _text(conn, "SELECT session.get_user_context()"))


def set_user_context(user):
    """Sets the user the calls act for (None clears it) and returns the previous one.

    Inside a block that runs in a transaction (every block over a DataSource) it
    lasts until the block ends; over a Connection outside a block, it stays on the
    connection. Over a DataSource, outside a ``UserContext`` or
    ``ClientlessSession`` block, there is no connection for the context to stay on:
    use ``UserContext`` there."""
    in_block = _block_depth() > 0
    if not in_block and isinstance(_current(), _DataSource):
        raise RuntimeError("set_user_context() over a DataSource needs a block: use 'with UserContext(user):'")
    return _call(
        lambda conn: _text(
            conn,
            "SELECT session.set_user_context(?::text, ?::boolean)",
            user,
            in_block and not conn.getAutoCommit(),
        )
    )


# ----------------------------------------------------------------------
# the context managers


class _Saved(object):
    """What a block found on entry, to put back on exit. ``local``: the block runs in
    a transaction, so the context is set with is_local => true and ``savepoint``
    marks where the block began."""

    def __init__(self, conn):
        self.local = not conn.getAutoCommit()
        self.savepoint = conn.setSavepoint() if self.local else None

        def read(rows):
            user = rows.getString(1)
            sid = rows.getLong(2)
            return user, (None if rows.wasNull() else int(sid))

        self.user, self.session_id = _query(
            conn, "SELECT session.get_user_context(), session.current_session_id()", [], read
        )


def _leave(conn, saved):
    """Puts back what ``saved`` found. When the block's transaction has failed
    (a statement error that the script caught), first rolls back to the block's
    savepoint. Returns True when that undid the block's work."""
    undone = False
    if saved.savepoint is not None:
        try:
            _restore(conn, saved)
        except SQLException as exc:
            if exc.getSQLState() != _IN_FAILED_TRANSACTION:
                raise
            conn.rollback(saved.savepoint)
            undone = True
            _restore(conn, saved)
        conn.releaseSavepoint(saved.savepoint)
    else:
        _restore(conn, saved)
    return undone


def _restore(conn, saved):
    if saved.session_id is None:
        _text(conn, "SELECT session.set_user_context(?::text, ?::boolean)", saved.user, saved.local)
        return
    inner = conn.setSavepoint() if saved.local else None
    try:
        _text(conn, "SELECT session.attach_session(?::bigint, ?::boolean)", saved.session_id, saved.local)
    except SessionNotFoundException:
        # the session attached before the block has ended meanwhile: keep its user
        if inner is not None:
            conn.rollback(inner)
        _text(conn, "SELECT session.set_user_context(?::text, ?::boolean)", saved.user, saved.local)
    if inner is not None:
        conn.releaseSavepoint(inner)


class _Block(object):
    """Shared machinery of the two context managers: reusable, and re-entrant (the
    same object may be nested in itself)."""

    def __init__(self):
        self._stack = []

    def _enter(self, act):
        conn = _enter_block()
        try:
            saved = _Saved(conn)
            try:
                state = act(conn, saved)
            except:
                self._undo(conn, saved, None)
                raise
        except:
            _leave_block(False)
            raise
        self._stack.append((conn, saved, state))
        return state

    def _undo(self, conn, saved, state):
        """Puts back what was there; returns True when the block's work was undone."""
        return _leave(conn, saved)

    def __exit__(self, exc_type, exc, tb):
        conn, saved, state = self._stack.pop()
        ok = False
        try:
            if exc_type is None:
                self._undo(conn, saved, state)
                ok = True
            else:
                try:
                    self._undo(conn, saved, state)
                except:
                    # the block's own exception is the one to see
                    _log.warning("could not put back the user context after a failure", exc_info=True)
        finally:
            _leave_block(ok)
        return False


class UserContext(_Block):
    """``with UserContext('R41'):`` acts as R41 inside the block and puts back the
    previous context (or attached session) after it, also after an error."""

    def __init__(self, user):
        _Block.__init__(self)
        self.user = user

    def __enter__(self):
        def act(conn, saved):
            _text(conn, "SELECT session.set_user_context(?::text, ?::boolean)", self.user, saved.local)

        self._enter(act)
        return self


class ClientlessSession(_Block):
    """``with ClientlessSession('R41') as session:`` opens a clientless session for
    R41 (in ``project``, else the one given to ``configure``), acts as it inside
    the block (``session.id`` is its id), and closes it on exit, putting back what
    was there."""

    def __init__(self, user, project=None, node=None):
        _Block.__init__(self)
        self.user = user
        self.project = project
        self.node = node
        self.id = None

    def __enter__(self):
        def act(conn, saved):
            sid = _open_clientless(conn, self.user, self.project, self.node)
            try:
                _text(conn, "SELECT session.attach_session(?::bigint, ?::boolean)", sid, saved.local)
            except:
                if not saved.local:  # in a transaction, the rollback to the savepoint undoes the open
                    _bool(conn, "SELECT session.close_clientless_session(?::bigint)", sid)
                raise
            return sid

        self.id = self._enter(act)
        return self

    def _undo(self, conn, saved, sid):
        undone = _leave(conn, saved)
        if sid is not None and not undone:
            _bool(conn, "SELECT session.close_clientless_session(?::bigint)", sid)
        return undone

    def getId(self):
        return self.id

    def getUser(self):
        return self.user
