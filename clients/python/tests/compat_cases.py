# -*- coding: utf-8 -*-
"""The behaviour of the old scripting API, shared by its two implementations so that
they cannot drift apart: ``session_registry.compat`` (CPython, psycopg) and
``session_compat`` (Jython 2.7, JDBC, in clients/jython).

Written in the common subset of Python 2.7 and 3 (no f-strings, no annotations):
test_compat_cases.py runs every case under pytest, clients/jython/tests/run_cases.py
under Jython. Each case is a function of ``rt``, the runtime, which supplies what
differs between the two:

    rt.api                  the module under test
    rt.bind(project=None)   configures rt.api on one connection in autocommit mode
    rt.bind_pool(size)      configures rt.api on a pool of ``size`` connections and
                            returns it; ``pool.states()`` reads (context, session) of
                            every connection the pool holds
    rt.value(sql)           the first column of the first row of ``sql``, run on
                            rt.api.connection() (None for NULL, ints for integers)
    rt.fails(sql)           runs ``sql`` there and checks that it fails
    rt.is_time(x)           whether x is the runtime's time type
    rt.micros(x)            a time as microseconds since the epoch
    rt.is_uuid(x)           whether x is the runtime's UUID type
    rt.text                 the type of the texts the calls return
"""

import itertools
import sys
import threading
import uuid

CASES = []


def case(function):
    CASES.append(function)
    return function


class CheckFailed(AssertionError):
    pass


def check(ok, what):
    if not ok:
        raise CheckFailed(what)


class Boom(Exception):
    """The script error a block raises on purpose."""


def fresh_name(prefix="u"):
    return prefix + uuid.uuid4().hex[:10]


def raises_not_found(rt, call, *args):
    """Calls call(*args), which must raise SessionNotFoundException; returns it."""
    try:
        call(*args)
    except rt.api.SessionNotFoundException as exc:
        return exc
    raise CheckFailed("%s%r did not raise SessionNotFoundException" % (call.__name__, args))


def column(rt, sid, expression):
    return rt.value("SELECT %s FROM session.get_session_info(%d::bigint)" % (expression, sid))


def epoch_micros(rt, sid, name):
    return column(rt, sid, "(extract(epoch FROM %s) * 1000000)::bigint" % name)


def attached(rt):
    return rt.value("SELECT session.current_session_id()")


def check_nothing_left(pool):
    """No connection of the pool keeps a context or an attached session."""
    states = pool.states()
    check(states and states == [(None, None)] * len(states), "the pool's connections keep: %r" % states)


@case
def test_the_old_names_exist(rt):
    for name in ["get_session_user", "get_session_info", "open_clientless_session",
                 "close_clientless_session", "get_user_context", "set_user_context",
                 "SessionNotFoundException", "ClientlessSession", "UserContext", "configure",
                 "connection"]:
        check(name in rt.api.__all__ and hasattr(rt.api, name), name)


@case
def test_every_call_and_its_types(rt):
    rt.bind()
    api = rt.api
    name = fresh_name()
    sid = api.open_clientless_session(name)
    check(isinstance(sid, int) and not isinstance(sid, bool), "the id is an int: %r" % (sid,))
    user = api.get_session_user(sid)
    check(user == name and isinstance(user, rt.text), "get_session_user: %r" % (user,))

    info = api.get_session_info(sid)
    check(info.getUser() == name and isinstance(info.getUser(), rt.text), "getUser")
    check(rt.is_uuid(info.getSessionUUID()), "getSessionUUID type: %r" % (info.getSessionUUID(),))
    check(str(info.getSessionUUID()) == column(rt, sid, "uuid::text"), "getSessionUUID value")
    check(rt.is_time(info.getStartTime()), "getStartTime type: %r" % (info.getStartTime(),))
    check(rt.micros(info.getStartTime()) == epoch_micros(rt, sid, "start_time"),
          "getStartTime equals start_time to the microsecond")
    check(rt.is_time(info.getTimeStamp()), "getTimeStamp type")
    check(rt.micros(info.getTimeStamp()) == epoch_micros(rt, sid, "last_comm"), "getTimeStamp is last_comm")
    check(info.getEndTime() is None, "getEndTime is None while open")
    check(info.getReason() is None, "getReason is None while open")

    check(api.close_clientless_session(sid) is True, "close_clientless_session returns True")
    check(api.close_clientless_session(sid) is False, "a second close returns False")
    ended = api.get_session_info(sid)
    check(ended.getReason() == "closed", "getReason after the close: %r" % (ended.getReason(),))
    check(rt.is_time(ended.getEndTime()), "getEndTime type once ended")
    check(rt.micros(ended.getEndTime()) == epoch_micros(rt, sid, "end_time"), "getEndTime equals end_time")
    check(api.get_session_user(sid) == name, "get_session_user of an ended session")


@case
def test_anything_but_an_existing_id_raises_session_not_found(rt):
    rt.bind()
    api = rt.api
    name = fresh_name()
    sid = api.open_clientless_session(name)
    calls = [api.get_session_user, api.get_session_info, api.close_clientless_session]
    for call in calls:
        exc = raises_not_found(rt, call, 9000000000)
        check("9000000000" in str(exc), "the message names the id: %s" % exc)
        for bad in ["abc", "", " ", "42abc", "4 2", "0x2a", "-", "1.0", u"\u0664", None, 1.5,
                    True, False, [sid], (sid,), {}, object(), 2 ** 70, -(2 ** 70), str(2 ** 70)]:
            raises_not_found(rt, call, bad)
    # a string of digits is the id it spells
    check(api.get_session_user(str(sid)) == name, "a digit string is accepted")
    check(api.get_session_user(" %d\n" % sid) == name, "surrounding white space is ignored")
    check(api.get_session_info(str(sid)).getUser() == name, "get_session_info of a digit string")
    check(api.close_clientless_session(str(sid)) is True, "close_clientless_session of a digit string")
    # an existing session that is not clientless is not one that close_clientless_session knows
    browser = rt.value("SELECT session.open_session('%s', 'compat')" % name)
    raises_not_found(rt, api.close_clientless_session, browser)
    check(rt.value("SELECT session.close_session(%d)" % browser) is True, "cleanup")


@case
def test_the_default_project_of_the_one_argument_forms(rt):
    api = rt.api
    name = fresh_name()
    rt.bind(project="GatewayScripts")
    sid = api.open_clientless_session(name)
    check(column(rt, sid, "project") == "GatewayScripts", "open_clientless_session(user) takes the default")
    other = api.open_clientless_session(name, "Other")
    check(column(rt, other, "project") == "Other", "an explicit project wins")
    with api.ClientlessSession(name) as session:
        check(column(rt, session.id, "project") == "GatewayScripts", "ClientlessSession(user) takes it")
    with api.ClientlessSession(name, "Other") as session:
        check(column(rt, session.id, "project") == "Other", "ClientlessSession(user, project)")
    api.close_clientless_session(sid)
    api.close_clientless_session(other)
    rt.bind()  # configuring again without a project forgets it
    sid = api.open_clientless_session(name)
    check(column(rt, sid, "project") is None, "no default: no project")
    api.close_clientless_session(sid)


@case
def test_set_user_context_returns_the_previous_one(rt):
    rt.bind()
    api = rt.api
    check(api.get_user_context() is None, "no context at first")
    check(api.set_user_context("a") is None, "set returns None first")
    check(api.get_user_context() == "a", "get after set")
    check(api.set_user_context("b") == "a", "set returns the previous one")
    check(api.set_user_context(None) == "b", "None clears it")
    check(api.get_user_context() is None and attached(rt) is None, "cleared")


def nest(rt, kinds, failing, seen):
    """Enters one block per letter of ``kinds`` (U: UserContext, C: ClientlessSession),
    checks the context inside each and after each, and raises Boom from the innermost
    one when ``failing``. Collects the clientless sessions' ids in ``seen``."""
    api = rt.api
    if not kinds:
        if failing:
            raise Boom()
        return
    outer = (api.get_user_context(), attached(rt))
    user = fresh_name(kinds[0])
    block = api.UserContext(user) if kinds[0] == "U" else api.ClientlessSession(user)
    try:
        with block:
            sid = None
            if kinds[0] == "C":
                sid = block.id
                seen.append(sid)
                check(api.get_session_user(sid) == user, "the block's session is its user's")
            check((api.get_user_context(), attached(rt)) == (user, sid),
                  "inside %s: %r" % (kinds, (api.get_user_context(), attached(rt))))
            nest(rt, kinds[1:], failing, seen)
            check((api.get_user_context(), attached(rt)) == (user, sid), "back inside %s" % kinds)
    finally:
        # also after Boom, the context is the one before the block
        check((api.get_user_context(), attached(rt)) == outer,
              "after %s: %r, expected %r" % (kinds, (api.get_user_context(), attached(rt)), outer))


def nested_in_every_order(rt, pooled):
    api = rt.api
    if not pooled:
        api.set_user_context("script")
    base = (api.get_user_context(), attached(rt))
    for order in itertools.product("UC", repeat=3):
        kinds = "".join(order)
        for failing in (False, True):
            seen = []
            try:
                nest(rt, kinds, failing, seen)
                check(not failing, "Boom went through")
            except Boom:
                check(failing, "no Boom expected")
            check((api.get_user_context(), attached(rt)) == base, "the script's context after %s" % kinds)
            for sid in seen:
                if pooled and failing:
                    # the checkout's transaction was rolled back: the sessions never were
                    raises_not_found(rt, api.get_session_info, sid)
                else:
                    check(api.get_session_info(sid).getReason() == "closed", "%s closed %d" % (kinds, sid))
    if not pooled:
        api.set_user_context(None)


@case
def test_both_blocks_nested_three_deep_in_every_order(rt):
    rt.bind()
    nested_in_every_order(rt, pooled=False)


@case
def test_both_blocks_nested_three_deep_in_every_order_over_a_pool(rt):
    pool = rt.bind_pool(2)
    nested_in_every_order(rt, pooled=True)
    check_nothing_left(pool)


@case
def test_a_block_is_reusable_and_reentrant(rt):
    rt.bind()
    api = rt.api
    name = fresh_name()
    ctx = api.UserContext(name)
    with ctx:
        with ctx:
            check(api.get_user_context() == name, "nested in itself")
        check(api.get_user_context() == name, "still inside")
    check(api.get_user_context() is None, "after both")
    try:
        with ctx:
            raise Boom()
    except Boom:
        pass
    with ctx:
        check(api.get_user_context() == name, "reused after an error")
    session = api.ClientlessSession(name)
    with session:
        first = session.id
        check(session.getId() == first and session.getUser() == name, "getId and getUser")
    with session:
        check(session.id != first, "a new session each time")
    check(api.get_session_info(first).getReason() == "closed", "the first one was closed")


@case
def test_over_a_pool_the_context_lives_in_a_block(rt):
    pool = rt.bind_pool(2)
    api = rt.api
    name = fresh_name()
    try:
        api.set_user_context(name)
        check(False, "set_user_context outside a block over a pool must fail")
    except CheckFailed:
        raise
    except Exception as exc:  # psycopg.ProgrammingError / RuntimeError
        check("UserContext" in str(exc), "the message says what to use: %s" % exc)
    with api.UserContext(name):
        check(api.get_user_context() == name, "inside the block")
        check(api.set_user_context("other") == name, "set_user_context inside a block")
        check(api.get_user_context() == "other", "set inside the block")
    check(api.get_user_context() is None, "nothing after the block")
    check_nothing_left(pool)


def failed_statement_in_blocks(rt, pooled):
    api = rt.api
    name = fresh_name()
    with api.UserContext(name):
        rt.fails("SELECT 1/0")
    check(api.get_user_context() is None, "restored after a failed statement")
    with api.ClientlessSession(name) as session:
        rt.fails("SELECT 1/0")
    if pooled:
        # the failed transaction was rolled back to the block's start: no session was opened
        raises_not_found(rt, api.get_session_info, session.id)
    else:
        check(api.get_session_info(session.id).getReason() == "closed", "closed after a failed statement")
    check((api.get_user_context(), attached(rt)) == (None, None), "nothing attached")


@case
def test_a_failed_statement_inside_a_block(rt):
    rt.bind()
    failed_statement_in_blocks(rt, pooled=False)


@case
def test_a_failed_statement_inside_a_block_over_a_pool(rt):
    pool = rt.bind_pool(2)
    failed_statement_in_blocks(rt, pooled=True)
    check_nothing_left(pool)


def alternate_blocks(rt, me, rounds, start, errors):
    """``rounds`` blocks acting as ``me``, UserContext and ClientlessSession in turn;
    inside, the context must be me's at every statement; after, nobody's."""
    api = rt.api
    for i in range(rounds):
        clientless = (i + start) % 2 == 0
        block = api.ClientlessSession(me) if clientless else api.UserContext(me)
        with block:
            sid = block.id if clientless else None
            for _ in range(2):
                seen = (rt.value("SELECT session.get_user_context() FROM pg_sleep(0.001)"), attached(rt))
                if seen != (me, sid):
                    errors.append("%s round %d: saw %r" % (me, i, seen))
            if api.get_user_context() != me:
                errors.append("%s round %d: get_user_context() is not me" % (me, i))
        seen = (api.get_user_context(), attached(rt))
        if seen != (None, None):
            errors.append("%s round %d after the block: saw %r" % (me, i, seen))


def run_threads(worker, count):
    """Runs worker(0) ... worker(count - 1) in threads; returns what they raised."""
    errors = []
    ready = threading.Event()

    def run(n):
        try:
            ready.wait(30)
            worker(n)
        except:  # noqa: E722 - in Jython, Java exceptions too; reported through errors
            errors.append("thread %d: %r" % (n, sys.exc_info()[1]))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    ready.set()
    for t in threads:
        t.join(120)
    check(not any(t.is_alive() for t in threads), "the threads ended")
    return errors


def two_threads_in_blocks(rt, rounds):
    """Two threads, each in its own blocks (alternate_blocks) at the same time."""
    names = [fresh_name("t0"), fresh_name("t1")]
    errors = []
    errors.extend(run_threads(lambda n: alternate_blocks(rt, names[n], rounds, n, errors), 2))
    check(not errors, "; ".join(errors[:5]))


@case
def test_two_threads_with_their_own_contexts_on_one_pool(rt):
    pool = rt.bind_pool(2)
    two_threads_in_blocks(rt, 12)
    check_nothing_left(pool)
