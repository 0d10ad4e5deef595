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
import posixpath
import re
import tempfile
import time
import uuid
from collections.abc import Iterable
from typing import IO
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


def _split_storage_path(url: str) -> tuple[str, str]:
    """Return ``(protocol, path as written)``: ``file`` for local paths, ``bucket/key`` for stores.

    The user info of a URL (the Airflow connection id) is dropped; nothing is normalised, so a
    caller can still see ``..`` segments.
    """
    parts = urlsplit(url)
    if len(parts.scheme) > 1:  # not a drive letter
        protocol = parts.scheme.lower()
        return "file" if protocol in LOCAL_PROTOCOLS else protocol, parts.netloc.rpartition("@")[2] + parts.path
    return "file", url


def check_storage_path(url: str, *, name: str = "path", folder: bool = False) -> tuple[str, str]:
    """Check a rendered storage URL and return ``(protocol, normalised path)``.

    Refused, naming what to fix: an empty value (a template that rendered to nothing), a URL
    without a path, a ``..`` segment, a relative local path (it would land in whatever folder
    the worker happens to run in) and, unless ``folder``, a path that names a folder.

    :param url: the rendered URL or local path.
    :param name: the parameter's name, for messages.
    :param folder: whether the value names a folder (``base_path``) rather than a file.
    :raises LeadSquaredConfigError: for any of the above.
    """
    text = str(url).strip()
    example = "file:///data/leadsquared" if folder else "file:///data/leadsquared/activities.jsonl"
    if not text:
        raise LeadSquaredConfigError(
            f"{name} is empty (did its template render to nothing?): pass a URL such as {example}"
        )
    shown = safe_url(text)
    protocol, raw = _split_storage_path(text)
    if not raw.strip("/"):
        what = "a folder" if folder else "a file"
        raise LeadSquaredConfigError(f"{name} {shown!r} has no path: it must name {what}, e.g. {example}")
    if ".." in raw.split("/"):
        raise LeadSquaredConfigError(
            f"{name} {shown!r} contains a '..' segment: pass the location itself, without '..'"
        )
    if protocol == "file" and not raw.startswith("/"):
        raise LeadSquaredConfigError(
            f"{name} {shown!r} is a relative path, which would depend on the worker's current folder: "
            f"pass an absolute path or URL such as {example}"
        )
    if not folder and raw.endswith("/"):
        raise LeadSquaredConfigError(f"{name} {shown!r} names a folder, not a file")
    return protocol, posixpath.normpath(raw)


class ObjectStorageSink(ActivitySink):
    """Writes records to one file at an Airflow ``ObjectStoragePath``.

    :param path: the file's URL, e.g. ``file:///data/a.jsonl`` or ``s3://aws_default@bucket/a.jsonl``
        (the user info names an Airflow connection).
    :param file_format: ``jsonl`` (default), ``csv`` or ``parquet`` (needs the ``parquet`` extra).
    :param batch_size: records per write (and per Parquet row group).
    :param base_path: when given, the configured storage: ``path`` must lie inside this folder
        (same protocol; checked after any template was rendered), so a rendered value cannot
        send the file elsewhere.
    :raises LeadSquaredConfigError: for a path that is empty, names a folder, is relative,
        contains ``..`` or lies outside ``base_path``.
    """

    def __init__(
        self,
        path: str | ObjectStoragePath,
        file_format: str = "jsonl",
        batch_size: int = DEFAULT_BATCH_SIZE,
        base_path: str | None = None,
    ) -> None:
        self.file_format = validate_file_format(file_format)
        self.batch_size = validate_batch_size(batch_size)
        protocol, normalised = check_storage_path(str(path))
        if base_path is not None:
            base_protocol, base = check_storage_path(str(base_path), name="base_path", folder=True)
            if protocol != base_protocol or not normalised.startswith(base.rstrip("/") + "/"):
                raise LeadSquaredConfigError(
                    f"path {safe_url(str(path).strip())!r} is outside the configured storage "
                    f"base_path {safe_url(str(base_path).strip())!r}: write under that folder"
                )
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

    def _write_to(self, file: IO[bytes], records: Iterable[Record]) -> int:
        writer = FORMATS[self.file_format].writer(file)
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
        started = time.time()
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
        _remove_abandoned_temporaries(final, started)
        return count

    def _write_remote(self, records: Iterable[Record]) -> int:
        with tempfile.NamedTemporaryFile(prefix="leadact-", suffix="." + self.file_format) as spool:
            count = self._write_to(spool, records)
            spool.flush()
            # One upload of the finished file: the store shows the key only when it is complete.
            self.path.fs.put_file(spool.name, self.path.path)
        return count


def _remove_abandoned_temporaries(final: str, before: float) -> None:
    """Delete temporaries of ``final`` that an earlier, killed attempt left (SIGKILL skips cleanup).

    Only this sink's own names (``.<name>.<32 hex>.tmp``) not written to since ``before`` (when
    the successful attempt started) are removed; a writer still at work keeps touching its file.
    """
    folder, name = os.path.split(final)
    pattern = re.compile(rf"\.{re.escape(name)}\.[0-9a-f]{{32}}\.tmp")
    for entry in os.scandir(folder or "."):
        if not pattern.fullmatch(entry.name):
            continue
        try:
            if entry.stat().st_mtime < before:
                os.unlink(entry.path)
        except FileNotFoundError:
            pass


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
