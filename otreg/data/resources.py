"""What the machine can give a computation: the memory actually available to this process
(not the installed total), read before a large allocation is attempted."""
from __future__ import annotations

import os

try:
    import resource
except ImportError:  # pragma: no cover - not on POSIX
    resource = None

__all__ = ["available_memory"]


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:  # other POSIX systems: free physical pages
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _cgroup_available() -> int | None:
    """Room left under a cgroup (v2) memory limit, e.g. a container's."""
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as fh:
            limit = fh.read().strip()
        if limit == "max":
            return None
        with open("/sys/fs/cgroup/memory.current", encoding="ascii") as fh:
            return max(0, int(limit) - int(fh.read().strip()))
    except (OSError, ValueError):
        return None


def _rlimit_available() -> int | None:
    """Room left under the address-space limit (``ulimit -v``)."""
    if resource is None:
        return None
    soft = resource.getrlimit(resource.RLIMIT_AS)[0]
    if soft == resource.RLIM_INFINITY:
        return None
    used = 0
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            used = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        pass
    return max(0, soft - used)


def available_memory() -> int | None:
    """Bytes this process can still allocate: the least of the memory the system reports
    available (``MemAvailable``), the room under a cgroup limit and under ``ulimit -v``;
    None when none of them can be read."""
    known = [v for v in (_meminfo_available(), _cgroup_available(), _rlimit_available())
             if v is not None]
    return min(known) if known else None
