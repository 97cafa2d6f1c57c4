"""Small HTML tables for notebooks: the ``_repr_html_`` of results (every text escaped)."""
from __future__ import annotations

import html
from typing import Any, Iterable

import numpy as np

__all__ = ["number", "cell", "table", "key_values"]

STYLE = ("border-collapse:collapse;font-family:monospace;font-size:90%;"
         "text-align:left;margin:0.3em 0")
CELL = "border:1px solid #ccc;padding:2px 6px;vertical-align:top"


def number(x: Any, digits: int = 6) -> str:
    """A number as shown in the tables: ``digits`` significant digits, or the text of it."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        return f"{float(x):.{digits}g}"
    return str(x)


def cell(value: Any, tag: str = "td", style: str = "") -> str:
    """One escaped cell; numbers are formatted by :func:`number`."""
    css = CELL + (";" + style if style else "")
    return f'<{tag} style="{css}">{html.escape(number(value))}</{tag}>'


def table(rows: Iterable[Iterable[Any]], header: Iterable[str] | None = None,
          caption: str | None = None, row_styles: Iterable[str] | None = None) -> str:
    """An HTML table of ``rows`` (each a sequence of values), escaped."""
    out = [f'<table style="{STYLE}">']
    if caption:
        out.append(f'<caption style="text-align:left;font-weight:bold">'
                   f"{html.escape(caption)}</caption>")
    if header:
        out.append("<tr>" + "".join(cell(h, "th") for h in header) + "</tr>")
    styles = list(row_styles) if row_styles is not None else None
    for k, row in enumerate(rows):
        style = styles[k] if styles else ""
        out.append("<tr>" + "".join(cell(v, style=style) for v in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def key_values(pairs: Iterable[tuple[str, Any]], caption: str | None = None) -> str:
    """A two-column table (quantity, value)."""
    return table(pairs, ("quantity", "value"), caption)
