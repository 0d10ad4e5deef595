"""The generated data set: deterministic, and covering every shape the API notes describe."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_leadact.sandbox import Dataset, generate_dataset
from airflow_provider_leadact.sandbox.data import (
    ACTIVITY_KEYS,
    EVENT_NAMES,
    FILE_URL_BASE,
    TIME_FORMAT,
    with_file_urls,
)

GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
STAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return generate_dataset()


@pytest.fixture(scope="module")
def activities(dataset: Dataset) -> list[dict[str, Any]]:
    return [item for lead in dataset.leads for item in lead.activities]


def as_json(dataset: Dataset) -> str:
    # vars() rather than dataclasses.asdict(): no deep copy of five thousand activities.
    return json.dumps([vars(lead) for lead in dataset.leads], ensure_ascii=False)


def fingerprint(dataset: Dataset) -> str:
    return hashlib.sha256(as_json(dataset).encode()).hexdigest()


def data_pairs(activity: dict[str, Any]) -> dict[str, Any]:
    data = activity["Data"]
    if isinstance(data, dict):
        return data
    return {pair["Key"]: pair["Value"] for pair in data}


def test_same_seed_same_data_other_seed_other_data(dataset: Dataset) -> None:
    assert fingerprint(generate_dataset()) == fingerprint(dataset)
    assert fingerprint(generate_dataset(seed=8)) != fingerprint(dataset)
    assert generate_dataset(seed=8).lead_ids() != dataset.lead_ids()


def test_independent_of_process_hash_seed_and_global_random(dataset: Dataset) -> None:
    # Another interpreter, another hash seed, the global RNG disturbed first: same bytes.
    code = (
        "import random; random.seed(123); random.random()\n"
        "import hashlib, json\n"
        "from airflow_provider_leadact.sandbox import generate_dataset\n"
        "d = generate_dataset()\n"
        "t = json.dumps([vars(x) for x in d.leads], ensure_ascii=False)\n"
        "print(hashlib.sha256(t.encode()).hexdigest())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "4242", "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, timeout=60
    )
    assert result.stdout.strip() == fingerprint(dataset)


def test_generation_is_fast() -> None:
    began = time.perf_counter()
    generate_dataset()
    assert time.perf_counter() - began < 1.0


def test_count_distribution_of_the_default_data_set(dataset: Dataset) -> None:
    counts = [len(lead.activities) for lead in dataset.leads]
    assert len(counts) == 60
    assert counts.count(0) >= 3
    assert sum(1 <= count <= 60 for count in counts) >= 30
    assert sum(100 <= count <= 400 for count in counts) >= 3
    assert sorted(count for count in counts if count > 1000) == [1037, 1500]
    # Page-size boundaries: exactly one default page, and one row more.
    assert 25 in counts and 26 in counts


@pytest.mark.parametrize("leads", [0, 1, 3, 10, 19, 20, 200])
def test_other_sizes_scale(leads: int) -> None:
    counts = [len(lead.activities) for lead in generate_dataset(leads=leads).leads]
    assert len(counts) == leads
    huge = [count for count in counts if count > 1000]
    assert huge == [] if leads < 20 else sorted(huge) == [1037, 1500]
    if leads <= 3:
        assert sum(counts) <= 3 * 60


def test_lead_fields(dataset: Dataset) -> None:
    ids = dataset.lead_ids()
    assert len(set(ids)) == len(ids)
    start, end = "2025-01-01 00:00:00", "2025-01-15 00:00:00"
    for lead in dataset.leads:
        assert GUID.fullmatch(lead.lead_id)
        assert lead.first_name and lead.last_name and "@" in lead.email
        assert STAMP.fullmatch(lead.modified_on) and start <= lead.modified_on < end
        assert all(item["ModifiedOn"] <= lead.modified_on for item in lead.activities)
        assert dataset.lead(lead.lead_id.upper()) is lead
    assert dataset.lead("00000000-0000-4000-8000-000000000000") is None
    assert dataset.activity_count == sum(len(lead.activities) for lead in dataset.leads)
    # modified_on is spread over the window, not bunched at its end.
    days = Counter(lead.modified_on[:10] for lead in dataset.leads)
    assert len(days) >= 8


def test_activities_have_the_documented_keys_and_types(dataset: Dataset) -> None:
    ids = set()
    for lead in dataset.leads:
        for item in lead.activities:
            assert tuple(item) == ACTIVITY_KEYS
            assert GUID.fullmatch(item["Id"])
            ids.add(item["Id"])
            assert item["RelatedProspectId"] == lead.lead_id
            assert item["EventName"] == EVENT_NAMES[item["EventCode"]]
            assert isinstance(item["ActivityScore"], int)
            assert isinstance(item["IsEmailType"], bool)
            assert STAMP.fullmatch(item["CreatedOn"]) and STAMP.fullmatch(item["ModifiedOn"])
            assert "2025-01-01" <= item["CreatedOn"] < "2025-01-15"
            assert isinstance(item["ActivityFields"], dict)
            assert isinstance(item["Data"], list | dict)
    assert len(ids) == dataset.activity_count


def test_activities_newest_first_with_deterministic_ties(dataset: Dataset) -> None:
    ties = 0
    for lead in dataset.leads:
        keys = [(item["CreatedOn"], item["Id"]) for item in lead.activities]
        assert keys == sorted(keys, reverse=True)
        ties += len(keys) - len({created for created, _ in keys})
    assert ties > 0  # equal CreatedOn values exist, so the tie-break matters


def test_event_codes_and_email_flags(activities: list[dict[str, Any]]) -> None:
    codes = Counter(item["EventCode"] for item in activities)
    assert set(codes) == {12, 21, 22, 164, 201, 206, 207, 2000}
    assert all(item["IsEmailType"] == (item["EventCode"] == 12) for item in activities)
    assert {item["Type"] for item in activities} == {"Inbound", "Outbound"}
    assert any(isinstance(item["Latitude"], float) for item in activities)


def test_data_shapes(activities: list[dict[str, Any]]) -> None:
    shapes = Counter(type(item["Data"]).__name__ for item in activities)
    assert shapes["list"] > shapes["dict"] > 0
    for item in activities:
        if isinstance(item["Data"], list):
            assert all(set(pair) == {"Key", "Value"} for pair in item["Data"])
    stages = [data_pairs(item) for item in activities if item["EventCode"] == 22]
    assert stages and all({"PreviousStage", "CurrentStage"} <= set(pairs) for pairs in stages)
    assert any(isinstance(item["Data"], dict) for item in activities if item["EventCode"] == 22)
    assert any("NotableEventDescription" in data_pairs(item) for item in activities)


def test_activity_fields_shapes(activities: list[dict[str, Any]]) -> None:
    assert any(item["ActivityFields"] == {} for item in activities)
    custom = [item for item in activities if item["EventCode"] == 164]
    for item in custom:
        record = json.loads(item["ActivityFields"]["mx_Custom_1"])
        assert {"mx_CustomObject_1", "ModifiedByName", "ModifiedOn", "Status"} <= set(record)
    assert any(
        re.fullmatch(r"[0-9a-f]{8}\.png", name)
        for item in custom
        for name in json.loads(item["ActivityFields"]["mx_Custom_1"])["mx_CustomObject_1"].split(",")
    )
    values = [value for item in activities for value in item["ActivityFields"].values()]
    assert None in values


def test_call_notes_are_packed_key_value_strings(activities: list[dict[str, Any]]) -> None:
    calls = [item for item in activities if item["EventCode"] in (206, 207)]
    assert {item["Type"] for item in calls} == {"Inbound", "Outbound"}
    multiline = False
    for item in calls:
        note = item["ActivityFields"]["ActivityEvent_Note"]
        pairs = dict(part.split("{=}", 1) for part in note.split("{next}"))
        assert {"SourceNumber", "DestinationNumber", "Status", "CallDuration", "Notes"} <= set(pairs)
        assert pairs["Status"] == item["ActivityFields"]["Status"]
        multiline = multiline or "\n" in pairs["Notes"]
    assert multiline


def test_unicode_and_awkward_text(dataset: Dataset, activities: list[dict[str, Any]]) -> None:
    text = as_json(dataset)
    assert re.search(r"[\u0900-\u097f]", text)  # Devanagari
    assert re.search(r"[\u4e00-\u9fff]", text)  # CJK
    assert re.search(r"[\U0001f300-\U0001faff]", text)  # emoji
    assert re.search(r"[\u00e0-\u00ff]", text)  # accented Latin
    assert any("'" in lead.last_name or '"' in lead.last_name for lead in dataset.leads)
    notes = [data_pairs(item).get("NotableEventDescription") or "" for item in activities]
    assert any("," in note and '"' in note and "\n" in note for note in notes)


def test_with_file_urls_rewrites_only_file_names(activities: list[dict[str, Any]]) -> None:
    custom = next(item for item in activities if item["EventCode"] == 164)
    before = json.dumps(custom, sort_keys=True)
    shown = with_file_urls(custom)
    assert json.dumps(custom, sort_keys=True) == before  # input untouched
    record = json.loads(shown["ActivityFields"]["mx_Custom_1"])
    original = json.loads(custom["ActivityFields"]["mx_Custom_1"])
    urls = record["mx_CustomObject_1"].split(",")
    assert len(urls) == len(original["mx_CustomObject_1"].split(","))
    assert all(url.startswith(FILE_URL_BASE) for url in urls)
    assert record["ModifiedByName"] == original["ModifiedByName"]
    assert record["Status"] == original["Status"]
    page_visit = next(item for item in activities if item["EventCode"] == 21)
    assert with_file_urls(page_visit) is page_visit


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="leads"):
        generate_dataset(leads=-1)
    with pytest.raises(ValueError, match="days"):
        generate_dataset(days=0)
    with pytest.raises(ValueError, match="start"):
        generate_dataset(start="01/01/2025")


def test_start_and_days_move_the_window() -> None:
    small = generate_dataset(leads=25, start="2024-02-28", days=2)
    stamps = [item["CreatedOn"] for lead in small.leads for item in lead.activities]
    assert min(stamps) >= "2024-02-28 00:00:00" and max(stamps) < "2024-03-01 00:00:00"
    assert all(time.strptime(stamp, TIME_FORMAT) for stamp in stamps[:10])
