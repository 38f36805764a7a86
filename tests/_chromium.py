"""Debian's chromium under Selenium, for the browser tests: headless, offline (only this
machine is reachable), with browser and network logs."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest

CHROMIUM = Path(
    os.environ.get("BOOK_CHROMIUM") or "/usr/bin/chromium"
)  # the Makefile passes its CHROMIUM, ...
CHROMEDRIVER = Path(
    os.environ.get("BOOK_CHROMEDRIVER") or "/usr/bin/chromedriver"
)  # ... and CHROMEDRIVER


@contextlib.contextmanager
def chromium(window="1280,1000", script_timeout=30):
    """A Selenium driver for Debian's chromium; every host but this machine is
    unreachable."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} missing: the browser tests need Debian's chromium "
            "and chromium-driver (`make test` installs them as root; or: apt-get "
            "install -y chromium chromium-driver)"
        )
    os.environ["SE_OFFLINE"] = (
        "true"  # Selenium must never download a browser or a driver
    )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="book-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
        f"--user-data-dir={profile}",
        f"--window-size={window}",
        # the page may reach this machine only: other names do not resolve, other
        # addresses go to a dead proxy
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
        "--proxy-server=http://127.0.0.1:9",
        "--proxy-bypass-list=localhost;127.0.0.1",
    ):
        options.add_argument(flag)
    options.set_capability(
        "goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"}
    )
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_script_timeout(script_timeout)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
