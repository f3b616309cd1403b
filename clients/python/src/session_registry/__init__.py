"""Python client for the PostgreSQL extension ``session``, the session registry.

    import psycopg
    from session_registry import Registry, SessionNotFound

    with psycopg.connect(autocommit=True) as conn:
        reg = Registry(conn)
        sid = reg.open('billy', 'MyProject', address='10.0.0.7', node='gw-1')
        with reg.user_context('billy'):
            ...
"""

from .errors import InvalidPattern, SessionError, SessionLimitExceeded, SessionNotFound, translate
from .models import (
    ConcurrencyBucket,
    Connection,
    EndedSession,
    Event,
    GatewaySession,
    ProjectUsage,
    SessionInfo,
)
from .registry import ClientlessSession, Registry

__version__ = "0.2.0"

__all__ = [
    "Registry",
    "ClientlessSession",
    "SessionInfo",
    "EndedSession",
    "ProjectUsage",
    "Connection",
    "ConcurrencyBucket",
    "Event",
    "GatewaySession",
    "SessionError",
    "SessionNotFound",
    "SessionLimitExceeded",
    "InvalidPattern",
    "translate",
]
