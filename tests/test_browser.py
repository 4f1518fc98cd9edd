"""The HTML report in a real browser: Debian's Chromium, headless, driven by chromedriver.

Skipped only where no browser is installed (CI installs ``chromium`` and ``chromium-driver``,
see .ci/run). The page must load without console errors or network requests, show the chain,
the plots and the claim cards, and its filters must hide and show rows. A screenshot is saved
in the test's tmp dir (``report.png``, plus ``first-card.png``).
"""

from __future__ import annotations

import base64
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy import Engine

from evtrack.claims import load_claims
from evtrack.html_report import build_html
from evtrack.offline import OfflineSource
from evtrack.refresh import refresh
from evtrack.report import Report, build_report
from evtrack.resources import default_claims_dir, snapshot_files
from evtrack.store.db import open_store

if TYPE_CHECKING:
    from conftest import DatabaseFactory

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="no browser installed (apt-get install chromium chromium-driver)")


@pytest.fixture(scope="module")
def ledger(databases: DatabaseFactory) -> Iterator[tuple[Engine, Report, str]]:
    url = databases.create()
    engine = open_store(url)
    claim_set = load_claims([default_claims_dir()])
    refresh(engine, claim_set, OfflineSource.from_files(snapshot_files()))
    yield engine, build_report(engine), build_html(engine, claim_set)
    engine.dispose()
    databases.drop(url)


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WebDriver]:
    # Selenium Manager must never try to download a driver or a browser.
    monkeypatch.setenv("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                 "--disable-dev-shm-usage", "--window-size=1280,1000",
                 f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def console_errors(driver: WebDriver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def visible_rows(driver: WebDriver, claim: str) -> list[str]:
    rows = driver.find_elements(By.CSS_SELECTOR, f"#ev-{claim}-table tbody tr")
    return [r.get_attribute("data-stance") or "" for r in rows if r.is_displayed()]


def test_the_report_in_a_real_browser(browser: WebDriver, ledger: tuple[Engine, Report, str],
                                      tmp_path: Path) -> None:
    _engine, report, html = ledger
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    browser.get(page.as_uri())
    assert browser.title.startswith("Ketamine for depression")
    assert console_errors(browser) == []
    # Self-contained: the page fetched nothing (no stylesheets, scripts, fonts, images).
    assert browser.execute_script(
        "return performance.getEntriesByType('resource').length") == 0

    # The chain diagram: one box per claim, the weakest link marked, laid out and visible.
    chain = browser.find_element(By.CSS_SELECTOR, "svg.chain")
    assert chain.is_displayed() and chain.size["width"] > 600
    nodes = chain.find_elements(By.CSS_SELECTOR, "a.node")
    assert [n.get_attribute("data-claim") for n in nodes] == [c.id for c in report.claims]
    assert report.chain is not None and report.chain.weakest is not None
    weakest = chain.find_elements(By.CSS_SELECTOR, "a.node.weakest")
    assert [n.get_attribute("data-claim") for n in weakest] == [report.chain.weakest.weakest]

    # A plot per claim, drawn with both stance lines; a card per claim.
    plots = browser.find_elements(By.CSS_SELECTOR, "svg.plot")
    assert len(plots) == len(report.claims) and plots[0].size["height"] > 100
    assert plots[0].find_elements(By.CSS_SELECTOR, "path.series-supports")
    cards = browser.find_elements(By.CSS_SELECTOR, "article.card")
    assert [c.get_attribute("id") for c in cards] == [f"claim-{c.id}" for c in report.claims]

    # Filtering C1's evidence: the controls appear with JavaScript; words and stances filter.
    claim = report.claims[0]
    n = len(claim.links)
    box = browser.find_element(By.ID, f"ev-{claim.id}-filter")
    browser.execute_script("arguments[0].scrollIntoView()", box)
    assert box.is_displayed()
    assert len(visible_rows(browser, claim.id)) == n
    box.send_keys("no-such-word-anywhere")
    assert visible_rows(browser, claim.id) == []
    output = browser.find_element(By.CSS_SELECTOR, f"#claim-{claim.id} .controls output")
    assert output.text == f"0 of {n} papers shown"
    box.clear()
    box.send_keys(claim.links[0].pmid)
    assert len(visible_rows(browser, claim.id)) == 1
    box.send_keys("\b" * len(claim.links[0].pmid))
    assert len(visible_rows(browser, claim.id)) == n
    supports = browser.find_element(
        By.CSS_SELECTOR, f"#claim-{claim.id} .controls input[value=supports]")
    supports.click()
    shown = visible_rows(browser, claim.id)
    n_supports = sum(1 for r in claim.links if r.stance == "supports")
    assert n_supports and "supports" not in shown and len(shown) == n - n_supports
    supports.click()

    # Sorting by year, both ways.
    year = browser.find_element(By.XPATH, f"//table[@id='ev-{claim.id}-table']"
                                          "//th[button='year']/button")
    year.click()
    cells = browser.find_elements(By.CSS_SELECTOR, f"#ev-{claim.id}-table tbody td:nth-child(2)")
    years = [int(c.get_attribute("data-value") or 0) for c in cells]
    assert years == sorted(years)
    year.click()
    cells = browser.find_elements(By.CSS_SELECTOR, f"#ev-{claim.id}-table tbody td:nth-child(2)")
    assert [int(c.get_attribute("data-value") or 0) for c in cells] == sorted(years, reverse=True)
    assert console_errors(browser) == []

    # Screenshots: the whole page (through the DevTools protocol) and the first card.
    browser.execute_script("window.scrollTo(0, 0)")
    shot = browser.execute_cdp_cmd("Page.captureScreenshot",
                                   {"format": "png", "captureBeyondViewport": True})
    (tmp_path / "report.png").write_bytes(base64.b64decode(shot["data"]))
    cards[0].screenshot(str(tmp_path / "first-card.png"))
    assert (tmp_path / "report.png").stat().st_size > 50_000
