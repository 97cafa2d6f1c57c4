"""The memory this process can still take: MemAvailable of /proc/meminfo and the remaining
allowance of its cgroup (v2 ``memory.max`` minus ``memory.current``), whichever is smaller.

Read at the moment of a check (never cached): what is free changes while otreg runs.
"""
from __future__ import annotations

from ..errors import MemoryLimitError

#: the limit assumed when neither /proc/meminfo nor the cgroup files can be read
FALLBACK_BYTES = 8 * 2**30
MEMINFO = "/proc/meminfo"
CGROUP_DIR = "/sys/fs/cgroup"


def _meminfo_available() -> int | None:
    """MemAvailable of /proc/meminfo in bytes (None if unreadable)."""
    try:
        with open(MEMINFO, encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_available() -> int | None:
    """memory.max - memory.current of this process's cgroup (v2) in bytes; None without a
    limit ("max") or if unreadable."""
    try:
        with open(f"{CGROUP_DIR}/memory.max", encoding="ascii") as fh:
            text = fh.read().strip()
        if text == "max":
            return None
        limit = int(text)
        with open(f"{CGROUP_DIR}/memory.current", encoding="ascii") as fh:
            used = int(fh.read().strip())
    except (OSError, ValueError):
        return None
    return max(limit - used, 0)


def available_memory_bytes() -> int:
    """The memory this process can still take: the smaller of MemAvailable and the cgroup's
    remaining allowance (:data:`FALLBACK_BYTES` when neither can be read)."""
    found = [v for v in (_meminfo_available(), _cgroup_available()) if v is not None]
    return min(found) if found else FALLBACK_BYTES


def check_allocation(need: float, what: str, option: str) -> None:
    """Raise :class:`MemoryLimitError` naming ``option`` before allocating ``need`` bytes
    that exceed what is available."""
    have = available_memory_bytes()
    if need > have:
        raise MemoryLimitError(f"{option}: {what} needs {need / 2**30:.3g} GiB, more than the "
                               f"{have / 2**30:.3g} GiB of memory available now")
