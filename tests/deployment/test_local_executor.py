"""A LocalExecutor deployment (PostgreSQL, api-server, scheduler, DAG processor) backfills the daily DAG.

Then chromium looks at it as a person would: the connection form, the backfill's grid, a
task's log. Screenshots are kept in ``build/deployment/screenshots/``.
"""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest

from airflow_provider_leadact.airflow_compat import AIRFLOW_VERSION
from tests.support.airflow_deployment import ARTIFACTS, readme_commands
from tests.support.browser import chromium, is_green, until
from tests.support.deployment_scenario import DAG_ID, INTERVAL_STARTS

pytestmark = pytest.mark.deployment

SHOTS = ARTIFACTS / "screenshots"
#: A progress line of a fetch task, e.g. "Leads 2/4 done, 41 activities, 3 API calls, ...".
# The per-lead path counts leads ("12/40 done"), the listing the share of its window ("45% done").
PROGRESS = re.compile(r"\b\d+(/\d+|%) done\b.*\bAPI calls\b")


def test_backfill_is_exact_idempotent_and_within_the_rate_limit(local_deployment, deployment_sandbox) -> None:
    # The checks run inside the fixture (tests/support/deployment_scenario.py), so the browser test
    # can look at the same runs; here, what they measured.
    _, outcome = local_deployment
    assert outcome.activities > 0 and outcome.fetch_overlap >= 2
    assert outcome.max_in_window <= deployment_sandbox.config.rate_limit_calls


def test_the_readme_deployment_is_the_one_run(local_deployment) -> None:
    deployment, _ = local_deployment
    shown = readme_commands("LocalExecutor")
    # `stop` runs when the fixture ends, and fails the set-up's teardown if it fails.
    assert shown - {"stop"} <= set(deployment.script_calls), shown - set(deployment.script_calls)
    assert set(deployment.script_calls) <= shown, set(deployment.script_calls) - shown


def test_connection_test_names_the_host(local_deployment, deployment_sandbox) -> None:
    _, outcome = local_deployment
    # Airflow tests the form under a random temporary connection id; the message names
    # what the user typed instead.
    assert urlsplit(deployment_sandbox.url).netloc in outcome.connection_test, outcome.connection_test


def test_connection_form_grid_and_task_log_in_chromium(local_deployment) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from airflow_provider_leadact.get_provider_info import get_provider_info

    deployment, _ = local_deployment
    form = next(c for c in get_provider_info()["connection-types"] if c["connection-type"] == "leadsquared")
    behaviour = form["ui-field-behaviour"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium(ARTIFACTS) as browser:

        def shot(name: str) -> None:
            browser.save_screenshot(str(SHOTS / f"{name}.png"))

        # Sign in as a user would.
        browser.get(f"{deployment.url}/auth/login")
        until("the sign-in form", lambda: browser.find_element(By.NAME, "username")).send_keys("admin")
        browser.find_element(By.NAME, "password").send_keys(deployment.password)
        shot("01-sign-in")
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        until("the home page", lambda: "/auth/login" not in browser.current_url)

        # The new-connection form for type LeadSquared: relabelled fields, hidden ones, extras.
        browser.get(f"{deployment.url}/connections")
        until(
            "Add Connection",
            lambda: [b for b in browser.find_elements(By.TAG_NAME, "button") if b.text == "Add Connection"],
        )[0].click()
        kind = until(
            "the connection type box", lambda: browser.find_element(By.CSS_SELECTOR, "[role=dialog] [role=combobox]")
        )
        kind.send_keys(form["hook-name"])
        time.sleep(1)
        kind.send_keys(Keys.ENTER)
        dialog = browser.find_element(By.CSS_SELECTOR, "[role=dialog]")
        until("the standard fields", lambda: behaviour["relabeling"]["login"] in dialog.text)
        shot("02-new-connection-standard-fields")
        labels = dialog.text.splitlines()
        for field, label in behaviour["relabeling"].items():
            assert label in labels, f"{field} is not shown as {label!r}: {labels}"
        for hidden in behaviour["hidden-fields"]:
            assert hidden.capitalize() not in labels, f"{hidden} should be hidden: {labels}"
        for plain in ("Login", "Password", "Host"):
            assert plain not in labels
        if AIRFLOW_VERSION >= (3, 2):
            # The extras as form fields, from the provider info's conn-fields.
            next(b for b in dialog.find_elements(By.TAG_NAME, "button") if b.text.strip() == "Extra Fields").click()
            extras = form["conn-fields"]
            until("the extra fields", lambda: all(f["label"] in dialog.text for f in extras.values()))
        else:
            # Airflow 3.1's form shows no widgets for a provider's extras: they are typed as JSON.
            assert "Extra Fields JSON" in labels, labels
        shot("03-new-connection-extra-fields")

        # The daily DAG's grid: every backfilled run green, and every task of it.
        browser.get(f"{deployment.url}/dags/{DAG_ID}")
        # Each run's bar (above the task cells) links to the run and holds a box in its colour.
        bar_links = 'a[href*="/runs/backfill__"][href$="/"]'
        until(
            "the backfill's runs in the grid",
            lambda: len(browser.find_elements(By.CSS_SELECTOR, bar_links)) >= len(INTERVAL_STARTS),
        )
        time.sleep(1)
        shot("04-grid")
        colour = "return getComputedStyle(arguments[0]).backgroundColor"
        links = browser.find_elements(By.CSS_SELECTOR, bar_links)
        for link in links:
            bar = link.find_element(By.CSS_SELECTOR, "div")
            assert is_green(browser.execute_script(colour, bar)), link.get_attribute("href")
        cells = browser.find_elements(By.CSS_SELECTOR, "a[id^=grid-backfill__]")
        assert len(cells) >= len(INTERVAL_STARTS) * 4  # four tasks per run
        for cell in cells:
            inner = cell.find_element(By.CSS_SELECTOR, "*")
            assert is_green(browser.execute_script(colour, inner)), cell.get_attribute("id")

        # A fetch task's log shows its progress lines.
        run_id = links[0].get_attribute("href").rstrip("/").rsplit("/runs/", 1)[1]
        browser.get(f"{deployment.url}/dags/{DAG_ID}/runs/{run_id}/tasks/fetch_activities/mapped/0")
        lines = until(
            "progress lines in the fetch task's log",
            lambda: [
                line for line in browser.find_element(By.TAG_NAME, "body").text.splitlines() if PROGRESS.search(line)
            ],
        )
        shot("05-fetch-task-log")
        assert lines, "no progress line"
