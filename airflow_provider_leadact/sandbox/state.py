"""The sandbox's state, free of HTTP: settings, data, counters, limits, faults and edits.

:class:`SandboxState` is what every answer depends on and what tests read back as ground
truth. The HTTP server (:mod:`~airflow_provider_leadact.sandbox.server`) asks it, for each
call, whether the call is admitted (daily cap, then rate limit) and which fault to play, and
builds answers from its data under :meth:`SandboxState.read`.

Two locks: ``_lock`` guards counters, limits and faults (held for microseconds);
``_data_lock`` guards the data set while an answer is computed or an edit is made, so that a
listing page and the edits it triggers are one step. Edits replace activity dicts rather than
change them, so pages already handed out are encoded outside the lock safely.
"""

from __future__ import annotations

import copy
import json
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from airflow_provider_leadact.sandbox import api, date_range
from airflow_provider_leadact.sandbox.config import (
    DATA_FIELDS,
    FAULT_KINDS,
    FAULT_PROBABILITIES,
    SandboxConfig,
)
from airflow_provider_leadact.sandbox.data import TIME_FORMAT, Dataset, generate_dataset
from airflow_provider_leadact.sandbox.windows import SlidingWindows

T = TypeVar("T")

#: What :meth:`SandboxState.admit` decides for a call.
ACCEPTED, RATE_LIMITED, DAILY_CAPPED = "accepted", "rate_limited", "daily_capped"
#: Who the sandbox's own edits are made by, in change records.
EDITOR = "Sandbox Editor"
# Seeds the choice of activities to edit, apart from the data's own seed.
_EDIT_SEED_SALT = 0x5EED


class SandboxState:
    """Settings, data, counters, rate limit, daily cap, faults and edits of a sandbox.

    ``SandboxState(config)`` or ``SandboxState(**overrides)`` (or both: the overrides replace
    fields of ``config``). The data set is generated at construction.

    :param config: settings; defaults to ``SandboxConfig()``.
    :param overrides: fields of :class:`SandboxConfig` to change.
    :raises ValueError: for an invalid setting.
    """

    def __init__(self, config: SandboxConfig | None = None, **overrides: Any) -> None:
        base = config if config is not None else SandboxConfig()
        self._config = base.replace(**overrides) if overrides else base
        # What reset() goes back to.
        self._initial_config = self._config
        self._dataset = _dataset_for(self._config)
        self._edited = False
        self._lock = threading.Lock()
        self._data_lock = threading.RLock()
        self._configure_lock = threading.Lock()
        self._limiter = SlidingWindows()
        self._peaks = SlidingWindows()
        self._daily_calls: dict[tuple[str, date], int] = {}
        self._queued_faults: deque[str] = deque()
        self._fault_rng = random.Random(self._config.fault_seed)
        self._edit_rng = random.Random(self._config.seed ^ _EDIT_SEED_SALT)
        self._stats = _empty_stats()

    # -- settings ------------------------------------------------------------------------

    @property
    def config(self) -> SandboxConfig:
        """The current settings (immutable; change them with :meth:`configure`)."""
        return self._config

    @property
    def dataset(self) -> Dataset:
        """The data set being served (edits change it in place)."""
        return self._dataset

    def configure(self, **changes: Any) -> SandboxConfig:
        """Change settings at run time (paging readings, limits, faults, latency, keys...).

        Changing the value of ``seed``, ``leads``, ``start`` or ``days`` regenerates the data
        (dropping any edits); changing ``fault_seed`` restarts the random fault sequence.

        :param changes: fields of :class:`SandboxConfig` and their new values.
        :return: the new settings.
        :raises ValueError: for an unknown field or an invalid value.
        """
        # One change at a time; calls keep being served meanwhile (they use self._lock).
        with self._configure_lock:
            previous = self._config
            config = previous.replace(**changes)
            data_changed = any(getattr(config, name) != getattr(previous, name) for name in DATA_FIELDS)
            # Generated outside the locks: it takes a fraction of a second.
            dataset = _dataset_for(config) if data_changed else None
            with self._data_lock, self._lock:
                self._config = config
                if dataset is not None:
                    self._dataset = dataset
                    self._edited = False
                    self._edit_rng = random.Random(config.seed ^ _EDIT_SEED_SALT)
                if "fault_seed" in changes:
                    self._fault_rng = random.Random(config.fault_seed)
            return config

    def reset(self) -> None:
        """Go back to the start: the seed's data (edits undone), the settings this sandbox was
        created with, no queued faults, an empty rate-limit and daily-cap memory, zero counters.

        Cheap when nothing was edited and the data settings did not change.
        """
        with self._configure_lock:
            initial = self._initial_config.replace(host=self._config.host, port=self._config.port)
            same_data = not self._edited and all(
                getattr(initial, name) == getattr(self._config, name) for name in DATA_FIELDS
            )
            dataset = self._dataset if same_data else _dataset_for(initial)
            with self._data_lock, self._lock:
                self._config = initial
                self._dataset = dataset
                self._edited = False
                self._edit_rng = random.Random(initial.seed ^ _EDIT_SEED_SALT)
                self._fault_rng = random.Random(initial.fault_seed)
                self._queued_faults.clear()
                self._limiter.clear()
                self._peaks.clear()
                self._daily_calls.clear()
                self._stats = _empty_stats()

    # -- faults and limits ---------------------------------------------------------------

    def inject_faults(self, kind: str, count: int = 1) -> int:
        """Make the next ``count`` API calls that pass the rate limit fail with ``kind``.

        :param kind: one of ``"500"``, ``"503"``, ``"drop"``, ``"slow"``, ``"truncated"``,
            ``"rate_limit"``.
        :param count: how many calls; queued after any faults already queued.
        :return: the number of faults now queued.
        :raises ValueError: for an unknown kind or a negative count.
        """
        kind = str(kind)
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {', '.join(FAULT_KINDS)}; got {kind!r}")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ValueError(f"fault count must be a non-negative integer, got {count!r}")
        with self._lock:
            self._queued_faults.extend([kind] * count)
            return len(self._queued_faults)

    def clear_faults(self) -> None:
        """Drop every queued fault (random faults keep their configured probabilities)."""
        with self._lock:
            self._queued_faults.clear()

    def reset_rate_limit(self) -> None:
        """Forget past calls, so the full budget (per period and per day) is available again."""
        with self._lock:
            self._limiter.clear()
            self._daily_calls.clear()

    # -- counters ------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Return a copy of the counters.

        Keys: ``calls`` (API calls received), ``accepted`` (let through the daily cap and the
        rate limiter), ``rate_limited`` (rate-limit answers sent, injected ones included),
        ``daily_limited`` (daily-cap answers sent), ``calls_today`` (accepted calls in the
        current UTC day, every key), ``max_in_window`` (most accepted calls of one access key
        whose arrivals fell within any ``rate_limit_period``-long window),
        ``query_auth_calls`` (calls with keys in the query string), ``unauthorized`` (401s,
        wrong region host included), ``wrong_host`` (401s for the region host alone),
        ``edits`` (activities edited, churn included), ``faults`` (kind -> count),
        ``by_endpoint`` (path -> calls), ``by_status`` (HTTP status -> answers; ``"drop"``
        for closed connections), ``first_call_at``/``last_call_at`` (``time.time()``),
        ``rate_limited_after`` (seconds from the first call to each answer of the limiter,
        the first 10,000: tells a start-up burst from answers in steady state).

        An injected ``rate_limit`` fault counts in both ``accepted`` (it passed the limiter
        and used budget, as any call that reached the service would) and ``rate_limited``.
        """
        with self._lock:
            stats = copy.deepcopy(self._stats)
            today = _utc_today()
            stats["calls_today"] = sum(count for (_, day), count in self._daily_calls.items() if day == today)
            return stats

    def reset_stats(self) -> None:
        """Zero the counters. The rate limiter and the daily cap keep their memory of calls."""
        with self._lock:
            self._stats = _empty_stats()
            self._peaks.clear()

    # -- ground truth --------------------------------------------------------------------

    def lead_ids(self) -> list[str]:
        """Return every lead id, in data set order."""
        return self._dataset.lead_ids()

    def truth(
        self, lead_id: str, activity_event: int | None = None, get_file_url: bool = False
    ) -> list[dict[str, Any]]:
        """Return (a deep copy of) every activity the API holds for a lead, newest first.

        :param lead_id: the lead's GUID; an unknown lead gives ``[]``.
        :param activity_event: event code to keep, or ``None`` for all.
        :param get_file_url: show file names as URLs, as ``getFileURL=true`` does.
        """
        with self._data_lock:
            return api.truth(self._dataset, lead_id, activity_event, get_file_url)

    def all_truth(self, activity_event: int | None = None) -> dict[str, list[dict[str, Any]]]:
        """Return :meth:`truth` for every lead, keyed by lead id in data set order.

        :param activity_event: event code to keep, or ``None`` for all.
        """
        with self._data_lock:
            dataset = self._dataset
            return {lead_id: api.truth(dataset, lead_id, activity_event) for lead_id in dataset.lead_ids()}

    def write_truth(self, path: str | Path) -> None:
        """Write :meth:`all_truth` as JSON (UTF-8) to ``path``.

        :param path: the file to write.
        """
        text = json.dumps(self.all_truth(), ensure_ascii=False)
        Path(path).write_text(text, encoding="utf-8")

    def leads_modified(self, from_date: str, to_date: str) -> list[str]:
        """Return the ids Leads.RecentlyModified would return for these inclusive bounds.

        A lead is listed by its last change only. Sorted as the endpoint's default:
        ModifiedOn ascending, ties by ProspectID.

        :param from_date: ``YYYY-MM-DD HH:MM:SS`` lower bound, included.
        :param to_date: ``YYYY-MM-DD HH:MM:SS`` upper bound, included.
        :raises ValueError: for a date not in that format.
        """
        try:
            lower = api.parse_time(from_date, "from_date")
            upper = api.parse_time(to_date, "to_date")
        except api.ApiError as error:
            raise ValueError(error.message) from None
        with self._data_lock:
            return [lead.lead_id for lead in api.leads_modified(self._dataset, lower, upper)]

    def truth_changed(self, from_date: datetime | str, to_date: datetime | str) -> list[dict[str, Any]]:
        """Return the activities whose ``ModifiedOn`` lies in ``[from_date, to_date)``, sorted by Id.

        The ground truth of a data interval: deep copies, in the API's shape, as they are now.

        :param from_date: first instant included: a datetime (naive means UTC) or an ISO
            string such as ``2025-01-03T00:00:00`` or ``2025-01-03 00:00:00``.
        :param to_date: first instant excluded, in the same forms.
        :raises ValueError: for a value that is not a date and time.
        """
        lower, upper = as_utc(from_date, "from_date"), as_utc(to_date, "to_date")
        with self._data_lock:
            return date_range.changed_between(self._dataset, lower, upper)

    def truth_changed_digest(self, from_date: datetime | str, to_date: datetime | str) -> dict[str, Any]:
        """Summarise :meth:`truth_changed` (count, leads, digest; see ``date_range.digest_of``), cheaply.

        :param from_date: first instant included (forms as for :meth:`truth_changed`).
        :param to_date: first instant excluded.
        """
        lower, upper = as_utc(from_date, "from_date"), as_utc(to_date, "to_date")
        with self._data_lock:
            return date_range.changed_digest(self._dataset, lower, upper)

    def truth_changes(self, from_date: datetime | str, to_date: datetime | str) -> list[dict[str, Any]]:
        """Return the change records (Get Activity Change History) made in ``[from_date, to_date)``.

        Oldest first, ties by activity id; deep copies.

        :param from_date: first instant included (forms as for :meth:`truth_changed`).
        :param to_date: first instant excluded.
        :raises ValueError: for a value that is not a date and time.
        """
        lower = as_utc(from_date, "from_date").strftime(TIME_FORMAT)
        upper = as_utc(to_date, "to_date").strftime(TIME_FORMAT)
        with self._data_lock:
            # matching_changes takes the API's inclusive bounds; an interval excludes its end.
            rows = date_range.matching_changes(self._dataset, lower, upper)
            return copy.deepcopy([item for item in rows if item["ModifiedOn"] < upper])

    def history_days(self) -> list[str]:
        """Return the UTC days (``YYYY-MM-DD``) on which some activity last changed, in order."""
        with self._data_lock:
            return date_range.history_days(self._dataset)

    # -- edits ---------------------------------------------------------------------------

    def now(self) -> str:
        """Return the sandbox's clock: the current UTC time, ``YYYY-MM-DD HH:MM:SS``."""
        return datetime.now(timezone.utc).strftime(TIME_FORMAT)

    def edit_activities(
        self, count: int = 1, at: datetime | str | None = None, lead_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Edit ``count`` activities at ``at`` (default: :meth:`now`), as a user of the account would.

        Each edited activity's ``ActivityScore`` goes up by one and its ``ModifiedOn`` becomes
        ``at``; its lead's ``modified_on`` follows. Activities are picked at random (from a
        generator seeded by ``seed``, restarted by :meth:`reset`) among those last modified
        at or before ``at``; fewer are edited when fewer qualify.

        :param count: how many activities.
        :param at: the edit time (forms as for :meth:`truth_changed`).
        :param lead_id: edit only this lead's activities.
        :return: the change records of the edits.
        :raises ValueError: for a negative count or a bad time.
        """
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ValueError(f"count must be a non-negative integer, got {count!r}")
        stamp = self.now() if at is None else as_utc(at, "at").strftime(TIME_FORMAT)
        with self._data_lock:
            if lead_id is None:
                candidates = self._dataset.activities()
            else:
                lead = self._dataset.lead(lead_id)
                candidates = [] if lead is None else list(lead.activities)
            eligible = sorted(item["Id"] for item in candidates if item["ModifiedOn"] <= stamp)
            chosen = self._edit_rng.sample(eligible, min(count, len(eligible)))
            return self._edit(chosen, stamp)

    def add_activities(self, activities: list[dict[str, Any]]) -> None:
        """Serve these activities too, e.g. examples from the API documentation, as given.

        Each goes to the lead its ``RelatedProspectId`` names (created when new), through
        every endpoint. :meth:`reset` removes them.

        :param activities: activities in the API's shape (see :meth:`Dataset.add`).
        :raises ValueError: for an activity without ``Id``, ``RelatedProspectId``,
            ``CreatedOn`` or ``ModifiedOn``, or whose ``Id`` is taken.
        """
        if not isinstance(activities, list) or not all(isinstance(item, dict) for item in activities):
            raise ValueError("activities must be a list of activity objects")
        with self._data_lock:
            self._edited = True
            for activity in activities:
                self._dataset.add(copy.deepcopy(activity))

    # -- used by the HTTP server ---------------------------------------------------------

    def read(self, answer: Callable[[Dataset, SandboxConfig], T]) -> T:
        """Call ``answer(dataset, config)`` with the data held still, and return its result.

        :param answer: builds an answer; it must not modify the data.
        """
        with self._data_lock:
            return answer(self._dataset, self._config)

    def list_range(self, raw_body: bytes) -> dict[str, Any]:
        """Answer a date-range listing page, then edit ``range_churn`` of its activities now.

        :param raw_body: the request body.
        :raises ApiError: for a bad request.
        """
        with self._data_lock:
            config = self._config
            answer, page = date_range.retrieve_recently_modified(self._dataset, config, raw_body)
            if config.range_churn:
                stamp = self.now()
                # The page's first rows: already seen by the client, so moving them shifts the
                # rows it has not seen yet towards pages it has already read.
                movable = [item["Id"] for item in page if item["ModifiedOn"] <= stamp]
                self._edit(movable[: config.range_churn], stamp)
            return answer

    def count_call(self, endpoint: str, query_auth: bool) -> None:
        """Count one API call.

        :param endpoint: the matched path (or a placeholder for an unknown one).
        :param query_auth: whether the keys came in the query string.
        """
        with self._lock:
            stats = self._stats
            stats["calls"] += 1
            stats["by_endpoint"][endpoint] = stats["by_endpoint"].get(endpoint, 0) + 1
            if query_auth:
                stats["query_auth_calls"] += 1
            now = time.time()
            if stats["first_call_at"] is None:
                stats["first_call_at"] = now
            stats["last_call_at"] = now

    def count(self, name: str) -> None:
        """Add one to a counter of :meth:`stats`.

        :param name: the counter.
        """
        with self._lock:
            self._stats[name] += 1

    def count_status(self, status: int | str) -> None:
        """Count one answer by HTTP status (``"drop"`` for a closed connection).

        :param status: the status.
        """
        with self._lock:
            by_status = self._stats["by_status"]
            by_status[str(status)] = by_status.get(str(status), 0) + 1

    def admit(self, key: str) -> str:
        """Apply the daily cap, then the rate limit, to one call of ``key``; record it if accepted.

        :param key: the access key (the account's budget).
        :return: :data:`ACCEPTED`, :data:`DAILY_CAPPED` or :data:`RATE_LIMITED`.
        """
        with self._lock:
            config = self._config
            day = (key, _utc_today())
            if config.daily_call_cap is not None and self._daily_calls.get(day, 0) >= config.daily_call_cap:
                self._stats["daily_limited"] += 1
                return DAILY_CAPPED
            # Read under the lock so arrivals enter each window in time order.
            now = time.monotonic()
            period = config.rate_limit_period
            limit = config.rate_limit_calls
            if limit and self._limiter.count(key, now, period) >= limit:
                self._stats["rate_limited"] += 1
                after = self._stats["rate_limited_after"]
                if len(after) < 10_000:
                    after.append(round(time.time() - (self._stats["first_call_at"] or time.time()), 3))
                return RATE_LIMITED
            self._limiter.add(key, now)
            in_window = self._peaks.count(key, now, period) + 1
            self._peaks.add(key, now)
            self._daily_calls[day] = self._daily_calls.get(day, 0) + 1
            self._stats["accepted"] += 1
            self._stats["max_in_window"] = max(self._stats["max_in_window"], in_window)
            return ACCEPTED

    def next_fault(self) -> str | None:
        """Return the fault the next admitted call plays (queued first, then random), or ``None``."""
        with self._lock:
            if self._queued_faults:
                kind: str | None = self._queued_faults.popleft()
            else:
                kind = self._draw_fault(self._config)
            if kind is not None:
                self._stats["faults"][kind] += 1
                if kind == "rate_limit":
                    self._stats["rate_limited"] += 1
            return kind

    def _draw_fault(self, config: SandboxConfig) -> str | None:
        chances = [(kind, getattr(config, name)) for kind, name in FAULT_PROBABILITIES.items()]
        if not any(chance for _, chance in chances):
            return None
        roll = self._fault_rng.random()
        for kind, chance in chances:
            if roll < chance:
                return kind
            roll -= chance
        return None

    def _edit(self, activity_ids: list[str], stamp: str) -> list[dict[str, Any]]:
        # Callers hold the data lock.
        changes = [self._dataset.edit(activity_id, stamp, EDITOR) for activity_id in activity_ids]
        if changes:
            self._edited = True
            with self._lock:
                self._stats["edits"] += len(changes)
        return copy.deepcopy(changes)


def as_utc(value: datetime | str, name: str) -> datetime:
    """Return ``value`` as a naive UTC datetime, to the second.

    :param value: a datetime (naive means UTC; aware ones are converted) or an ISO 8601
        string (``2025-01-03``, ``2025-01-03T04:05:06``, ``2025-01-03 04:05:06+00:00``...).
    :param name: the argument's name, for the error message.
    :raises ValueError: for anything else.
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{name} {value!r} is not a date and time such as 2025-01-03T00:00:00") from None
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime or an ISO 8601 string, got {value!r}")
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.replace(microsecond=0)


def _utc_today() -> date:
    return datetime.now(timezone.utc).date()


def _dataset_for(config: SandboxConfig) -> Dataset:
    return generate_dataset(
        config.seed, config.leads, config.start, config.days, backdated=config.backdated, dated_ahead=config.dated_ahead
    )


def _empty_stats() -> dict[str, Any]:
    return {
        "calls": 0,
        "accepted": 0,
        "rate_limited": 0,
        "daily_limited": 0,
        "calls_today": 0,
        "max_in_window": 0,
        "query_auth_calls": 0,
        "unauthorized": 0,
        "wrong_host": 0,
        "edits": 0,
        "faults": dict.fromkeys(FAULT_KINDS, 0),
        "by_endpoint": {},
        "by_status": {},
        "first_call_at": None,
        "last_call_at": None,
        "rate_limited_after": [],
    }
