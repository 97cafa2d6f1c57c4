"""Headless Chromium for pages otreg writes (the explorer): open, screenshot, read back.

The system's Chromium (``/usr/bin/chromium``, Debian's package ``chromium``) is driven through
playwright (the ``test`` / ``docs`` extras), never a browser downloaded by playwright itself.
The flags keep Chromium from contacting any server on its own (background networking,
component updates, sync), so that a page's own requests are the only ones made.

>>> with chromium() as browser:                                   # doctest: +SKIP
...     screenshot(browser, "explore.html", "explore.png")
"""
from __future__ import annotations

import os
import pathlib
from contextlib import contextmanager
from typing import Any, Iterator

from ..data.paths import atomic_write
from ..errors import OtregError

__all__ = ["CHROMIUM", "CHROMIUM_FLAGS", "chromium", "screenshot", "page_url"]

#: the system's Chromium (``apt-get install chromium``); OTREG_CHROMIUM overrides it
CHROMIUM = os.environ.get("OTREG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run")


@contextmanager
def chromium(executable: str | None = None) -> Iterator[Any]:
    """A headless Chromium (a playwright ``Browser``), closed on exit.  Raises an
    :class:`~otreg.errors.OtregError` saying what to install when playwright or the browser is
    missing."""
    exe = executable or CHROMIUM
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise OtregError("playwright is not installed: pip install 'otreg[test]' "
                         "(or pip install playwright)") from None
    if not os.path.exists(exe):
        raise OtregError(f"no Chromium at {exe}: apt-get install chromium (or set "
                         "OTREG_CHROMIUM to a Chromium executable)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=list(CHROMIUM_FLAGS))
        try:
            yield browser
        finally:
            browser.close()


def page_url(path: Any) -> str:
    """The ``file://`` URL of a local page."""
    return pathlib.Path(os.fspath(path)).resolve().as_uri()


def screenshot(browser: Any, page: Any, out: Any, width: int = 1500, height: int = 1000,
               full_page: bool = True) -> Any:
    """Open the local page ``page`` in ``browser`` and write a PNG screenshot to ``out``;
    returns ``out``.  The page's script errors are raised, not drawn over."""
    tab = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        tab.goto(page_url(page))
        if errors:
            raise OtregError(f"page: script error in {os.fspath(page)!r}: {errors[0]}")
        parent = os.path.dirname(os.fspath(out))
        if parent:
            os.makedirs(parent, exist_ok=True)
        atomic_write(out, tab.screenshot(full_page=full_page))
    finally:
        tab.close()
    return out
