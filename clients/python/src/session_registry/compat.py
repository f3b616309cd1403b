"""The old session scripting API, on top of the registry.

A script written for the old module runs after changing its import::

    from session_registry.compat import *

    sid = open_clientless_session('R41')
    print(get_session_user(sid), get_session_info(sid).getStartTime())
    with UserContext('R41'):
        save_something()
    close_clientless_session(sid)

The calls use a default registry that the script configures once with
:func:`configure` (a connection, a ``ConnectionPool``, a conninfo string or
keyword arguments), or, when it does not, a connection made from the ``PG*``
environment variables (``PGHOST``, ``PGPORT``, ``PGDATABASE``, ``PGUSER``, ...)
in autocommit mode, so that every call takes effect at once as it did in the
old module. ``configure(..., project='Gateway')`` gives the one-argument forms
``open_clientless_session(user)`` and ``ClientlessSession(user)`` their project.
A session id may be an int or a string of digits; anything that is not the id of
an existing session raises ``SessionNotFoundException``. :func:`connection`
gives the connection the calls use, for a script's own statements (inside
``UserContext`` it is the one that acts as the user).

The same API for Jython 2.7 over JDBC, where gateway scripts run, is
``clients/jython/session_compat.py``; ``tests/compat_cases.py`` runs against both.
"""

from __future__ import annotations

import re
import threading
from contextlib import AbstractContextManager
from datetime import datetime
from types import TracebackType
from typing import Any, List, Optional, Type, Union
from uuid import UUID

import psycopg

from .errors import SessionNotFound
from .models import SessionInfo
from .registry import Registry

__all__ = [
    "configure",
    "registry",
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

#: the old module's exception: the same class as :class:`session_registry.SessionNotFound`
SessionNotFoundException = SessionNotFound

_lock = threading.Lock()
_registry: Optional[Registry] = None
_owned: Optional["psycopg.Connection[Any]"] = None
_project: Optional[str] = None

_BIGINT_MIN = -(2**63)
_BIGINT_MAX = 2**63 - 1
_DIGITS = re.compile(r"\A\s*([0-9]+)\s*\Z")


def configure(
    source: Union["psycopg.Connection[Any]", Any, str, None] = None,
    *,
    project: Optional[str] = None,
    **kwargs: Any,
) -> Registry:
    """Binds the module to a connection, a ``psycopg_pool.ConnectionPool``, or a new
    connection made from a conninfo string and/or keyword arguments (autocommit
    unless you say otherwise). Returns the registry the calls use.

    ``project`` is the project of the clientless sessions that the one-argument
    forms ``open_clientless_session(user)`` and ``ClientlessSession(user)`` open
    (None, the default: they have no project)."""
    global _registry, _owned, _project
    with _lock:
        _project = project
        if _owned is not None:
            _owned.close()
            _owned = None
        if source is None or isinstance(source, str):
            kwargs.setdefault("autocommit", True)
            _owned = psycopg.connect(source or "", **kwargs)
            source = _owned
        elif kwargs:
            raise TypeError("keyword arguments go with a conninfo string, not with a connection or pool")
        _registry = Registry(source)
        return _registry


def registry() -> Registry:
    """The registry the module's calls use (configured from ``PG*`` on first use)."""
    if _registry is None:
        return configure()
    return _registry


def connection() -> "AbstractContextManager[psycopg.Connection[Any]]":
    """``with connection() as conn``: the connection the calls of this thread use."""
    return registry().connection()


class SessionRecord:
    """What ``get_session_info(session_id)`` returns, read with the old getters."""

    def __init__(self, info: SessionInfo):
        self.info = info

    def getUser(self) -> str:
        return self.info.username

    def getTimeStamp(self) -> datetime:
        """The time of the latest activity (the last heartbeat, else the start)."""
        return self.info.last_comm

    def getSessionUUID(self) -> UUID:
        return self.info.uuid

    def getStartTime(self) -> datetime:
        return self.info.start_time

    def getEndTime(self) -> Optional[datetime]:
        """None while the session is open."""
        return self.info.end_time

    def getReason(self) -> Optional[str]:
        """Why it ended; None while it is open."""
        return self.info.end_reason

    def getId(self) -> int:
        return self.info.id

    def __repr__(self) -> str:
        return f"SessionRecord(id={self.info.id}, user={self.info.username!r}, reason={self.info.end_reason!r})"


def _session_id(value: Any) -> int:
    """The session id that ``value`` names: an int, or a string of digits. Anything
    else names no session: SessionNotFoundException, as for an id nobody has."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        match = _DIGITS.match(value) if isinstance(value, str) else None
        if match is None:
            raise SessionNotFoundException(f"session {value!r} not found: not a session id")
        number = int(match.group(1))
    if not _BIGINT_MIN <= number <= _BIGINT_MAX:
        raise SessionNotFoundException(f"session {number} not found")
    return number


def get_session_user(session_id: Union[int, str]) -> str:
    """The user of a session, open or ended; SessionNotFoundException if none."""
    return registry().get_user(_session_id(session_id))


def get_session_info(session_id: Union[int, str]) -> SessionRecord:
    """A session, open or ended; SessionNotFoundException if none."""
    return SessionRecord(registry().get(_session_id(session_id)))


def open_clientless_session(user: str, project: Optional[str] = None, node: Optional[str] = None) -> int:
    """Opens a clientless session for ``user``; it stays open until closed. Without
    ``project``, the one given to :func:`configure`."""
    return registry().open_clientless(user, _project if project is None else project, node)


def close_clientless_session(session_id: Union[int, str]) -> bool:
    """Closes a clientless session; SessionNotFoundException if there is no such
    clientless session; False if it had already ended."""
    return registry().close_clientless(_session_id(session_id))


def get_user_context() -> Optional[str]:
    """The user the calls act for; None when unset."""
    return registry().get_user_context()


def set_user_context(user: Optional[str]) -> Optional[str]:
    """Sets the user the calls act for (None clears it) and returns the previous one.

    Over a pool, outside a ``UserContext`` or ``ClientlessSession`` block, there is
    no connection for the context to stay on: use ``UserContext`` there."""
    reg = registry()
    if reg.pool is not None and not _in_block(reg):
        raise psycopg.ProgrammingError(
            "set_user_context() over a pool needs a block: use 'with UserContext(user):'"
        )
    return reg.set_user_context(user)


def _in_block(reg: Registry) -> bool:
    return getattr(reg._local, "conn", None) is not None  # noqa: SLF001 - same package


class _Block:
    """Shared machinery of the two context managers: enters the registry's context
    manager on ``__enter__`` and leaves it on ``__exit__`` (reusable, re-entrant)."""

    def __init__(self) -> None:
        self._stack: List[AbstractContextManager[Any]] = []

    def _open(self) -> AbstractContextManager[Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _enter(self) -> Any:
        manager = self._open()
        value = manager.__enter__()
        self._stack.append(manager)
        return value

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> Optional[bool]:
        return self._stack.pop().__exit__(exc_type, exc, tb)


class UserContext(_Block):
    """``with UserContext('R41'):`` acts as R41 inside the block and puts back the
    previous context (or attached session) after it, also after an error."""

    def __init__(self, user: str):
        super().__init__()
        self.user = user

    def _open(self) -> AbstractContextManager[Any]:
        return registry().user_context(self.user)

    def __enter__(self) -> "UserContext":
        self._enter()
        return self


class ClientlessSession(_Block):
    """``with ClientlessSession('R41') as session:`` opens a clientless session for
    R41 (in ``project``, else the one given to :func:`configure`), acts as it
    inside the block (``session.id`` is its id), and closes it on exit, putting
    back what was there."""

    def __init__(self, user: str, project: Optional[str] = None, node: Optional[str] = None):
        super().__init__()
        self.user = user
        self.project = project
        self.node = node
        self.id: Optional[int] = None

    def _open(self) -> AbstractContextManager[Any]:
        project = _project if self.project is None else self.project
        return registry().clientless_session(self.user, project, self.node)

    def __enter__(self) -> "ClientlessSession":
        self.id = self._enter().id
        return self

    def getId(self) -> Optional[int]:
        return self.id

    def getUser(self) -> str:
        return self.user
