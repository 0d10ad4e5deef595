"""Each endpoint's typed method over real HTTP against the sandbox: the request it sends, the
page it returns, and the one check that refuses an answer that is not what it returns."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from airflow_provider_leadact.endpoints import (
    ACTIVITIES_PATH,
    CHANGE_HISTORY_PATH,
    RECENTLY_MODIFIED_PATH,
    LeadsPage,
    LeadSquaredApi,
    Page,
)
from airflow_provider_leadact.exceptions import LeadSquaredApiError
from tests.support.proxies import RewritingProxy


def api_of(hook: Any) -> LeadSquaredApi:
    return hook.api


def test_an_activities_page_is_the_leads_activities(sandbox, make_hook):
    api = api_of(make_hook(sandbox))
    lead = next(i for i in sandbox.lead_ids() if 0 < len(sandbox.truth(i)) <= 30)
    page = api.activities_page(lead, 0, 1000)
    assert isinstance(page, Page) and page.rows == sandbox.truth(lead)
    assert page.record_count in (None, len(sandbox.truth(lead)))
    assert sandbox.stats()["by_endpoint"] == {ACTIVITIES_PATH: 1}


def test_a_leads_page_names_the_leads_modified_in_the_interval(sandbox, make_hook):
    api = api_of(make_hook(sandbox))
    first, last = datetime(2025, 1, 3, tzinfo=timezone.utc), datetime(2025, 1, 3, 23, 59, 59, tzinfo=timezone.utc)
    page = api.leads_page(first, last, 1, what="leads of 3 January")
    expected = sandbox.leads_modified("2025-01-03 00:00:00", "2025-01-03 23:59:59")
    assert isinstance(page, LeadsPage) and sorted(page.lead_ids) == sorted(expected) and page.size == len(expected)
    assert sandbox.stats()["by_endpoint"] == {RECENTLY_MODIFIED_PATH: 1}


def test_the_user_is_the_one_behind_the_keys(sandbox, make_hook):
    assert api_of(make_hook(sandbox)).user()["FirstName"] == "Sandbox"


@pytest.mark.parametrize(
    ("path", "key", "fetch", "words"),
    [
        (
            ACTIVITIES_PATH,
            "ProspectActivities",
            "activities",
            "activities of lead .*: ProspectActivities is not a list",
        ),
        (
            CHANGE_HISTORY_PATH,
            "Activities",
            "changes",
            "changes in a day \\(RetrieveActivityChange\\): Activities is not a list",
        ),
    ],
)
def test_an_answer_that_is_not_a_page_is_an_error_naming_what_was_fetched(sandbox, make_hook, path, key, fetch, words):
    def rewrite(answered: str, status: int, payload: bytes) -> tuple[int, bytes]:
        return (status, b'{"%s": [1, 2], "RecordCount": 2}' % key.encode()) if answered == path else (status, payload)

    lead = sandbox.lead_ids()[0]
    with RewritingProxy(sandbox.url, rewrite) as proxy:
        api = api_of(make_hook(sandbox, host=proxy.url))
        with pytest.raises(LeadSquaredApiError, match=words) as caught:
            if fetch == "activities":
                api.activities_page(lead, 0, 100)
            else:
                api.change_history_page("2025-01-01 00:00:00", "2025-01-02 00:00:00", 1, 100, what="changes in a day")
    assert proxy.paths == {path: 1}  # not retried: another attempt would read the same
    assert sandbox.config.access_key not in str(caught.value)
