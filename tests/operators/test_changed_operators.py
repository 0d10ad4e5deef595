"""What changed in an interval, against the sandbox over HTTP, under every reading of the listing.

Each test compares with the sandbox's ground truth of the interval (``truth_changed``: the
activities whose ModifiedOn lies in ``[start, end)``, as they are now).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_leadact.exceptions import LeadSquaredConfigError
from airflow_provider_leadact.hooks.leadsquared import LeadSquaredHook
from airflow_provider_leadact.operators import (
    LeadSquaredActivitiesToObjectStorageOperator,
    LeadSquaredActivitiesToSqlOperator,
    LeadSquaredChangedActivitiesToObjectStorageOperator,
    LeadSquaredChangedActivitiesToSqlOperator,
    LeadSquaredChangedLeadsOperator,
    LeadSquaredPrunePartitionOperator,
)
from airflow_provider_leadact.validation import EventCode
from tests.support.connections import connection_json
from tests.support.truth import flattened_changed

READINGS = [
    {},
    {"range_record_count": "page"},
    {"range_max_page_size": 7},
    {"range_max_page_size": 7, "range_record_count": "page"},
    {"range_filter_on": "CreatedOn"},
    {"range_filter_on": "CreatedOn", "range_max_page_size": 5, "range_record_count": "page"},
    {"range_include_fields": "partial"},
]


@pytest.fixture
def sandbox(activity_sandbox):
    """The sandbox, back to its seed's data and default readings after the test."""
    yield activity_sandbox
    activity_sandbox.reset()


def busy_day(sb) -> datetime:
    """A day with many changes, some to activities created days before."""
    days = sb.history_days()
    return datetime.fromisoformat(days[len(days) // 2])


def read_jsonl(path: Path) -> dict[str, dict]:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    keyed = {row["id"]: row for row in rows}
    assert len(keyed) == len(rows), "an activity written twice"
    return keyed


@pytest.mark.parametrize("reading", READINGS, ids=lambda r: ",".join(f"{k}={v}" for k, v in r.items()) or "default")
def test_changed_leads_then_windowed_fetch_write_exactly_the_interval(sandbox, tmp_path: Path, reading) -> None:
    sandbox.configure(**reading)
    start = busy_day(sandbox)
    end = start + timedelta(days=1)
    truth = flattened_changed(sandbox, start, end)
    assert len(truth) > 20 and any(r["created_on"] < f"{start:%Y-%m-%d}" for r in truth.values())

    batches = LeadSquaredChangedLeadsOperator(
        task_id="leads", from_date=start.isoformat(), to_date=end.isoformat(), batch_size=4
    ).execute({})
    assert all(0 < len(batch) <= 4 for batch in batches)
    leads = [lead for batch in batches for lead in batch]
    assert len(leads) == len(set(leads))
    assert set(leads) == {r["lead_id"] for r in truth.values()}

    written: dict[str, dict] = {}
    for n, batch in enumerate(batches):
        path = tmp_path / f"part-{n}.jsonl"
        LeadSquaredActivitiesToObjectStorageOperator(
            task_id="fetch", lead_ids=batch, changed_from=str(start), changed_to=str(end), path=str(path)
        ).execute({})
        part = read_jsonl(path)
        assert not set(part) & set(written)
        written.update(part)
    assert written == truth


def test_a_lead_stops_paging_once_its_history_cannot_hold_a_change(sandbox, tmp_path: Path, monkeypatch) -> None:
    # 100 activities per page: a lead whose changes of the day lie in the newest part of its
    # history costs the pages down to its oldest changed activity, not its whole history.
    monkeypatch.setenv("AIRFLOW_CONN_LEADSQUARED_DEFAULT", connection_json(sandbox, page_size=100))

    def position(lead: str, day: str) -> float:
        """How far down the lead's history (newest first) its oldest change of the day lies."""
        history = sandbox.truth(lead)
        floor = min(a["CreatedOn"] for a in history if a["ModifiedOn"].startswith(day))
        return sum(1 for a in history if a["CreatedOn"] >= floor) / len(history)

    candidates = [
        (lead, day)
        for lead in sandbox.lead_ids()
        if len(sandbox.truth(lead)) >= 300
        for day in {a["ModifiedOn"][:10] for a in sandbox.truth(lead)}
    ]
    big, day = min(candidates, key=lambda c: position(*c))
    assert position(big, day) < 0.5, "the data should hold a lead changed near the top of a long history"
    newest = sandbox.truth(big)
    start = datetime.fromisoformat(day)
    end = start + timedelta(days=1)
    floors = LeadSquaredHook().get_changed_lead_ids(start, end)
    assert floors[big] == min(a["CreatedOn"] for a in newest if a["ModifiedOn"].startswith(day))
    sandbox.reset_stats()
    path = tmp_path / "big.jsonl"
    LeadSquaredActivitiesToObjectStorageOperator(
        task_id="fetch", lead_ids={big: floors[big]}, changed_from=start, changed_to=end, path=str(path)
    ).execute({})
    expected = {k: v for k, v in flattened_changed(sandbox, start, end).items() if v["lead_id"] == big}
    assert read_jsonl(path) == expected and expected
    calls_with_floor = sandbox.stats()["calls"]
    # Pages up to the floor's position, plus the probe that learns the server's Offset reading.
    position = sum(1 for a in newest if a["CreatedOn"] >= floors[big])
    assert calls_with_floor <= position // 100 + 2
    sandbox.reset_stats()
    LeadSquaredActivitiesToObjectStorageOperator(
        task_id="fetch", lead_ids=[big], changed_from=start, changed_to=end, path=str(path)
    ).execute({})
    assert read_jsonl(path) == expected
    # Without floors the whole history is paged.
    assert sandbox.stats()["calls"] >= len(newest) // 100 + 1 > calls_with_floor


@pytest.mark.parametrize("reading", READINGS, ids=lambda r: ",".join(f"{k}={v}" for k, v in r.items()) or "default")
def test_listing_operator_writes_exactly_the_interval(sandbox, tmp_path: Path, reading) -> None:
    sandbox.configure(**reading)
    start = busy_day(sandbox)
    end = start + timedelta(days=1)
    path = tmp_path / "changed.jsonl"
    summary = LeadSquaredChangedActivitiesToObjectStorageOperator(
        task_id="t", from_date=start.isoformat(), to_date=end.isoformat(), path=f"file://{path}"
    ).execute({})
    truth = flattened_changed(sandbox, start, end)
    assert read_jsonl(path) == truth
    assert summary["activities"] == len(truth) and summary["leads"] == len({r["lead_id"] for r in truth.values()})
    by_endpoint = sandbox.stats()["by_endpoint"]
    per_lead = sum(n for endpoint, n in by_endpoint.items() if endpoint.endswith("ProspectActivity.svc/Retrieve"))
    if reading.get("range_include_fields") != "partial" and reading.get("range_filter_on") != "CreatedOn":
        assert per_lead == 0, by_endpoint  # the listing alone


def test_listing_operator_to_sql_across_days_holds_each_activity_once(sandbox, sqlite_conn_id, table_name) -> None:
    days = [datetime.fromisoformat(d) for d in sandbox.history_days()[-4:]]
    for day in reversed(days):  # later days first, as a backfill would
        LeadSquaredChangedActivitiesToSqlOperator(
            task_id="t", from_date=day, to_date=day + timedelta(days=1), conn_id=sqlite_conn_id, table=table_name
        ).execute({})
    from airflow.sdk import BaseHook

    rows = BaseHook.get_hook(sqlite_conn_id).get_records(f"SELECT id, modified_on FROM {table_name}")
    truth = flattened_changed(sandbox, days[0], days[-1] + timedelta(days=1))
    assert sorted(rows) == sorted((k, r["modified_on"]) for k, r in truth.items())


def test_rows_edited_while_listing_never_hide_others(sandbox, tmp_path: Path) -> None:
    start = busy_day(sandbox)
    end = start + timedelta(days=1)
    before = flattened_changed(sandbox, start, end)
    sandbox.configure(range_churn=3, range_max_page_size=10)
    path = tmp_path / "changed.jsonl"
    LeadSquaredChangedActivitiesToObjectStorageOperator(
        task_id="t", from_date=start, to_date=end, path=str(path)
    ).execute({})
    after = flattened_changed(sandbox, start, end)
    written = read_jsonl(path)
    assert sandbox.stats()["edits"] > 0
    assert set(after) <= set(written) <= set(before)  # every activity still in the interval, nothing else
    assert {k: written[k] for k in after} == after


@pytest.mark.parametrize(
    ("from_date", "to_date", "message"),
    [
        ("2025-01-05T00:00:00+00:00", "2025-01-05T00:00:00+00:00", "is empty"),
        ("2025-01-06T00:00:00+00:00", "2025-01-05T00:00:00+00:00", "is reversed"),
        ("last tuesday", "2025-01-05T00:00:00+00:00", "is not a date"),
        ("", "2025-01-05T00:00:00+00:00", "render to nothing"),
        ("2025-01-05T00:00:00+00:00", "  ", "render to nothing"),
        (None, "2025-01-05T00:00:00+00:00", "must be a date"),
    ],
)
def test_bad_windows_are_refused_before_any_call(sandbox, tmp_path: Path, from_date, to_date, message) -> None:
    lead = sandbox.lead_ids()[0]
    operators = [
        LeadSquaredChangedLeadsOperator(task_id="a", from_date=from_date, to_date=to_date),
        LeadSquaredChangedActivitiesToObjectStorageOperator(
            task_id="b", from_date=from_date, to_date=to_date, path=str(tmp_path / "a.jsonl")
        ),
        LeadSquaredActivitiesToObjectStorageOperator(
            task_id="c", lead_ids=[lead], changed_from=from_date, changed_to=to_date, path=str(tmp_path / "b.jsonl")
        ),
    ]
    for op in operators:
        if op.task_id == "c" and from_date is None:
            message = "changed_from is missing"
        with pytest.raises(LeadSquaredConfigError, match=message):
            op.execute({})
    assert sandbox.stats()["calls"] == 0
    assert list(tmp_path.iterdir()) == []


def test_a_mapping_of_leads_needs_a_window(sandbox, tmp_path: Path) -> None:
    lead = sandbox.lead_ids()[0]
    op = LeadSquaredActivitiesToSqlOperator(task_id="t", lead_ids={lead: None}, conn_id="whatever")
    with pytest.raises(LeadSquaredConfigError, match="mapping"):
        op.execute({})
    op = LeadSquaredActivitiesToObjectStorageOperator(
        task_id="t", lead_ids={lead: "soon"}, changed_from="2025-01-01", changed_to="2025-01-02",
        path=str(tmp_path / "a.jsonl"),
    )  # fmt: skip
    with pytest.raises(LeadSquaredConfigError, match="not an API time"):
        op.execute({})
    assert sandbox.stats()["calls"] == 0


def test_prune_removes_only_parts_this_run_did_not_write(tmp_path: Path) -> None:
    for name in ("part-00000.jsonl", "part-00001.jsonl", "part-00002.jsonl", "notes.txt"):
        (tmp_path / name).write_text("{}\n")
    written = [{"location": f"file://{tmp_path}/part-00000.jsonl", "activities": 1}, None]
    removed = LeadSquaredPrunePartitionOperator(task_id="p", partition=f"file://{tmp_path}", written=written).execute(
        {}
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "part-00000.jsonl"]
    assert len(removed) == 2
    with pytest.raises(LeadSquaredConfigError, match="partition is empty"):
        LeadSquaredPrunePartitionOperator(task_id="p", partition=" ").execute({})


def test_every_operator_module_is_registered() -> None:
    import inspect
    import pkgutil

    from airflow.sdk import BaseOperator

    import airflow_provider_leadact.operators as package
    from airflow_provider_leadact.get_provider_info import get_provider_info

    info = get_provider_info()
    operators = [m for item in info["operators"] for m in item["python-modules"]]
    transfers = {item["python-module"] for item in info["transfers"]}
    # A module is either an operators module or a transfers module, as in official providers.
    assert not set(operators) & transfers
    registered = set(operators) | transfers
    with_operators = set()
    for info in pkgutil.iter_modules(package.__path__):
        module = __import__(f"{package.__name__}.{info.name}", fromlist=["_"])
        if any(
            issubclass(obj, BaseOperator) and obj.__module__ == module.__name__
            for _, obj in inspect.getmembers(module, inspect.isclass)
        ):
            with_operators.add(module.__name__)
    assert with_operators == registered


@pytest.mark.parametrize("filter_on", ["ModifiedOn", "CreatedOn"])
def test_an_event_code_keeps_only_its_changes_on_both_paths(sandbox, tmp_path: Path, filter_on) -> None:
    sandbox.configure(range_filter_on=filter_on)
    start = busy_day(sandbox)
    end = start + timedelta(days=1)
    truth = {k: r for k, r in flattened_changed(sandbox, start, end).items() if r["event_code"] == 22}
    assert truth
    listed = tmp_path / "listed.jsonl"
    LeadSquaredChangedActivitiesToObjectStorageOperator(
        task_id="t", from_date=start, to_date=end, activity_event="22", path=str(listed)
    ).execute({})
    assert read_jsonl(listed) == truth
    batches = LeadSquaredChangedLeadsOperator(
        task_id="leads", from_date=start, to_date=end, activity_event=22, batch_size=1000
    ).execute({})
    per_lead = tmp_path / "per-lead.jsonl"
    LeadSquaredActivitiesToObjectStorageOperator(
        task_id="f", lead_ids=batches[0], changed_from=start, changed_to=end, activity_event=22, path=str(per_lead)
    ).execute({})
    assert read_jsonl(per_lead) == truth


@pytest.fixture
def checks(monkeypatch) -> dict[str, Any]:
    """Count every check of a window and an event code, and record what reaches the hook's typed methods."""
    from airflow_provider_leadact import validation
    from airflow_provider_leadact.hooks import leadsquared
    from airflow_provider_leadact.operators import activities, leads

    seen: dict[str, Any] = {"window": 0, "event": 0, "listing": [], "planned": []}
    window_of = validation.Window.of.__func__
    event_of = validation.validate_activity_event

    def counted_window(cls, *args, **kwargs):
        seen["window"] += 1
        return window_of(cls, *args, **kwargs)

    def counted_event(value):
        seen["event"] += 1
        return event_of(value)

    monkeypatch.setattr(validation.Window, "of", classmethod(counted_window))
    for module in (activities, leads, leadsquared):
        monkeypatch.setattr(module, "validate_activity_event", counted_event)
    changed_listing, planned = LeadSquaredHook.changed_listing, LeadSquaredHook.iter_planned_activities

    def spy_listing(self, window, event, **kwargs):
        seen["listing"].append((window, event))
        return changed_listing(self, window, event, **kwargs)

    def spy_planned(self, plan, event=None, get_file_url=False, window=None, **kwargs):
        seen["planned"].append((plan, event, window))
        return planned(self, plan, event, get_file_url, window, **kwargs)

    monkeypatch.setattr(LeadSquaredHook, "changed_listing", spy_listing)
    monkeypatch.setattr(LeadSquaredHook, "iter_planned_activities", spy_planned)
    return seen


def busiest_event(truth: dict[str, dict]) -> int:
    codes = [row["event_code"] for row in truth.values()]
    return max(set(codes), key=codes.count)


def test_window_and_event_are_checked_once_and_reach_the_listing_and_fetcher_as_they_are(
    sandbox, tmp_path: Path, checks
) -> None:
    # Partial rows: the listed leads are fetched per lead too, through the one fetcher.
    sandbox.configure(range_include_fields="partial")
    start = busy_day(sandbox)
    end = start + timedelta(days=1)
    truth = flattened_changed(sandbox, start, end)
    code = busiest_event(truth)
    operator = LeadSquaredChangedActivitiesToObjectStorageOperator(
        task_id="changed",
        from_date=start.isoformat(),
        to_date=end.isoformat(),
        activity_event=str(code),
        path=str(tmp_path / "changed.jsonl"),
    )
    operator.execute({})
    assert read_jsonl(tmp_path / "changed.jsonl") == {k: v for k, v in truth.items() if v["event_code"] == code}
    assert (checks["window"], checks["event"]) == (1, 1)
    [(window, event)] = checks["listing"]
    assert window is operator._window and isinstance(event, EventCode) and event == code
    [(plan, planned_event, planned_window)] = checks["planned"]
    assert plan and planned_event is event and planned_window is window


def test_a_lead_batch_is_checked_once_into_a_plan_that_reaches_the_fetcher(sandbox, tmp_path: Path, checks) -> None:
    start = busy_day(sandbox)
    end = start + timedelta(days=1)
    [batch] = LeadSquaredChangedLeadsOperator(
        task_id="leads", from_date=start.isoformat(), to_date=end.isoformat(), batch_size=10_000
    ).execute({})
    assert (checks["window"], checks["event"]) == (1, 1)
    # The batch crosses XCom as JSON; both of its shapes are read, the mapping with its floors.
    for n, lead_ids in enumerate([json.loads(json.dumps(batch)), list(batch)]):
        operator = LeadSquaredActivitiesToObjectStorageOperator(
            task_id="fetch",
            lead_ids=lead_ids,
            changed_from=str(start),
            changed_to=str(end),
            path=str(tmp_path / f"{n}"),
        )
        operator.execute({})
        assert read_jsonl(tmp_path / f"{n}") == flattened_changed(sandbox, start, end)
        plan, event, window = checks["planned"][-1]
        assert plan is operator._plan and window is operator._window and event is None
        assert dict(plan) == (batch if n == 0 else dict.fromkeys(batch))
    assert (checks["window"], checks["event"]) == (3, 3)
