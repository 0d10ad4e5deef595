"""Debian's chromium, driven by Selenium through chromium-driver (no browser download)."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
DRIVER = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")


def _first(paths: tuple[str, ...], name: str) -> str:
    found = next((p for p in paths if os.path.exists(p)), None) or shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed: apt-get install chromium chromium-driver")
    return found


@contextmanager
def chromium(downloads: Path) -> Iterator[object]:
    """A headless chromium session; quit on exit, also on failure."""
    # Selenium Manager would try to download a browser or driver it cannot find: say where they are.
    os.environ["SE_OFFLINE"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = _first(CHROMIUM, "chromium")
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root, where chromium's sandbox refuses to start
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1600,1000",
        f"--user-data-dir={downloads / 'profile'}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=_first(DRIVER, "chromedriver")), options=options)
    try:
        driver.set_page_load_timeout(60)
        yield driver
    finally:
        driver.quit()


def until(what: str, check: Callable[[], Any], timeout: float = 30) -> Any:
    """Wait for the React UI to render something; fail with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = check()
        except Exception:  # elements re-render and go stale while the page loads
            found = None
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"the UI did not show {what} within {timeout:.0f} s")


def is_green(css_color: str) -> bool:
    """Whether a computed CSS colour (``oklch(...)`` or ``rgb(...)``) is the green of success."""
    numbers = [float(n) for n in re.findall(r"[\d.]+", css_color)]
    if css_color.startswith("oklch"):
        _, chroma, hue = numbers[:3]
        return chroma > 0.08 and 120 <= hue <= 170
    red, green, blue = numbers[:3]
    return green > 90 and green > red * 1.5 and green > blue * 1.5
