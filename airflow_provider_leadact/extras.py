"""The connection's optional settings (extras), each declared once.

Settings parsing and validation (:mod:`.connection`), the connection form (the provider
info's ``conn-fields`` and the hook's widgets) and the README's extras table all come from
:data:`EXTRAS`. This module imports nothing from Airflow: Airflow reads the provider info
while it is still starting up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Extra:
    """One optional setting in the connection's extra.

    :param name: the key in the extra (the UI's form may store it as ``extra__leadsquared__<name>``).
    :param kind: ``int``, ``float`` or ``str``.
    :param default: the value when the extra is absent; None means "not set" (see ``none_means``).
    :param low: the least accepted number (inclusive), for numbers.
    :param high: the greatest accepted number (inclusive), for numbers.
    :param label: the form's label.
    :param description: one sentence for the form and the README.
    :param in_form: whether the connection form shows a field for it (the rest are set in the
        extra's JSON: tuning that few need).
    :param none_means: what a default of None stands for, for the README.
    """

    name: str
    kind: type
    default: Any
    label: str
    description: str
    low: float | None = None
    high: float | None = None
    in_form: bool = True
    none_means: str = "none"


#: Every extra a LeadSquared connection may carry: the one declaration (see the module docstring).
EXTRAS: tuple[Extra, ...] = (
    Extra(
        "rate_limit_calls", int, None, "Rate limit: calls",
        "Calls your plan allows per period (plans range from 2 to 25). Unset, the budget assumes 25, "
        "approaches it with caution and keeps to the limit that LeadSquared's rate-limit answers state.",
        low=1, high=10_000, none_means="25, assumed and learned",
    ),
    Extra(
        "rate_limit_period_seconds", float, 5.0, "Rate limit: period (seconds)",
        "The period of the rate limit, in seconds (5 on every published plan).",
        low=0.1, high=86_400,
    ),
    Extra(
        "rate_limit_backend", str, "file", "Rate limit: shared by",
        "Who shares the budget (and the learned limit and calls counted today): file (every process of "
        "this user on one machine, in a private temporary folder) or file:/dir, memory (one process), "
        "redis://host:6379/0 (workers on many machines: Celery, Kubernetes).",
    ),
    Extra(
        "daily_call_cap", int, None, "Daily call cap",
        "Most API calls per UTC day for this account, counted in the shared budget; "
        "a call that would exceed it is never made.",
        low=1, high=100_000_000, none_means="none (not counted)",
    ),
    Extra(
        "page_size", int, 1000, "Page size",
        "Activities asked for per call (RowCount).",
        low=1, high=5000,
    ),
    Extra(
        "timeout_seconds", float, 60.0, "Timeout (seconds)",
        "How long one call may take; a timeout is retried.",
        low=0.1, high=3600,
    ),
    Extra(
        "max_attempts", int, 6, "Attempts per call",
        "Attempts per call on transient failures (timeouts, dropped connections, 5xx).",
        low=1, high=100, in_form=False,
    ),
    Extra(
        "retry_wait_seconds", float, 1.0, "Retry wait (seconds)",
        "First wait of the exponential backoff between attempts (with as much jitter).",
        low=0.0, high=600, in_form=False,
    ),
    Extra(
        "retry_max_wait_seconds", float, 30.0, "Retry wait cap (seconds)",
        "Longest wait between two attempts.",
        low=0.0, high=3600, in_form=False,
    ),
    Extra(
        "max_pages", int, 10_000, "Pages per lead, at most",
        "Bound on pages per lead, so a misbehaving server cannot loop a task forever.",
        low=1, high=1_000_000, in_form=False,
    ),
    Extra(
        "max_concurrency", int, 64, "Leads at once, at most",
        "Cap on leads fetched at once.",
        low=1, high=256, in_form=False,
    ),
    Extra(
        "rate_limit_margin_seconds", float, None, "Rate limit: safety margin (seconds)",
        "Client-side margin added to the window, since what counts is when calls arrive.",
        low=0.0, high=60, in_form=False, none_means="auto: 2% of the period, 0.1 to 1 s",
    ),
)  # fmt: skip
EXTRA_BY_NAME: dict[str, Extra] = {extra.name: extra for extra in EXTRAS}


def conn_fields() -> dict[str, dict[str, Any]]:
    """The form's extra fields in the provider info's ``conn-fields`` shape (JSON schema per field)."""
    result: dict[str, dict[str, Any]] = {}
    for extra in EXTRAS:
        if not extra.in_form:
            continue
        json_type = {int: "integer", float: "number", str: "string"}[extra.kind]
        schema: dict[str, Any] = {"type": [json_type, "null"]}
        if extra.default is not None:
            schema["default"] = extra.default
        if extra.low is not None:
            schema["minimum"] = extra.low
        if extra.high is not None:
            schema["maximum"] = extra.high
        result[extra.name] = {"label": extra.label, "description": extra.description, "schema": schema}
    return result


def extras_table() -> str:
    """The README's table of extras, in Markdown, from :data:`EXTRAS`."""

    def number(value: float) -> str:
        return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"

    lines = ["| extra | type | default | accepted | in the form | meaning |", "| --- | --- | --- | --- | --- | --- |"]
    for extra in EXTRAS:
        if extra.default is None:
            default = extra.none_means
        elif extra.kind is str:
            default = f"`{extra.default}`"
        else:
            default = number(extra.default)
        if extra.low is not None and extra.high is not None:
            accepted = f"{number(extra.low)} to {number(extra.high)}"
        else:
            accepted = "see meaning"
        kind = {int: "integer", float: "number", str: "text"}[extra.kind]
        shown = "yes" if extra.in_form else "no (JSON)"
        lines.append(f"| `{extra.name}` | {kind} | {default} | {accepted} | {shown} | {extra.description} |")
    return "\n".join(lines)
