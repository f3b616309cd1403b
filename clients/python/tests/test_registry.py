"""Every method of Registry, every exception, the reporting views and the gateway shapes."""

from __future__ import annotations

import dataclasses
import ipaddress
import uuid
from datetime import datetime, timedelta, timezone

import psycopg
import psycopg.errors
import pytest

from session_registry import (
    EndedSession,
    GatewaySession,
    InvalidPattern,
    Registry,
    SessionInfo,
    SessionLimitExceeded,
    SessionNotFound,
    translate,
)

MISSING = 9_000_000_000


def test_open_and_get_give_every_column_in_its_python_type(reg: Registry, name: str) -> None:
    sid = reg.open(
        name, "Proj", address="10.0.0.7", scope="designer", client_id="c-1",
        user_agent="Firefox/128", node="gw-1", attributes={"locale": "de", "n": [1, 2]},
    )
    assert isinstance(sid, int)
    assert reg.heartbeat(sid, bytes_sent=2048, page_ids=["/main", "/alarms"]) is True
    info = reg.get(sid)
    assert isinstance(info, SessionInfo)
    assert [f.name for f in dataclasses.fields(SessionInfo)] == [
        "id", "uuid", "username", "authenticated", "project", "address", "scope", "is_designer",
        "client_id", "user_agent", "node", "start_time", "last_comm", "uptime_ms", "last_comm_ms",
        "active_pages", "page_ids", "recent_bytes_sent", "total_bytes_sent", "attributes",
        "end_time", "end_reason",
    ]
    assert info.id == sid
    assert isinstance(info.uuid, uuid.UUID)
    assert info.username == name and info.authenticated is True
    assert info.project == "Proj"
    assert info.address == ipaddress.ip_address("10.0.0.7")
    assert info.scope == "designer" and info.is_designer is True
    assert (info.client_id, info.user_agent, info.node) == ("c-1", "Firefox/128", "gw-1")
    for t in (info.start_time, info.last_comm):
        assert isinstance(t, datetime) and t.tzinfo is not None
    assert isinstance(info.uptime_ms, int) and isinstance(info.last_comm_ms, int)
    assert info.active_pages == 2 and info.page_ids == ["/main", "/alarms"]
    assert (info.recent_bytes_sent, info.total_bytes_sent) == (2048, 2048)
    assert info.attributes == {"locale": "de", "n": [1, 2]}
    assert info.end_time is None and info.end_reason is None and info.is_open


def test_open_takes_ipaddress_objects_and_ipv6(reg: Registry, name: str) -> None:
    sid = reg.open(name, "P", address=ipaddress.ip_address("2001:db8::1"), scope="ios")
    assert reg.get(sid).address == ipaddress.ip_address("2001:db8::1")
    sid2 = reg.open(name, "P", address=ipaddress.ip_address("192.168.1.2"))
    assert reg.get(sid2).address == ipaddress.ip_address("192.168.1.2")
    assert reg.get(reg.open(name, "P")).address is None


def test_unauthenticated_then_login_and_logout(reg: Registry, name: str) -> None:
    sid = reg.open(None, "P")
    assert reg.get_user(sid) == "Unauthenticated"
    assert reg.get(sid).authenticated is False
    reg.set_user(sid, name)
    assert reg.get_user(sid) == name and reg.get(sid).authenticated is True
    reg.set_user(sid, None)
    assert reg.get_user(sid) == "Unauthenticated"


def test_heartbeat_single_and_batched(reg: Registry, name: str) -> None:
    a, b = reg.open(name, "P"), reg.open(name, "P")
    assert reg.heartbeat(a) is True
    assert reg.heartbeat([a, b], [100, 7]) == 2
    assert reg.heartbeat((a,)) == 1
    assert reg.heartbeat({a: 1, b: 2}) == 2
    assert reg.get(a).total_bytes_sent == 101 and reg.get(a).recent_bytes_sent == 1
    assert reg.get(b).total_bytes_sent == 9
    reg.close(b)
    assert reg.heartbeat(b, 5) is False
    assert reg.heartbeat([a, b, MISSING], [1, 1, 1]) == 1
    with pytest.raises(TypeError):
        reg.heartbeat({a: 1}, [1])  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        reg.heartbeat([a], page_ids=["/x"])  # type: ignore[call-overload]


def test_close_terminate_close_node(reg: Registry, name: str) -> None:
    a, b = reg.open(name, "P"), reg.open(name, "P")
    assert reg.close(a, "went home") is True
    assert reg.close(a) is False
    assert reg.get(a).end_reason == "went home" and reg.get(a).end_time is not None
    assert reg.terminate(b) is True
    assert reg.get(b).end_reason == "terminated"
    node = "node-" + name
    reg.open(name, "P", node=node)
    reg.open(name, "P", node=node)
    assert reg.close_node(node) == 2
    assert reg.list(name) == []


def test_close_refuses_the_reasons_of_other_functions(reg: Registry, name: str) -> None:
    sid = reg.open(name, "P")
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        reg.close(sid, "timeout")
    assert reg.get(sid).end_time is None


def test_clientless(reg: Registry, name: str) -> None:
    sid = reg.open_clientless(name, "P", node="gw-1", attributes={"job": "report"})
    info = reg.get(sid)
    assert (info.scope, info.address, info.node, info.attributes) == ("clientless", None, "gw-1", {"job": "report"})
    assert reg.close_clientless(sid) is True
    assert reg.get(sid).end_reason == "closed"
    assert reg.close_clientless(sid) is False
    browser = reg.open(name, "P")
    with pytest.raises(SessionNotFound):
        reg.close_clientless(browser)


def test_list_filters_match_the_whole_value(reg: Registry, name: str) -> None:
    a = reg.open(name, "Alpha")
    b = reg.open(name + "x", "Beta")
    assert [s.id for s in reg.list(name)] == [a]
    assert [s.id for s in reg.list(name + ".*")] == [a, b]
    assert [s.id for s in reg.list(name[:-1])] == []
    assert [s.id for s in reg.list(name + ".*", "Beta")] == [b]
    assert [s.id for s in reg.list(project_regex="(?i)alpha", username_regex=name)] == [a]
    assert all(isinstance(s, SessionInfo) for s in reg.list())
    reg.close(a)
    assert [s.id for s in reg.list(name)] == []


@pytest.mark.parametrize("argument", ["username_regex", "project_regex"])
def test_invalid_pattern(reg: Registry, argument: str) -> None:
    with pytest.raises(InvalidPattern) as caught:
        reg.list(**{argument: "(unclosed"})
    exc = caught.value
    assert isinstance(exc, psycopg.errors.InvalidRegularExpression)
    assert isinstance(exc, psycopg.DataError)
    assert exc.sqlstate == "2201B" and exc.diag.sqlstate == "2201B"
    assert argument in str(exc)
    assert isinstance(exc.__cause__, psycopg.errors.InvalidRegularExpression)


def test_invalid_pattern_in_the_gateway_listings(reg: Registry) -> None:
    with pytest.raises(InvalidPattern):
        reg.get_session_info(username_filter="[")
    with pytest.raises(InvalidPattern):
        reg.get_perspective_session_info(project_filter="[")


@pytest.mark.parametrize(
    "call",
    [
        lambda r: r.get(MISSING),
        lambda r: r.get_user(MISSING),
        lambda r: r.set_user(MISSING, "x"),
        lambda r: r.close(MISSING),
        lambda r: r.terminate(MISSING),
        lambda r: r.close_clientless(MISSING),
        lambda r: r.attach(MISSING),
    ],
    ids=["get", "get_user", "set_user", "close", "terminate", "close_clientless", "attach"],
)
def test_session_not_found(reg: Registry, call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SessionNotFound) as caught:
        call(reg)
    exc = caught.value
    assert isinstance(exc, psycopg.DatabaseError)  # existing handlers keep working
    assert exc.sqlstate == "SE404" and exc.diag.sqlstate == "SE404"
    assert str(MISSING) in str(exc)
    assert exc.pgresult is not None


def test_session_limit_exceeded(reg: Registry, conn: psycopg.Connection, name: str) -> None:
    conn.execute("SET session.max_sessions_per_user = 2")
    conn.execute("SET session.limit_policy = 'reject'")
    try:
        reg.open(name, "P")
        reg.open(name, "P")
        with pytest.raises(SessionLimitExceeded) as caught:
            reg.open(name, "P")
        assert isinstance(caught.value, psycopg.DatabaseError)
        assert caught.value.sqlstate == "SE429"
        assert name in str(caught.value)
        assert len(reg.list(name)) == 2
    finally:
        conn.execute("RESET session.max_sessions_per_user")
        conn.execute("RESET session.limit_policy")


def test_why_translation_is_needed_and_translate(conn: psycopg.Connection) -> None:
    # psycopg knows no class for the extension's codes ...
    with pytest.raises(KeyError):
        psycopg.errors.lookup("SE404")
    # ... so a statement of your own raises the bare class, which translate() converts
    with pytest.raises(psycopg.DatabaseError) as caught:
        conn.execute("SELECT session.get_session_user(%s)", (MISSING,))
    assert type(caught.value) is psycopg.DatabaseError
    translated = translate(caught.value)
    assert isinstance(translated, SessionNotFound) and translated.sqlstate == "SE404"
    assert translate(translated) is translated
    with pytest.raises(psycopg.errors.DivisionByZero) as other:
        conn.execute("SELECT 1/0")
    assert translate(other.value) is other.value


def test_low_level_context_calls(reg: Registry, name: str) -> None:
    assert reg.get_user_context() is None and reg.current_session_id() is None
    assert reg.set_user_context("ann") is None
    assert reg.set_user_context(name) == "ann"
    assert reg.get_user_context() == name
    sid = reg.open("bob" + name, "P")
    assert reg.attach(sid) == name
    assert (reg.get_user_context(), reg.current_session_id()) == ("bob" + name, sid)
    reg.reset_user_context()
    assert (reg.get_user_context(), reg.current_session_id()) == (None, None)


def test_reporting_views(reg: Registry, name: str, dbname: str) -> None:
    project = "Rep" + name
    a = reg.open(name, project, scope="designer")
    reg.open(name + "2", project)
    c = reg.open_clientless(name, project)
    assert {s.id for s in reg.active_sessions()} >= {a, c}
    usage = {u.project: u for u in reg.project_usage()}[project]
    assert (usage.open_sessions, usage.users, usage.designers, usage.clientless) == (3, 2, 1, 1)
    assert usage.oldest_start is not None and usage.oldest_start.tzinfo is not None

    reg.close(a)
    ended = [h for h in reg.history(since=datetime.now(timezone.utc) - timedelta(minutes=5)) if h.id == a]
    assert len(ended) == 1 and isinstance(ended[0], EndedSession)
    assert ended[0].end_reason == "logout" and isinstance(ended[0].duration, timedelta)
    assert reg.history(until=datetime(2000, 1, 1, tzinfo=timezone.utc)) == []
    assert len(reg.history(limit=1)) == 1

    with reg.user_context(name):
        mine = [x for x in reg.connections() if x.user_context == name]
    assert len(mine) == 1 and isinstance(mine[0].pid, int) and mine[0].datname == dbname

    now = datetime.now(timezone.utc)
    buckets = reg.concurrency(now - timedelta(hours=1), now + timedelta(minutes=1), timedelta(hours=2), project)
    assert [(b.project, b.peak_sessions, b.distinct_users) for b in buckets] == [(project, 3, 2)]
    assert buckets[0].bucket_start.tzinfo is not None
    assert reg.concurrency(now - timedelta(hours=1), now, "1 day", "NoSuchProject") == []
    with pytest.raises(InvalidPattern):
        reg.concurrency(now - timedelta(hours=1), now, project_regex="(")


def test_expire_and_purge(reg: Registry, conn: psycopg.Connection, name: str) -> None:
    sid = reg.open(name, "P")
    conn.execute("SET session.idle_timeout = '1s'")
    try:
        conn.execute("SELECT pg_sleep(1.2)")
        assert reg.expire() >= 1
        assert reg.get(sid).end_reason == "timeout"
    finally:
        conn.execute("RESET session.idle_timeout")
    assert reg.purge_history(timedelta(0)) >= 1
    with pytest.raises(SessionNotFound):
        reg.get(sid)
    assert reg.purge_history("1 day") >= 0


def test_gateway_listing_shape(reg: Registry, name: str) -> None:
    sid = reg.open(name, "GW" + name, address="10.1.2.3", scope="designer", client_id="c-9")
    rows = reg.get_session_info(username_filter=name, project_filter="GW.*")
    assert len(rows) == 1
    row = rows[0]
    assert isinstance(row, GatewaySession)
    assert row._fields == ("username", "project", "address", "isDesigner", "clientId", "creationTime")
    assert (row.username, row.project, row.address, row.isDesigner, row.clientId) == (
        name, "GW" + name, "10.1.2.3", True, "c-9")
    assert row["username"] == name and row[0] == name and row["creationTime"] == reg.get(sid).start_time
    with pytest.raises(KeyError):
        row["nope"]
    assert reg.get_session_info(name[:3]) == []          # whole value, not a prefix
    assert reg.get_session_info(name[:3] + ".*", "GW" + name) == rows   # positional too


def test_perspective_listing_shape(reg: Registry, name: str) -> None:
    sid = reg.open(name, "PS", address="10.1.2.4", scope="android", user_agent="Phone")
    reg.heartbeat(sid, 10, ["/a", "/b"])
    reg.heartbeat(sid, 5)
    (d,) = reg.get_perspective_session_info(username_filter=name)
    assert list(d) == ["id", "userAgent", "username", "project", "uptime", "clientAddress", "lastComm",
                       "sessionScope", "activePages", "recentBytesSent", "totalBytesSent", "pageIds"]
    assert d["id"] == sid and d["userAgent"] == "Phone" and d["username"] == name
    assert d["project"] == "PS" and d["clientAddress"] == "10.1.2.4" and d["sessionScope"] == "android"
    assert isinstance(d["uptime"], int) and isinstance(d["lastComm"], int)
    assert (d["activePages"], d["recentBytesSent"], d["totalBytesSent"], d["pageIds"]) == (2, 5, 15, ["/a", "/b"])
    assert reg.get_perspective_session_info(username_filter=name, project_filter="Other") == []


def test_registry_needs_a_connection_or_pool() -> None:
    with pytest.raises(TypeError):
        Registry("dbname=x")  # type: ignore[arg-type]
