# A gateway script written for the old session scripting module. The only change
# made to run it on the registry is the import below (it was `from session import *`).
# It runs in an interpreter of its own, bound to the database by the PG* variables:
# CPython with the line below, Jython 2.7 with `from session_compat import *`
# (test/clients/jython.sh changes only that line).
from session_registry.compat import *


def save_something():
    # the script's own statement runs on the connection that acts for the user:
    # a java.sql.Connection in Jython, a psycopg connection in CPython
    with connection() as conn:
        if hasattr(conn, "prepareStatement"):
            rows = conn.prepareStatement("SELECT session.get_user_context()").executeQuery()
            rows.next()
            return rows.getString(1)
        return conn.execute("SELECT session.get_user_context()").fetchone()[0]


def check(what, ok):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        raise SystemExit(1)


sid = open_clientless_session("R41")
check("open_clientless_session returns an id", isinstance(sid, int))
check("get_session_user", get_session_user(sid) == "R41")
info = get_session_info(sid)
check("getUser", info.getUser() == "R41")
check("getEndTime is None while open", info.getEndTime() is None)
check("getReason is None while open", info.getReason() is None)
check("getSessionUUID", len(str(info.getSessionUUID())) == 36)
check("getStartTime <= getTimeStamp", info.getStartTime() <= info.getTimeStamp())

check("no context at first", get_user_context() is None)
previous = set_user_context("gateway")
check("set_user_context returns the previous one", previous is None)
with UserContext("R41"):
    check("UserContext acts as the user", get_user_context() == "R41")
    check("the script's statements see it", save_something() == "R41")
    with ClientlessSession("R42") as session:
        check("ClientlessSession acts as its user", get_user_context() == "R42")
        check("... and has an id", get_session_user(session.id) == "R42")
    check("back to the outer UserContext", get_user_context() == "R41")
check("back to the script's context", get_user_context() == "gateway")
check("the ClientlessSession was closed", get_session_info(session.id).getReason() == "closed")

try:
    with UserContext("R43"):
        raise RuntimeError("script failure")
except RuntimeError:
    pass
check("restored after an error", get_user_context() == "gateway")

check("close_clientless_session", close_clientless_session(sid) is True)
check("getReason after close", get_session_info(sid).getReason() == "closed")
try:
    get_session_user(123456789012)
    check("SessionNotFoundException raised", False)
except SessionNotFoundException as exc:
    check("SessionNotFoundException raised", "123456789012" in str(exc))

print("old script: all checks passed")
