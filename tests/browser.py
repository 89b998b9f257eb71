"""A real browser for the dashboard's tests: Debian's ``chromium`` driven through
its ``chromium-driver`` by Selenium, and axe-core's accessibility rules run in it.

Nothing is downloaded: the driver is given by path (so Selenium Manager never
runs), the browser starts with a fresh profile and no background networking, and
axe-core is the copy in ``tests/vendor/`` (its version and licence are there).
``make test`` installs the two Debian packages when missing; without them these
tests fail (they are never skipped)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2, levels A and AA (axe has no 2.2 A rules of its own).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
)


def start_chromium(profile: Path, *, javascript: bool = True) -> WebDriver:
    """A headless Chromium with a fresh profile in ``profile``. ``javascript=False``
    turns off scripts on pages (WebDriver's own calls still work)."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not found: the browser tests need Debian's chromium "
            "and chromium-driver (run: make system-packages)",
            pytrace=False,
        )
    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in ARGUMENTS:
        options.add_argument(argument)
    options.add_argument(f"--user-data-dir={profile}")
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2}
        )
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    return driver


@pytest.fixture(scope="session", name="chromium")
def chromium_browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """One Chromium for the session (import it into a test module to use it)."""
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield driver
    finally:
        driver.quit()


def axe_violations(driver: WebDriver) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.x A and AA violations on the page open in ``driver``."""
    if not driver.execute_script("return typeof window.axe !== 'undefined'"):
        driver.execute_script(AXE.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]},"
        " resultTypes: ['violations']})"
        ".then(r => done(JSON.stringify(r.violations)), e => done(JSON.stringify("
        "[{id: 'axe-error', help: String(e), nodes: []}])));",
        AXE_TAGS,
    )
    violations: list[dict[str, Any]] = json.loads(result)
    return violations


def describe(violations: list[dict[str, Any]]) -> list[str]:
    """One line per violation and element, to read in a failing test."""
    return [
        f"{v['id']}: {v.get('help', '')} at {', '.join(map(str, node.get('target', [])))}"
        for v in violations
        for node in v.get("nodes", [{}]) or [{}]
    ]
