"""File formats of the object storage sink: JSON Lines, CSV and Parquet, each writer with its reader.

Each writer receives records in bounded batches and writes them to a binary file object as
they come, so memory stays flat however many activities a task writes (Parquet: one row
group per batch).
"""

from __future__ import annotations

import abc
import csv
import io
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from airflow_provider_leadact.exceptions import LeadSquaredConfigError
from airflow_provider_leadact.records import COLUMN_TYPES, COLUMNS, JSON_COLUMNS, ColumnType
from airflow_provider_leadact.sinks.schema import to_json_text, typed_row


class RecordWriter(abc.ABC):
    """Writes batches of flattened records to one open binary file.

    :param file: a writable binary file object; the writer never closes it.
    """

    #: File name extension of the format, without the dot.
    extension: str = ""

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file

    @abc.abstractmethod
    def write_batch(self, records: Sequence[dict[str, Any]]) -> None:
        """Write one batch of records."""

    def finish(self) -> None:  # noqa: B027 - formats without a footer need nothing here
        """Write whatever the format needs after the last record (footer, buffered text)."""

    def abandon(self) -> None:  # noqa: B027 - formats holding no resource need nothing here
        """Let go of the file after a failure; the caller discards what was written."""


class _TextWriter(RecordWriter):
    """Base of the text formats: UTF-8, flushed after every batch so nothing piles up."""

    def __init__(self, file: IO[bytes]) -> None:
        super().__init__(file)
        # newline="" keeps "\n" as written: JSON Lines and csv (which writes "\r\n") decide.
        self._text = io.TextIOWrapper(file, encoding="utf-8", newline="", write_through=False)

    def finish(self) -> None:
        self._text.flush()
        self.abandon()

    def abandon(self) -> None:
        # Detach so that the wrapper, when collected, never closes (or flushes into) the file.
        self._text.detach()


#: Characters that JSON leaves as they are but many readers (Python's ``str.splitlines()``
#: among them) take for line breaks; they are written escaped, so every record is one line.
_LINE_BREAKS = (("\x85", "\\u0085"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def _json_line(record: dict[str, Any]) -> str:
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    if not line.isascii():
        for character, escaped in _LINE_BREAKS:
            line = line.replace(character, escaped)
    return line + "\n"


class JsonLinesWriter(_TextWriter):
    """One JSON object per line, nested values as JSON objects: the record exactly as flattened."""

    extension = "jsonl"

    def write_batch(self, records: Sequence[dict[str, Any]]) -> None:
        self._text.writelines(_json_line(record) for record in records)
        self._text.flush()


def csv_cell(value: Any) -> str:
    """Render one value as CSV text: empty for None, ``true``/``false``, JSON for nested values."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return to_json_text(value) or ""
    return str(value)


class CsvWriter(_TextWriter):
    """RFC 4180 CSV with a header row; nested columns hold JSON text, None is an empty cell."""

    extension = "csv"

    def __init__(self, file: IO[bytes]) -> None:
        super().__init__(file)
        self._csv = csv.writer(self._text, lineterminator="\n")
        self._csv.writerow(COLUMNS)

    def write_batch(self, records: Sequence[dict[str, Any]]) -> None:
        self._csv.writerows([csv_cell(record.get(column)) for column in COLUMNS] for record in records)
        self._text.flush()


def import_pyarrow() -> Any:
    """Return ``(pyarrow, pyarrow.parquet)``, imported on first use: Parquet is an optional extra.

    :raises LeadSquaredConfigError: naming the extra to install, when pyarrow is missing.
    """
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as err:
        raise LeadSquaredConfigError(
            "file_format='parquet' needs pyarrow: pip install 'airflow-provider-leadact[parquet]'"
        ) from err
    return pa, pq


def parquet_schema() -> Any:
    """The Arrow schema of a Parquet file of activities (JSON columns as UTF-8 JSON text)."""
    pa, _ = import_pyarrow()
    arrow_types = {
        ColumnType.TEXT: pa.string(),
        ColumnType.INTEGER: pa.int64(),
        ColumnType.FLOAT: pa.float64(),
        ColumnType.BOOLEAN: pa.bool_(),
        ColumnType.TIMESTAMP: pa.timestamp("us"),
        ColumnType.JSON: pa.string(),
    }
    fields = [
        pa.field(column, arrow_types[column_type], nullable=column != "id")
        for column, column_type in COLUMN_TYPES.items()
    ]
    return pa.schema(fields, metadata={"timezone_of_timestamps": "UTC"})


class ParquetWriter(RecordWriter):
    """Typed columns (see :mod:`~airflow_provider_leadact.sinks.schema`), one row group per batch."""

    extension = "parquet"

    def __init__(self, file: IO[bytes]) -> None:
        super().__init__(file)
        self._pa, pq = import_pyarrow()
        self._schema = parquet_schema()
        self._writer = pq.ParquetWriter(file, self._schema, compression="zstd")

    def write_batch(self, records: Sequence[dict[str, Any]]) -> None:
        if not records:
            return
        rows = [typed_row(record) for record in records]
        columns = []
        for index, (column, column_type) in enumerate(COLUMN_TYPES.items()):
            values = [row[index] for row in rows]
            if column_type is ColumnType.JSON:
                values = [to_json_text(value) for value in values]
            columns.append(self._pa.array(values, type=self._schema.field(column).type))
        self._writer.write_table(self._pa.Table.from_arrays(columns, schema=self._schema))

    def finish(self) -> None:
        self._writer.close()

    def abandon(self) -> None:
        # Closed now, while the file is still open: left to the collector, the writer would
        # try to write its footer into a closed file.
        try:
            self._writer.close()
        except Exception:  # noqa: S110 - the file is being discarded after an earlier error
            pass


def validate_file_format(file_format: str) -> str:
    """Return the format name, lower-cased, or raise naming the supported ones.

    Parquet's optional dependency is checked later, when a file is written, so that a DAG
    file imports on a machine without pyarrow.
    """
    name = str(file_format).strip().lower()
    if name == "json":
        name = "jsonl"
    if name not in FORMATS:
        raise LeadSquaredConfigError(f"file_format {file_format!r} is not supported: use one of {', '.join(FORMATS)}")
    return name


def read_csv(file: IO[bytes]) -> Iterator[dict[str, Any]]:
    """Yield the records of a CSV file written by :class:`CsvWriter`, one at a time.

    Cells are text: JSON columns are decoded here and typed columns are converted by the SQL
    sink (an empty cell is None there). An empty text cell cannot be told from None in CSV.
    """
    reader = csv.DictReader(io.TextIOWrapper(file, encoding="utf-8", newline=""))
    for row in reader:
        record: dict[str, Any] = dict(row)
        for column in JSON_COLUMNS:
            text = record.get(column)
            record[column] = json.loads(text) if text else None
        yield record


def read_parquet(file: IO[bytes]) -> Iterator[dict[str, Any]]:
    """Yield the records of a Parquet file written by :class:`ParquetWriter`, a row group at a time."""
    _, pq = import_pyarrow()
    for batch in pq.ParquetFile(file).iter_batches():
        for record in batch.to_pylist():
            for column in JSON_COLUMNS:
                text = record.get(column)
                record[column] = json.loads(text) if text is not None else None
            yield record


def read_json_lines(file: IO[bytes]) -> Iterator[dict[str, Any]]:
    """Yield the records of a JSON Lines file written by :class:`JsonLinesWriter`, one at a time."""
    for number, line in enumerate(io.TextIOWrapper(file, encoding="utf-8", newline=""), 1):
        if line.strip():
            try:
                yield json.loads(line)
            except ValueError as err:
                raise ValueError(f"line {number} is not JSON: {err}") from err


@dataclass(frozen=True)
class FileFormat:
    """One file format: how records are written and read back.

    :param name: the ``file_format`` value, also the file name extension.
    :param writer: writes batches of records to a binary file.
    :param read: yields the records of a file the writer wrote.
    """

    name: str
    writer: type[RecordWriter]
    read: Callable[[IO[bytes]], Iterator[dict[str, Any]]]


#: Every supported format by name (= file name extension): the one registry of writers and readers.
FORMATS: dict[str, FileFormat] = {
    fmt.name: fmt
    for fmt in (
        FileFormat("jsonl", JsonLinesWriter, read_json_lines),
        FileFormat("csv", CsvWriter, read_csv),
        FileFormat("parquet", ParquetWriter, read_parquet),
    )
}


def format_of_file(url: str) -> FileFormat | None:
    """The format of a file by its name's extension (``.jsonl``, ``.csv``, ``.parquet``), or None."""
    return FORMATS.get(url.rpartition(".")[2].lower())
