"""The object storage sink: one file of activities at an ``ObjectStoragePath``.

A reader never sees a half-written object, and writing the same path again replaces it:

- on ``file://`` (or a plain local path) the file is written to a hidden temporary sibling
  and renamed over the final name, which is atomic on POSIX file systems;
- on object stores (``s3://``, ``gs://``, ...) a rename is a copy plus a delete, so the file is
  spooled to local disk and the final key written in one upload, which the store makes
  visible only once it is complete.

Either way a failure leaves the previous complete object (or nothing) at the path.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterable
from typing import BinaryIO
from urllib.parse import urlsplit, urlunsplit

from airflow.sdk import Asset, ObjectStoragePath

from airflow_provider_leadact.exceptions import LeadSquaredConfigError
from airflow_provider_leadact.sinks.base import (
    DEFAULT_BATCH_SIZE,
    ActivitySink,
    Record,
    batched,
    validate_batch_size,
)
from airflow_provider_leadact.sinks.formats import FORMATS, import_pyarrow, validate_file_format

#: Protocols whose paths are files on this machine, where a rename is atomic.
LOCAL_PROTOCOLS = frozenset({"", "file", "local"})


def safe_url(url: str) -> str:
    """Return ``url`` without any password in its user info (a connection id stays)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}@{host}" if parts.username else host))


def asset_for_path(path: str) -> Asset:
    """The Asset for files written under ``path``, a URL that may hold a Jinja template.

    The Asset names the longest folder before the first template expression, so every
    partition of a templated path (e.g. ``.../ds={{ ds }}/part.jsonl``) updates one Asset that
    downstream DAGs can be scheduled on. The connection id is left out: it says how to reach
    the data, not which data it is.
    """
    static = path
    for marker in ("{{", "{%"):
        static = static.split(marker, 1)[0]
    if static != path:
        static = static.rpartition("/")[0]
    parts = urlsplit(static)
    if not parts.scheme:
        return Asset(uri="file://" + os.path.abspath(static or "."))
    return Asset(uri=urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2])))


class ObjectStorageSink(ActivitySink):
    """Writes records to one file at an Airflow ``ObjectStoragePath``.

    :param path: the file's URL, e.g. ``file:///data/a.jsonl`` or ``s3://aws_default@bucket/a.jsonl``
        (the user info names an Airflow connection).
    :param file_format: ``jsonl`` (default), ``csv`` or ``parquet`` (needs the ``parquet`` extra).
    :param batch_size: records per write (and per Parquet row group).
    """

    def __init__(
        self,
        path: str | ObjectStoragePath,
        file_format: str = "jsonl",
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        self.file_format = validate_file_format(file_format)
        self.batch_size = validate_batch_size(batch_size)
        if not str(path).strip():
            raise LeadSquaredConfigError("path is empty: pass a URL such as file:///data/activities.jsonl")
        self.path = path if isinstance(path, ObjectStoragePath) else ObjectStoragePath(str(path).strip())
        if self.path.name in ("", ".", ".."):
            raise LeadSquaredConfigError(f"path {self.location!r} names a folder, not a file")

    @property
    def location(self) -> str:
        return safe_url(str(self.path))

    def prepare(self) -> None:
        """Check that the format's optional library is installed, before anything is fetched."""
        if self.file_format == "parquet":
            import_pyarrow()

    @property
    def is_local(self) -> bool:
        """Whether the path is a file on this machine (written by atomic rename)."""
        return (self.path.protocol or "") in LOCAL_PROTOCOLS

    def write(self, records: Iterable[Record]) -> int:
        """Write every record to a complete new file at the path, replacing any earlier one.

        :return: the number of records written.
        """
        if self.is_local:
            return self._write_local(records)
        return self._write_remote(records)

    def _write_to(self, file: BinaryIO, records: Iterable[Record]) -> int:
        writer = FORMATS[self.file_format](file)
        count = 0
        try:
            for batch in batched(records, self.batch_size):
                writer.write_batch(batch)
                count += len(batch)
        except BaseException:
            writer.abandon()
            raise
        writer.finish()
        return count

    def _write_local(self, records: Iterable[Record]) -> int:
        final = self.path.path
        folder = os.path.dirname(final) or "."
        os.makedirs(folder, exist_ok=True)
        # A sibling in the same folder is on the same file system, so the rename is atomic;
        # the leading dot keeps it out of most readers' globs while it is being written.
        temporary = os.path.join(folder, f".{os.path.basename(final)}.{uuid.uuid4().hex}.tmp")
        try:
            with open(temporary, "wb") as file:
                count = self._write_to(file, records)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, final)
        except BaseException:
            # Includes task kills (SystemExit, KeyboardInterrupt): no temporary is left behind.
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
        return count

    def _write_remote(self, records: Iterable[Record]) -> int:
        with tempfile.NamedTemporaryFile(prefix="leadact-", suffix="." + self.file_format) as spool:
            count = self._write_to(spool, records)  # type: ignore[arg-type]
            spool.flush()
            # One upload of the finished file: the store shows the key only when it is complete.
            self.path.fs.put_file(spool.name, self.path.path)
        return count


def remove_stale_files(folder: str, keep: Iterable[str], prefix: str = "part-") -> list[str]:
    """Delete the files named ``prefix*`` directly in ``folder`` that are not in ``keep``.

    A rerun of an interval may write fewer part files than the run before (fewer leads were
    modified by then); the extra parts of the earlier run would otherwise stay beside the new
    ones. Call this after every part of the run is written, with the paths written.

    :param folder: the partition's URL.
    :param keep: URLs of the files the current run wrote.
    :param prefix: only files whose names start with this are considered.
    :return: the URLs deleted.
    """
    base = ObjectStoragePath(folder)
    if not base.exists():
        return []
    kept = {ObjectStoragePath(url).path for url in keep}
    removed = []
    for child in base.iterdir():
        if child.name.startswith(prefix) and child.path not in kept and child.is_file():
            child.unlink()
            removed.append(safe_url(str(child)))
    return removed
