"""Who holds a lock row: ``host:pid`` of the process, and whether that process still lives."""

from __future__ import annotations

import os
import socket
from enum import StrEnum


class Holder(StrEnum):
    ALIVE = "alive"  # on this host, and the process exists
    DEAD = "dead"  # on this host, and the process is gone (killed, crashed)
    UNKNOWN = "unknown"  # on another host: only its heartbeat can tell


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def holder_state(holder: str) -> Holder:
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return Holder.UNKNOWN
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return Holder.DEAD
    except PermissionError:
        return Holder.ALIVE
    return Holder.ALIVE
