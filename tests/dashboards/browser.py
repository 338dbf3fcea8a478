"""A real headless Chromium (Debian's package, never a downloaded one) and the app under uvicorn.

The browser records every JavaScript error, console error, failed request and HTTP error, so a
test can demand a page loaded cleanly.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = Path(os.environ.get("LIFTWATCH_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
INSTALL_HINT = "apt-get update && apt-get install -y chromium"


@contextmanager
def serve_app(database_url: str, log_path: Path) -> Iterator[str]:
    """The API app under uvicorn against ``database_url``; yields its base URL.

    The listening socket is bound here and handed to uvicorn, so no other process can take the
    port between choosing it and serving on it.
    """
    env = {**os.environ, "LIFTWATCH_DATABASE_URL": database_url, "LIFTWATCH_LOG_LEVEL": "WARNING"}
    with socket.socket() as sock, log_path.open("wb") as log:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "api.app:create_app",
                "--factory",
                "--fd",
                str(sock.fileno()),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=[sock.fileno()],
        )
        try:
            _wait_ready(base, proc, log_path)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_ready(base: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    # Generous: on a loaded 2-core machine a second app beside the suite's can take half a minute.
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"uvicorn exited: {log_path.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the app did not become ready: {log_path.read_text(errors='replace')}")


class Problems:
    """Everything that went wrong on the pages it watches: JavaScript and console errors,
    failed requests and HTTP errors."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._handlers: dict[str, Callable[[Any], None]] = {
            "pageerror": lambda exc: self.items.append(f"pageerror: {exc}"),
            "console": self._console,
            "requestfailed": lambda req: self.items.append(
                f"request failed: {req.url} {req.failure}"
            ),
            "response": self._response,
        }

    def _console(self, msg: Any) -> None:
        if msg.type == "error":
            self.items.append(f"console error: {msg.text}")

    def _response(self, res: Any) -> None:
        if res.status >= 400:
            self.items.append(f"HTTP {res.status}: {res.url}")

    def watch(self, page: Any) -> None:
        """Start recording a page's problems."""
        for event, handler in self._handlers.items():
            page.on(event, handler)

    def unwatch(self, page: Any) -> None:
        """Stop recording a page's problems."""
        for event, handler in self._handlers.items():
            page.remove_listener(event, handler)


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium browser driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def sign_in(context: Any, base: str, token: str, *, lang: str = "en") -> Any:
    """Sign in through the form like a person would; returns the page, left where it landed."""
    page = context.new_page()
    page.goto(f"{base}/dashboards/sign-in?lang={lang}")
    # The form's own field: the demo's sign-in page also has a one-click form per demo account.
    page.fill("form.signin input[name=token]", token)
    with page.expect_navigation():
        page.click("form.signin button[type=submit]")
    return page


def wait_for_figures(page: Any) -> int:
    """Wait until every plotly figure on the page has drawn; return how many there are."""
    count = int(page.locator("[data-figure]").count())
    if count:
        page.wait_for_function(
            "n => document.querySelectorAll('[data-figure] .main-svg').length >= n",
            arg=count,
            timeout=20_000,
        )
    return count
