"""The sandbox's routing tables: API endpoints, control endpoints, and what each fault does.

Adding an endpoint is one line in :data:`API_ROUTES` (or :data:`CONTROL_ROUTES`) and the
function that answers it; the HTTP plumbing in :mod:`~airflow_provider_leadact.sandbox.server`
does not change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_leadact.sandbox import activity_types, api, date_range
from airflow_provider_leadact.sandbox.state import SandboxState


@dataclass(frozen=True)
class ApiRequest:
    """What an API answer may depend on besides the state.

    :ivar query: query parameters, names lower-cased.
    :ivar body: the raw request body.
    :ivar api_url: the account's API base URL (its region's host and the sandbox's port).
    """

    query: Mapping[str, str]
    body: bytes
    api_url: str


@dataclass(frozen=True)
class ApiRoute:
    """One emulated endpoint.

    :ivar method: the HTTP method it accepts.
    :ivar answer: builds the 200 answer (a JSON object or list), or raises :class:`~.api.ApiError`.
    :ivar any_host: answers on any region's host (``UserByAccessKey.Get`` only).
    """

    method: str
    answer: Callable[[SandboxState, ApiRequest], Any]
    any_host: bool = False


def _activities(state: SandboxState, request: ApiRequest) -> dict[str, Any]:
    return state.read(lambda dataset, config: api.retrieve_activities(dataset, config, request.query, request.body))


def _leads(state: SandboxState, request: ApiRequest) -> dict[str, Any]:
    return state.read(lambda dataset, _config: api.recently_modified(dataset, request.body))


def _user(state: SandboxState, request: ApiRequest) -> dict[str, Any]:
    return api.user_by_access_key(request.api_url)


def _range(state: SandboxState, request: ApiRequest) -> dict[str, Any]:
    return state.list_range(request.body)


def _changes(state: SandboxState, request: ApiRequest) -> dict[str, Any]:
    return state.read(lambda dataset, config: date_range.retrieve_activity_change(dataset, config, request.body))


def _activity_types(state: SandboxState, request: ApiRequest) -> list[dict[str, Any]]:
    return activity_types.activity_types()


def _activity_setting(state: SandboxState, request: ApiRequest) -> dict[str, Any]:
    return activity_types.activity_setting(request.query)


#: The API: path -> route. Paths match case-insensitively, as WCF matches them.
API_ROUTES: dict[str, ApiRoute] = {
    api.ACTIVITIES_PATH: ApiRoute("POST", _activities),
    api.LEADS_PATH: ApiRoute("POST", _leads),
    api.USER_PATH: ApiRoute("GET", _user, any_host=True),
    date_range.RANGE_PATH: ApiRoute("POST", _range),
    date_range.CHANGES_PATH: ApiRoute("POST", _changes),
    activity_types.TYPES_PATH: ApiRoute("GET", _activity_types),
    activity_types.SETTING_PATH: ApiRoute("GET", _activity_setting),
}
_BY_LOWER_PATH = {path.lower(): path for path in API_ROUTES}


def match_api_path(path: str) -> str | None:
    """Return the endpoint's path as declared, matched case-insensitively, or ``None``.

    :param path: the request path without query string or trailing slash.
    """
    return _BY_LOWER_PATH.get(path.lower())


@dataclass(frozen=True)
class Fault:
    """What a fault does to an API call that passed authentication and the limits.

    :ivar replaces: the answer sent instead of the endpoint's: ``"drop"`` (close the
        connection unanswered), ``"500"``, ``"503"``, ``"rate_limit"``; ``None`` to answer.
    :ivar delays: wait ``slow_seconds`` before answering.
    :ivar truncates: send only the first half of the answer's body.
    """

    replaces: str | None = None
    delays: bool = False
    truncates: bool = False


#: Fault kind -> what it does.
FAULTS: dict[str, Fault] = {
    "drop": Fault(replaces="drop"),
    "500": Fault(replaces="500"),
    "503": Fault(replaces="503"),
    "rate_limit": Fault(replaces="rate_limit"),
    "slow": Fault(delays=True),
    "truncated": Fault(truncates=True),
}
NO_FAULT = Fault()


def _parse_count(request: Mapping[str, Any], default: int = 1) -> int:
    count = request.get("count", default)
    if not isinstance(count, int) or isinstance(count, bool):
        raise ValueError(f"count must be an integer, got {count!r}")
    return count


def _truth(state: SandboxState, query: Mapping[str, str], body: Mapping[str, Any]) -> Any:
    event_text = query.get("activityevent")
    event = int(event_text) if event_text else None
    file_urls = query.get("getfileurl", "").lower() == "true"
    lead_id = query.get("leadid")
    ids = [lead_id] if lead_id else state.lead_ids()
    return {item: state.truth(item, event, file_urls) for item in ids}


def _interval(query: Mapping[str, str]) -> tuple[str, str]:
    if not query.get("from") or not query.get("to"):
        raise ValueError("send ?from=YYYY-MM-DDTHH:MM:SS&to=YYYY-MM-DDTHH:MM:SS (from included, to excluded)")
    return query["from"], query["to"]


def _truth_changed(state: SandboxState, query: Mapping[str, str], body: Mapping[str, Any]) -> Any:
    # digest=1: a summary instead of the rows (a large account's interval is too big to ship).
    if query.get("digest") in ("1", "true"):
        return state.truth_changed_digest(*_interval(query))
    return state.truth_changed(*_interval(query))


def _truth_changes(state: SandboxState, query: Mapping[str, str], body: Mapping[str, Any]) -> Any:
    return state.truth_changes(*_interval(query))


def _history_days(state: SandboxState, query: Mapping[str, str], body: Mapping[str, Any]) -> Any:
    return state.history_days()


def _leads_list(state: SandboxState, query: Mapping[str, str], body: Mapping[str, Any]) -> Any:
    return [
        {"lead_id": lead.lead_id, "modified_on": lead.modified_on, "activities": len(lead.activities)}
        for lead in state.dataset.leads
    ]


def _stats(state: SandboxState, query: Mapping[str, str], body: Mapping[str, Any]) -> Any:
    return state.stats()


def _reset_stats(state: SandboxState, query: Mapping[str, str], body: Mapping[str, Any]) -> Any:
    state.reset_stats()
    return state.stats()


def _reset(state: SandboxState, query: Mapping[str, str], body: Mapping[str, Any]) -> Any:
    state.reset()
    return state.config.public_dict()


def _show_config(state: SandboxState, query: Mapping[str, str], body: Mapping[str, Any]) -> Any:
    return state.config.public_dict()


def _configure(state: SandboxState, query: Mapping[str, str], body: Mapping[str, Any]) -> Any:
    return state.configure(**body).public_dict()


def _faults(state: SandboxState, query: Mapping[str, str], body: Mapping[str, Any]) -> Any:
    if "kind" not in body:
        raise ValueError('send {"kind": "<fault kind>", "count": <n>}')
    return {"queued": state.inject_faults(str(body["kind"]), _parse_count(body))}


def _clear_faults(state: SandboxState, query: Mapping[str, str], body: Mapping[str, Any]) -> Any:
    state.clear_faults()
    return {"queued": 0}


def _edit(state: SandboxState, query: Mapping[str, str], body: Mapping[str, Any]) -> Any:
    unknown = sorted(set(body) - {"count", "at", "lead_id"})
    if unknown:
        raise ValueError(f"unknown edit field(s): {', '.join(unknown)}; send count, at, lead_id")
    changes = state.edit_activities(_parse_count(body), at=body.get("at"), lead_id=body.get("lead_id"))
    return {"edited": changes}


def _add_activities(state: SandboxState, query: Mapping[str, str], body: Mapping[str, Any]) -> Any:
    if set(body) != {"activities"}:
        raise ValueError('send {"activities": [<activity>, ...]}')
    state.add_activities(body["activities"])
    return {"added": len(body["activities"])}


#: Control endpoints under ``/_sandbox``: (method, path) -> function(state, query, JSON body).
#: They skip authentication, limits, faults and counters. ``ValueError`` answers 400.
CONTROL_ROUTES: dict[tuple[str, str], Callable[[SandboxState, Mapping[str, str], Mapping[str, Any]], Any]] = {
    ("GET", "/_sandbox/stats"): _stats,
    ("POST", "/_sandbox/stats/reset"): _reset_stats,
    ("POST", "/_sandbox/reset"): _reset,
    ("GET", "/_sandbox/truth"): _truth,
    ("GET", "/_sandbox/truth/changed"): _truth_changed,
    ("GET", "/_sandbox/truth/changes"): _truth_changes,
    ("GET", "/_sandbox/history/days"): _history_days,
    ("GET", "/_sandbox/leads"): _leads_list,
    ("GET", "/_sandbox/config"): _show_config,
    ("POST", "/_sandbox/config"): _configure,
    ("POST", "/_sandbox/faults"): _faults,
    ("POST", "/_sandbox/faults/clear"): _clear_faults,
    ("POST", "/_sandbox/edit"): _edit,
    ("POST", "/_sandbox/activities"): _add_activities,
}
