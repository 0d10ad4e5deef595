"""The shared sandbox's keys and settings, a raw API client, and leads picked by size."""

from __future__ import annotations

from typing import Any

import requests

from airflow_provider_leadact.sandbox import Sandbox
from airflow_provider_leadact.sandbox.api import ACTIVITIES_PATH, LEADS_PATH, USER_PATH

#: Keys of the shared sandbox: long and distinctive, so that finding one anywhere (a log, a
#: file, a row) can only mean it leaked.
KEYS = {"access_key": "LSQ-ACCESS-rel-7f3c9e21b4d8a6e0", "secret_key": "LSQ-SECRET-rel-2e9b7d41c8f3a05d"}
#: Keys a user might mistype into a connection: they must not leak either.
WRONG_KEYS = {"access_key": "LSQ-WRONG-ACCESS-91c0d2e7f4a8b3", "secret_key": "LSQ-WRONG-SECRET-5d8e2f1a7c9b46"}
ALL_KEYS = (*KEYS.values(), *WRONG_KEYS.values())
#: Settings of the shared sandbox (what ``Sandbox.reset()`` returns it to): the default data
#: set, the distinctive keys, and no rate limit (the tests that need one set it).
SHARED_SANDBOX = {"rate_limit_calls": 0, **KEYS}


def leads_by_size(sandbox: Sandbox) -> dict[str, str]:
    """A few lead ids of useful sizes from the default data set.

    ``empty`` (no activity), ``small`` (5 to 20), ``medium`` (100 to 400), ``large`` (1037)
    and ``largest`` (1500).
    """
    leads = sorted(sandbox.dataset.leads, key=lambda lead: len(lead.activities))
    return {
        "empty": leads[0].lead_id,
        "small": next(lead.lead_id for lead in leads if 5 <= len(lead.activities) <= 20),
        "medium": next(lead.lead_id for lead in leads if 100 <= len(lead.activities) <= 400),
        "largest": leads[-1].lead_id,
        "large": leads[-2].lead_id,
    }


class Client:
    """A minimal LeadSquared client for the sandbox's own tests: raw requests, nothing hidden."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.session = requests.Session()
        self.headers = {
            "x-LSQ-AccessKey": sandbox.config.access_key,
            "x-LSQ-SecretKey": sandbox.config.secret_key,
        }

    def url(self, path: str) -> str:
        return self.sandbox.url + path

    def activities(
        self,
        lead_id: str | None,
        body: Any = None,
        *,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10,
    ) -> requests.Response:
        query = dict(params or {})
        if lead_id is not None:
            query["leadId"] = lead_id
        return self.session.post(
            self.url(ACTIVITIES_PATH),
            params=query,
            json={} if body is None else body,
            headers=self.headers if headers is None else headers,
            timeout=timeout,
        )

    def user(self, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("headers", self.headers)
        kwargs.setdefault("timeout", 10)
        return self.session.get(self.url(USER_PATH), **kwargs)

    def leads(self, body: Any) -> requests.Response:
        return self.session.post(self.url(LEADS_PATH), json=body, headers=self.headers, timeout=10)

    def control(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.url("/_sandbox" + path), timeout=10, **kwargs)

    def all_pages(self, lead_id: str, size: int, first: int, step: int) -> list[dict[str, Any]]:
        """Page with Offset = first, first + step, ... until a short page."""
        rows: list[dict[str, Any]] = []
        offset = first
        while True:
            response = self.activities(lead_id, {"Paging": {"Offset": str(offset), "RowCount": str(size)}})
            assert response.status_code == 200, response.text
            page = response.json()["ProspectActivities"]
            rows.extend(page)
            if len(page) < size:
                return rows
            offset += step

    def post(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        """POST a JSON body to an API path with the keys in headers."""
        kwargs.setdefault("headers", self.headers)
        kwargs.setdefault("timeout", 10)
        return self.session.post(self.url(path), json=body, **kwargs)
