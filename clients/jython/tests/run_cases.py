"""Runs the shared behaviour cases of the old scripting API (compat_cases.py, next
to the CPython client's tests) against session_compat, in Jython 2.7 over pgjdbc,
plus the cases only the JVM has: threads sharing one java.sql.Connection, and a
DataSource given by pgjdbc itself.

    jython run_cases.py JDBC_URL USER CASES_DIR

Prints "ok   NAME" or "FAIL NAME" and the failure per case, then "N passed, M
failed"; exits 1 when a case failed.
"""

import os
import sys
import traceback
import Queue

from java.sql import DriverManager, Timestamp
from java.util import Properties, UUID
from javax.sql import ConnectionEventListener, DataSource
from org.postgresql.ds import PGConnectionPoolDataSource, PGSimpleDataSource

URL, USER, CASES_DIR = sys.argv[1:4]
sys.path.insert(0, CASES_DIR)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import compat_cases  # noqa: E402
import session_compat  # noqa: E402
from compat_cases import check  # noqa: E402


def _server(ds):
    """Points a pgjdbc data source at the test database."""
    rest = URL[len("jdbc:postgresql://"):]
    hostport, database = rest.split("/", 1)
    host, port = hostport.rsplit(":", 1)
    ds.setServerNames([host])
    ds.setPortNumbers([int(port)])
    ds.setDatabaseName(database)
    ds.setUser(USER)
    return ds


class TinyPool(DataSource):
    """A pool of ``size`` physical connections, as a gateway's pool hands them out:
    pgjdbc's PooledConnection gives a handle whose close() gives the connection back
    (rolling back an open transaction) and resets nothing else, so whatever a block
    left on a connection would reach its next user."""

    def __init__(self, size):
        source = _server(PGConnectionPoolDataSource())
        self.physical = [source.getPooledConnection() for _ in range(size)]
        self.idle = Queue.Queue()
        pool = self

        class GiveBack(ConnectionEventListener):
            def connectionClosed(self, event):
                pool.idle.put(event.getSource())

            def connectionErrorOccurred(self, event):
                pool.idle.put(event.getSource())

        for pooled in self.physical:
            pooled.addConnectionEventListener(GiveBack())
            self.idle.put(pooled)

    def getConnection(self, *args):
        return self.idle.get(True, 60).getConnection()

    def states(self):
        handles = [self.getConnection() for _ in self.physical]
        try:
            return [_context_of(handle) for handle in handles]
        finally:
            for handle in handles:
                handle.close()

    def close(self):
        for pooled in self.physical:
            pooled.close()


def _connect():
    properties = Properties()
    properties.setProperty("user", USER)
    return DriverManager.getConnection(URL, properties)


def _context_of(conn):
    rows = conn.createStatement().executeQuery(
        "SELECT session.get_user_context(), session.current_session_id()")
    rows.next()
    user, sid = rows.getString(1), rows.getLong(2)
    return (user, None if rows.wasNull() else int(sid))


def _plain(value):
    if isinstance(value, long):
        return int(value)
    return value


class JythonRuntime(object):
    api = session_compat
    text = unicode

    def __init__(self):
        self.pools = []

    def bind(self, project=None):
        session_compat.configure(URL, user=USER, project=project)

    def bind_pool(self, size):
        pool = TinyPool(size)
        self.pools.append(pool)
        session_compat.configure(pool)
        return pool

    def value(self, sql):
        with session_compat.connection() as conn:
            statement = conn.createStatement()
            try:
                rows = statement.executeQuery(sql)
                check(rows.next(), "a row from " + sql)
                return _plain(rows.getObject(1))
            finally:
                statement.close()

    def fails(self, sql):
        from java.sql import SQLException

        with session_compat.connection() as conn:
            statement = conn.createStatement()
            try:
                statement.executeQuery(sql)
            except SQLException:
                return
            finally:
                statement.close()
        raise compat_cases.CheckFailed("no error from " + sql)

    @staticmethod
    def is_time(value):
        return isinstance(value, Timestamp)

    @staticmethod
    def micros(value):
        return (value.getTime() // 1000) * 1000000 + value.getNanos() // 1000

    @staticmethod
    def is_uuid(value):
        return isinstance(value, UUID)

    def close(self):
        session_compat.configure(URL, user=USER)
        for pool in self.pools:
            pool.close()
        self.pools = []


# ----------------------------------------------------------------------
# the JVM's own cases

JVM_CASES = []


def jvm_case(function):
    JVM_CASES.append(function)
    return function


@jvm_case
def test_two_threads_with_their_own_contexts_on_a_pgsimpledatasource(rt):
    session_compat.configure(_server(PGSimpleDataSource()))
    compat_cases.two_threads_in_blocks(rt, 8)


@jvm_case
def test_threads_take_one_connection_in_turn(rt):
    """Over one java.sql.Connection a block holds the connection: another thread's
    calls wait for it instead of seeing its context."""
    conn = _connect()
    try:
        session_compat.configure(conn)
        compat_cases.two_threads_in_blocks(rt, 8)
        check(_context_of(conn) == (None, None), "the connection keeps nothing")
    finally:
        session_compat.configure(URL, user=USER)
        conn.close()


@jvm_case
def test_a_connection_without_autocommit_commits_when_the_script_does(rt):
    conn = _connect()
    try:
        conn.setAutoCommit(False)
        session_compat.configure(conn)
        name = compat_cases.fresh_name()
        with session_compat.ClientlessSession(name) as session:
            check(session_compat.get_user_context() == name, "inside")
        conn.rollback()
        compat_cases.raises_not_found(rt, session_compat.get_session_info, session.id)
        conn.rollback()  # the error ended the script's transaction, as any SQL error does
        with session_compat.ClientlessSession(name) as session:
            pass
        conn.commit()
        check(session_compat.get_session_info(session.id).getReason() == "closed", "committed")
        check(_context_of(conn) == (None, None), "the connection keeps nothing")
    finally:
        session_compat.configure(URL, user=USER)
        conn.close()


@jvm_case
def test_configure_refuses_properties_with_a_connection(rt):
    conn = _connect()
    try:
        try:
            session_compat.configure(conn, user=USER)
            check(False, "a TypeError")
        except TypeError:
            pass
    finally:
        conn.close()


def main():
    passed = failed = 0
    for case in compat_cases.CASES + JVM_CASES:
        rt = JythonRuntime()
        try:
            case(rt)
            print("ok   " + case.__name__)
            passed += 1
        except:  # noqa: E722 - Java exceptions too, which Exception does not catch
            print("FAIL " + case.__name__)
            traceback.print_exc(file=sys.stdout)
            failed += 1
        finally:
            try:
                rt.close()
            except:  # noqa: E722
                traceback.print_exc(file=sys.stdout)
    sys.stdout.flush()
    # the threads of a failed case may still wait: leave without them
    print("%d passed, %d failed" % (passed, failed))
    sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    code = main()
    from java.lang import System

    System.exit(code)
