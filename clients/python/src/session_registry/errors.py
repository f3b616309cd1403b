"""Exceptions of the session registry, catchable by name.

psycopg 3 has a class for every SQLSTATE that PostgreSQL itself defines, but the
extension's own codes (``SE404``, ``SE429``) are unknown to it:
``psycopg.errors.lookup('SE404')`` raises ``KeyError`` and the server's error
arrives as a bare ``psycopg.DatabaseError`` (the class psycopg picks for an
unknown SQLSTATE class ``SE``) whose ``sqlstate`` has to be checked by hand.

Every call of this package translates those errors into the classes below. Each
is a subclass of the class psycopg raises for the same error, so a handler that
catches ``psycopg.DatabaseError`` (or ``psycopg.errors.InvalidRegularExpression``)
keeps working. The translated exception keeps the server's diagnostics
(``diag``, ``sqlstate``, ``pgresult``) and chains the original as ``__cause__``.

The package does not register these classes in psycopg's own SQLSTATE table
(that table is private, and a registration would change what every other
library in the process receives); statements you run yourself on a connection
raise psycopg's classes, and :func:`translate` converts one when you want to.
"""

from __future__ import annotations

from typing import Dict, Optional, Type

import psycopg
import psycopg.errors

__all__ = [
    "SessionError",
    "SessionNotFound",
    "SessionLimitExceeded",
    "InvalidPattern",
    "translate",
]


class SessionError(psycopg.DatabaseError):
    """Base of the registry's own errors (SQLSTATE class ``SE``)."""


class SessionNotFound(SessionError):
    """SQLSTATE ``SE404``: no session with that id (or not one that the call accepts,
    e.g. ``close_clientless_session`` of a session that is not clientless, or
    ``attach_session`` of an ended one)."""

    sqlstate = "SE404"


class SessionLimitExceeded(SessionError):
    """SQLSTATE ``SE429``: the user already has ``session.max_sessions_per_user``
    open sessions and ``session.limit_policy`` is ``reject``."""

    sqlstate = "SE429"


class InvalidPattern(psycopg.errors.InvalidRegularExpression):
    """SQLSTATE ``2201B``: an invalid regular expression; the message names the
    parameter (``username_regex`` or ``project_regex``)."""


_BY_SQLSTATE: Dict[str, Type[psycopg.Error]] = {
    "SE404": SessionNotFound,
    "SE429": SessionLimitExceeded,
    "2201B": InvalidPattern,
}


def translate(exc: psycopg.Error) -> psycopg.Error:
    """The registry exception for a psycopg error, or the error itself when its
    SQLSTATE is not one of the registry's. Idempotent."""
    if type(exc) in _BY_SQLSTATE.values():
        return exc
    sqlstate: Optional[str] = exc.sqlstate or exc.diag.sqlstate
    cls = _BY_SQLSTATE.get(sqlstate or "")
    if cls is None:
        return exc
    new = cls(*exc.args, info=exc.pgresult, encoding=getattr(exc, "_encoding", "utf-8"))
    new.__cause__ = exc
    new.__traceback__ = exc.__traceback__
    return new
