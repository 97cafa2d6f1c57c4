"""Shared helpers of the benchmark scripts: machine details and markdown tables."""
from __future__ import annotations

import datetime
import os
import platform
import sys


def machine_details() -> str:
    """One markdown paragraph naming the machine and library versions of a benchmark run."""
    import numpy
    import scipy

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")),
                       cpu)
    except OSError:
        pass
    try:
        load = f"load average {os.getloadavg()[0]:.2f} at start"
    except OSError:
        load = "load average unknown"
    parts = [
        f"date {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"{platform.platform()}",
        cpu,
        f"{os.cpu_count()} CPUs",
        load,
        f"Python {sys.version.split()[0]}",
        f"numpy {numpy.__version__}",
        f"scipy {scipy.__version__}",
    ]
    for name in ("ot", "numba"):
        try:
            mod = __import__(name)
            parts.append(f"{'pot' if name == 'ot' else name} {mod.__version__}")
        except ImportError:
            pass
    return "Machine: " + ", ".join(parts) + "."


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A GitHub-flavoured markdown table (cells formatted with ``str``)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_result(path: str, title: str, sections: list[str]) -> None:
    """Write a markdown result file under benchmarks/results/."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write(f"# {title}\n\n{machine_details()}\n\n" + "\n\n".join(sections) + "\n")
