"""Dividing work into mapped tasks that Airflow accepts, whatever the account's size.

Airflow refuses to map more than ``[core] max_map_length`` items (1,024 by default) from one
upstream result. Batches grow, and windows widen, so that any number of leads or days fits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta
from typing import TypeVar

from airflow_provider_leadact.validation import Window

T = TypeVar("T")
#: Airflow's own default of ``[core] max_map_length``.
DEFAULT_MAX_MAP_LENGTH = 1024


def max_map_length() -> int:
    """The most items Airflow maps from one result (``[core] max_map_length``)."""
    try:
        from airflow.configuration import conf

        return max(1, conf.getint("core", "max_map_length", fallback=DEFAULT_MAX_MAP_LENGTH))
    except Exception:  # no Airflow configuration (e.g. a script): Airflow's default
        return DEFAULT_MAX_MAP_LENGTH


def batches(items: Sequence[T], size: int, limit: int | None = None) -> tuple[list[list[T]], int]:
    """Cut ``items`` into batches of ``size``, larger when that would make more than ``limit`` batches.

    :return: the batches and the size used.
    """
    limit = limit or max_map_length()
    size = max(size, math.ceil(len(items) / limit)) if items else size
    return [list(items[i : i + size]) for i in range(0, len(items), size)], size


def windows(window: Window, length: timedelta, limit: int | None = None) -> list[Window]:
    """Cut ``window`` into consecutive windows of ``length``, longer when that would make more than ``limit``."""
    limit = limit or max_map_length()
    span = window.end - window.start
    count = math.ceil(span / length)
    if count > limit:
        length = timedelta(seconds=math.ceil(span.total_seconds() / limit))
    return window.chunks(length)
