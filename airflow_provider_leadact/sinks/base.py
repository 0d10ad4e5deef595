"""What every sink is: something that writes flattened activity records to one destination."""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from airflow_provider_leadact.exceptions import LeadSquaredConfigError

#: Records per batch unless a sink is told otherwise: large enough to amortise a round trip,
#: small enough that a batch of wide activities stays a few megabytes.
DEFAULT_BATCH_SIZE = 1000

Record = dict[str, Any]


def batched(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    """Yield lists of at most ``size`` records, reading ``records`` lazily."""
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


def validate_batch_size(batch_size: int, unit: str = "records per write") -> int:
    """Return ``batch_size`` if it is a positive integer, else raise ``LeadSquaredConfigError`` (a ``ValueError``).

    :param unit: what one batch counts, for the message.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise LeadSquaredConfigError(f"batch_size must be a positive integer ({unit}), got {batch_size!r}")
    return batch_size


class ActivitySink(abc.ABC):
    """Writes flattened activity records (see :func:`~airflow_provider_leadact.records.flatten_activity`).

    A sink is built at run time, after templating. :meth:`prepare` runs before the first API
    call, so a destination that cannot work fails the task before any API budget is spent;
    :meth:`write` then consumes the records as they are fetched.
    """

    @property
    @abc.abstractmethod
    def location(self) -> str:
        """Where the records go, fit for logs and XCom (never a credential)."""

    def prepare(self) -> None:  # noqa: B027 - a sink with nothing to check keeps this
        """Check (and create, where that is safe) the destination before any record is fetched."""

    @abc.abstractmethod
    def write(self, records: Iterable[Record]) -> int:
        """Write every record; return how many were written.

        Idempotent: writing the same records again leaves the destination as one write would.
        """
