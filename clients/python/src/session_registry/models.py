"""Typed rows of the registry: sessions, reports and events."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Type, TypeVar, Union
from uuid import UUID

__all__ = [
    "IPAddress",
    "SessionInfo",
    "EndedSession",
    "ProjectUsage",
    "Connection",
    "ConcurrencyBucket",
    "Event",
    "GatewaySession",
    "from_row",
]

#: what psycopg makes of an ``inet``: an address, or an interface when it has a netmask
IPAddress = Union[IPv4Address, IPv6Address, IPv4Interface, IPv6Interface]

T = TypeVar("T")


def from_row(cls: Type[T], row: Mapping[str, Any]) -> T:
    """Builds dataclass ``cls`` from a row (a mapping of column names), taking the
    columns it knows; columns a later version of the extension adds are ignored and
    fields the row lacks keep their defaults."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in row.items() if k in names})


@dataclass(frozen=True)
class SessionInfo:
    """One row of ``session.session_info``: a session, open or ended."""

    id: int
    uuid: UUID
    username: str
    authenticated: bool
    project: Optional[str]
    address: Optional[IPAddress]
    scope: str
    is_designer: bool
    client_id: Optional[str]
    user_agent: Optional[str]
    node: Optional[str]
    start_time: datetime
    last_comm: datetime
    uptime_ms: int
    last_comm_ms: int
    active_pages: int
    page_ids: List[str]
    recent_bytes_sent: int
    total_bytes_sent: int
    attributes: Optional[Dict[str, Any]]
    end_time: Optional[datetime]
    end_reason: Optional[str]

    @property
    def is_open(self) -> bool:
        return self.end_time is None


@dataclass(frozen=True)
class EndedSession(SessionInfo):
    """One row of ``session.history``: an ended session and its duration."""

    duration: Optional[timedelta] = None


@dataclass(frozen=True)
class ProjectUsage:
    """One row of ``session.project_usage``."""

    project: Optional[str]
    open_sessions: int
    users: int
    designers: int
    clientless: int
    oldest_start: Optional[datetime]


@dataclass(frozen=True)
class Connection:
    """One row of ``session.connections``: a client backend, the user context it
    acts for and the session attached to it."""

    pid: int
    usename: Optional[str] = None
    application_name: Optional[str] = None
    client_addr: Optional[IPAddress] = None
    backend_start: Optional[datetime] = None
    state: Optional[str] = None
    user_context: Optional[str] = None
    session_id: Optional[int] = None
    datname: Optional[str] = None


@dataclass(frozen=True)
class ConcurrencyBucket:
    """One row of ``session.concurrency()``."""

    bucket_start: datetime
    project: Optional[str]
    peak_sessions: int
    distinct_users: int


@dataclass(frozen=True)
class Event:
    """One row of ``session.events_since()``: something that happened to a session.

    ``event`` is ``open``, ``close``, ``expire``, ``terminate``, ``evict`` or
    ``user`` (``reason`` ``login`` or ``logout``)."""

    event_id: int
    event_time: datetime
    event: str
    id: int
    uuid: Optional[UUID] = None
    username: Optional[str] = None
    project: Optional[str] = None
    node: Optional[str] = None
    scope: Optional[str] = None
    reason: Optional[str] = None


class GatewaySession(NamedTuple):
    """A row of the gateway scripting API's session listing
    (``system.util.getSessionInfo``): read it by attribute, by index, or by column
    name as a dataset row (``row['username']``)."""

    username: str
    project: Optional[str]
    address: Optional[str]
    isDesigner: bool
    clientId: Optional[str]
    creationTime: datetime

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            if key not in self._fields:
                raise KeyError(key)
            return getattr(self, key)
        return tuple.__getitem__(self, key)


def gateway_row(info: SessionInfo) -> GatewaySession:
    """The ``system.util.getSessionInfo`` shape of a session."""
    return GatewaySession(
        username=info.username,
        project=info.project,
        address=_address_text(info.address),
        isDesigner=info.is_designer,
        clientId=info.client_id,
        creationTime=info.start_time,
    )


def perspective_dict(info: SessionInfo) -> Dict[str, Any]:
    """The ``system.perspective.getSessionInfo`` shape of a session (camelCase keys;
    ``uptime`` and ``lastComm`` in milliseconds, ``lastComm`` since the last
    communication, as in the original)."""
    return {
        "id": info.id,
        "userAgent": info.user_agent,
        "username": info.username,
        "project": info.project,
        "uptime": info.uptime_ms,
        "clientAddress": _address_text(info.address),
        "lastComm": info.last_comm_ms,
        "sessionScope": info.scope,
        "activePages": info.active_pages,
        "recentBytesSent": info.recent_bytes_sent,
        "totalBytesSent": info.total_bytes_sent,
        "pageIds": list(info.page_ids or []),
    }


def _address_text(address: Optional[IPAddress]) -> Optional[str]:
    if address is None:
        return None
    if isinstance(address, (IPv4Interface, IPv6Interface)):
        # a host address is written without its /32 or /128, as the original did
        if address.network.prefixlen == address.max_prefixlen:
            return str(address.ip)
    return str(address)
