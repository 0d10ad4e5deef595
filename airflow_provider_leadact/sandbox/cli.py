"""``leadact-sandbox``: serve the sandbox from a shell until SIGINT or SIGTERM.

Prints exactly one line, ``leadact-sandbox listening on http://127.0.0.1:<port>``, once the
server accepts connections (and after ``--truth-file`` is written), so a parent process can
start it with ``--port 0`` and read the port from its first line.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Any

from airflow_provider_leadact.sandbox.config import RATE_LIMIT_STYLES, SandboxConfig
from airflow_provider_leadact.sandbox.page_readings import (
    CHANGES_SHAPES,
    OFFSET_MODES,
    RANGE_CUSTOM_FIELDS,
    RANGE_FIELDS,
    RANGE_FILTERS,
    RECORD_COUNTS,
)
from airflow_provider_leadact.sandbox.server import Sandbox


def _row_cap(text: str) -> int | None:
    # "none" (or 0) lifts the cap, since None cannot be typed on a command line.
    if text.strip().lower() in ("none", "0", ""):
        return None
    return int(text)


def _daily_cap(text: str) -> int | None:
    # "none" means no cap; 0 is a real cap (every call refused), so it is kept.
    if text.strip().lower() in ("none", ""):
        return None
    return int(text)


def _optional_text(text: str) -> str | None:
    return None if text.strip().lower() in ("none", "") else text


_EPILOG = """\
Also: leadact-sandbox example-dags DAGS_FOLDER [--force] copies the provider's example DAGs there.

API endpoints (keys in x-LSQ-AccessKey / x-LSQ-SecretKey headers or accessKey / secretKey):
  POST /v2/ProspectActivity.svc/Retrieve?leadId=      a lead's activities (--offset-mode ...)
  POST /v2/ProspectActivity.svc/RetrieveRecentlyModified  activities by date range (--range-*)
  POST /v2/ProspectActivity.svc/RetrieveActivityChange    activity change history (--changes-shape)
  POST /v2/LeadManagement.svc/Leads.RecentlyModified  leads by their last change
  GET  /v2/Authentication.svc/UserByAccessKey.Get     the user and the account's API host
  GET  /v2/ProspectActivity.svc/ActivityTypes.Get     the account's activity types
  GET  /v2/ProspectActivity.svc/CustomActivity/GetActivitySetting?code=  one type's custom fields

Control endpoints (no keys): GET /_sandbox/stats, POST /_sandbox/stats/reset,
POST /_sandbox/reset, GET|POST /_sandbox/config, POST /_sandbox/faults {"kind", "count"},
POST /_sandbox/faults/clear, GET /_sandbox/leads, GET /_sandbox/truth[?leadId=],
GET /_sandbox/truth/changed?from=&to= (ModifiedOn in [from, to), sorted by Id),
GET /_sandbox/truth/changes?from=&to=, GET /_sandbox/history/days,
POST /_sandbox/edit {"count", "at", "lead_id"} (edits activities now, or at "at"),
POST /_sandbox/activities {"activities": [...]} (serves these activities too, as given).
"""


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser; every :class:`SandboxConfig` field has a flag."""
    defaults = SandboxConfig()
    parser = argparse.ArgumentParser(
        prog="leadact-sandbox",
        description="Serve a local emulation of the LeadSquared API with generated data.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )

    def add(flag: str, kind: Any, text: str, **extra: Any) -> None:
        field = flag.lstrip("-").replace("-", "_")
        default = getattr(defaults, field)
        # Flags not given stay out of the namespace: SandboxConfig is the one source of defaults.
        parser.add_argument(flag, type=kind, default=argparse.SUPPRESS, help=f"{text} (default: {default})", **extra)

    add("--seed", int, "seed of the generated data")
    add("--leads", int, "number of leads")
    add("--start", str, "first day of the data, YYYY-MM-DD")
    add("--days", int, "number of days the data spans")
    add("--backdated", float, "share of activities whose CreatedOn is before the system wrote them")
    add("--dated-ahead", float, "share of activities whose CreatedOn is after the system wrote them")
    parser.add_argument("--truth-file", metavar="PATH", help="write the ground truth JSON here, then serve")

    add("--access-key", str, "access key to accept")
    add("--secret-key", str, "secret key to accept")
    add("--host", str, "interface to listen on")
    add("--port", int, "port to listen on, 0 for any free port")
    add(
        "--account-host",
        _optional_text,
        "host name of the account's region (e.g. localhost): API calls whose Host header names "
        "another host answer 401, UserByAccessKey.Get answers on any host and names "
        "http://<account-host>:<port>; 'none' for any host",
    )

    add("--offset-mode", str, "meaning of Paging.Offset", choices=OFFSET_MODES)
    add("--record-count", str, "meaning of RecordCount", choices=RECORD_COUNTS)
    add("--row-cap", _row_cap, "largest page served, 'none' for no cap")
    add("--default-rows", int, "rows served without paging")

    add("--range-record-count", str, "meaning of RecordCount in RetrieveRecentlyModified", choices=RECORD_COUNTS)
    add("--range-max-page-size", int, "largest page RetrieveRecentlyModified serves (silently)")
    add("--range-filter-on", str, "timestamp RetrieveRecentlyModified filters on", choices=RANGE_FILTERS)
    add(
        "--range-include-fields",
        str,
        "full: listing rows carry every field of the per-lead call (mx_ custom fields only with "
        "IncludeCustomFields); partial: Id, EventCode, EventName, CreatedOn, ModifiedOn, RelatedProspectId",
        choices=RANGE_FIELDS,
    )
    add(
        "--range-custom-fields",
        str,
        "where listing rows hold the mx_ custom fields with IncludeCustomFields: in ActivityFields, "
        "as top-level keys of the row, or as a Fields list of Key/Value pairs replacing ActivityFields",
        choices=RANGE_CUSTOM_FIELDS,
    )
    add("--range-churn", int, "activities edited 'now' after each RetrieveRecentlyModified page, from that page")
    add("--range-heavy-rows", int, "a RetrieveRecentlyModified query matching more rows answers HTTP 500; 0: never")

    add(
        "--changes-shape",
        str,
        "RetrieveActivityChange entries: documented (the activity nested under Activity, ProspectActivityId, "
        "codes as strings) or flat (ActivityId, RelatedProspectId, ActivityEvent, ModifiedOn, ...)",
        choices=CHANGES_SHAPES,
    )

    add("--rate-limit-calls", int, "calls allowed per period per key, 0 for no limit")
    add("--rate-limit-period", float, "rate-limit window in seconds")
    add(
        "--rate-limit-style",
        str,
        "HTTP 429, or 200 with an MX body (the daily cap answers the same way)",
        choices=RATE_LIMIT_STYLES,
    )
    add(
        "--daily-call-cap",
        _daily_cap,
        "calls accepted per key in a UTC day; then MXAPIDailyLimitExceededException; 'none' for no cap",
    )

    add("--latency", float, "seconds added to every API answer")
    add("--fault-500", float, "probability of HTTP 500 per call")
    add("--fault-503", float, "probability of HTTP 503 per call")
    add("--fault-drop", float, "probability of closing the connection unanswered")
    add("--fault-slow", float, "probability of answering after --slow-seconds")
    add("--fault-truncated", float, "probability of a body cut in half")
    add("--slow-seconds", float, "delay of a slow answer")
    add("--fault-seed", int, "seed of the random faults")
    parser.add_argument(
        "--print-connection",
        action="store_true",
        default=argparse.SUPPRESS,
        help="also print, on stderr, the export line of an Airflow connection to this sandbox",
    )
    return parser


def copy_example_dags(argv: Sequence[str]) -> int:
    """``leadact-sandbox example-dags DAGS_FOLDER [--force]``: copy the example DAGs there.

    The DAG files import their settings from the installed provider, so the copies parse
    wherever the provider is installed. Existing files are kept unless ``--force``.

    :return: 0 when copied, 2 for a bad folder or a file that exists already.
    """
    import shutil
    from pathlib import Path

    parser = argparse.ArgumentParser(
        prog="leadact-sandbox example-dags", description="Copy the provider's example DAGs into a DAGs folder."
    )
    parser.add_argument("dags_folder", help="your Airflow DAGs folder ([core] dags_folder)")
    parser.add_argument("--force", action="store_true", help="replace files of the same name")
    args = parser.parse_args(argv)
    source = Path(__file__).resolve().parents[1] / "example_dags"
    target = Path(args.dags_folder)
    if target.exists() and not target.is_dir():
        print(f"leadact-sandbox example-dags: {target} is not a folder", file=sys.stderr)
        return 2
    files = sorted(path for path in source.glob("leadsquared_activities_*.py"))
    clashes = [target / path.name for path in files if (target / path.name).exists()]
    if clashes and not args.force:
        print(
            f"leadact-sandbox example-dags: {', '.join(map(str, clashes))} exist already: pass --force to replace them",
            file=sys.stderr,
        )
        return 2
    target.mkdir(parents=True, exist_ok=True)
    for path in files:
        shutil.copyfile(path, target / path.name)
        print(target / path.name)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sandbox until SIGINT or SIGTERM (or, with ``example-dags``, copy the example DAGs).

    :param argv: arguments without the program name; ``sys.argv[1:]`` when ``None``.
    :return: the exit status: 0 after a clean stop, 2 for bad settings, 1 if it cannot listen.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["example-dags"]:
        return copy_example_dags(argv[1:])
    parser = build_parser()
    args = vars(parser.parse_args(argv))
    truth_file = args.pop("truth_file")
    print_connection = args.pop("print_connection", False)
    try:
        sandbox = Sandbox(SandboxConfig(**args))
    except ValueError as error:
        print(f"leadact-sandbox: {error}", file=sys.stderr)
        return 2

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if truth_file:
            sandbox.write_truth(truth_file)
        try:
            sandbox.start()
        except OSError as error:
            print(f"leadact-sandbox: cannot listen: {error}", file=sys.stderr)
            return 1
        print(f"leadact-sandbox listening on {sandbox.url}", flush=True)
        if print_connection:
            print(f"export AIRFLOW_CONN_LEADSQUARED_DEFAULT='{sandbox.connection_json()}'", file=sys.stderr, flush=True)
        # wait() with a timeout keeps the main thread responsive to signals on every platform.
        while not stop.wait(0.5):
            pass
        return 0
    finally:
        sandbox.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
