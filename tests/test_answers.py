"""Classifying answers: every kind of answer LeadSquared gives, served over real HTTP by a proxy
to the sandbox that answers it, read as a value (ok, rate limited, retry, fail), never raised."""

from __future__ import annotations

import json

import pytest
import requests

from airflow_provider_leadact import exceptions as errors
from airflow_provider_leadact.answers import Answer, Verdict, classify
from airflow_provider_leadact.endpoints import USER_PATH
from tests.support.proxies import RewritingProxy
from tests.support.sandbox import KEYS

HEADERS = {"x-LSQ-AccessKey": KEYS["access_key"], "x-LSQ-SecretKey": KEYS["secret_key"]}

SECRET = "LSQ-SECRET-never-shown"
RATE_LIMIT = {"ExceptionType": "MXAPIRateLimitExceededException", "ExceptionMessage": "the limit of 25 in 5 second(s)"}


def mx(kind: str, message: str) -> dict[str, str]:
    return {"Status": "Error", "ExceptionType": kind, "ExceptionMessage": message}


CASES = [
    (200, {"FirstName": "Sandbox"}, Verdict.OK, None),
    (429, {}, Verdict.RATE_LIMITED, errors.LeadSquaredRateLimited),
    (200, RATE_LIMIT, Verdict.RATE_LIMITED, errors.LeadSquaredRateLimited),
    (
        429,
        {**RATE_LIMIT, "ExceptionMessage": "API calls exceeded the daily limit"},
        Verdict.FAIL,
        errors.LeadSquaredDailyLimitError,
    ),
    (401, mx("MXUnAuthorizedException", "Invalid keys"), Verdict.FAIL, errors.LeadSquaredAuthError),
    (404, "", Verdict.FAIL, errors.LeadSquaredNotFoundError),
    (400, mx("MXInvalidInputException", f"bad lead (key {SECRET})"), Verdict.FAIL, errors.LeadSquaredApiError),
    (500, mx("MXDuplicateEntryException", "duplicate"), Verdict.FAIL, errors.LeadSquaredApiError),
    (503, "", Verdict.RETRY, errors.LeadSquaredTransientError),
    (200, "not JSON", Verdict.RETRY, errors.LeadSquaredTransientError),
    (200, {"Status": "Error", "ExceptionMessage": "no"}, Verdict.FAIL, errors.LeadSquaredApiError),
    (418, "teapot", Verdict.FAIL, errors.LeadSquaredApiError),
]


@pytest.mark.parametrize(("status", "body", "verdict", "error"), CASES)
def test_an_answer_is_classified_as_a_value(sandbox, status, body, verdict, error):
    served = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    with RewritingProxy(sandbox.url, lambda path, _status, _body: (status, served)) as proxy:
        response = requests.get(proxy.url + USER_PATH, headers=HEADERS, timeout=10)
    answer = classify(
        response, "the user", base_url=proxy.url, name="connection 'c'", scrub=lambda text: text.replace(SECRET, "***")
    )
    assert isinstance(answer, Answer) and answer.verdict is verdict
    if error is None:
        assert answer.error is None and answer.result() == body
        return
    assert type(answer.error) is error and SECRET not in str(answer.error)
    with pytest.raises(error):
        answer.result()
    if verdict is not Verdict.RATE_LIMITED:  # a rate limit carries the server's words alone
        assert str(answer.error).startswith("the user")


def test_an_answer_without_its_error_still_fails():
    with pytest.raises(errors.LeadSquaredError, match="classified retry"):
        Answer(Verdict.RETRY).result()
