"""What a DAG needs around partitioned activity files: their Asset, and pruning stale parts.

A DAG that writes one partition per data interval (``.../interval_start=<ts>/part-<n>.jsonl``)
rewrites the partition on every rerun; a rerun may write fewer parts than the run before, and
:class:`LeadSquaredPrunePartitionOperator` deletes the parts it did not write.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, BaseOperator

from airflow_provider_leadact.airflow_compat import TriggerRule
from airflow_provider_leadact.operators.load import file_urls
from airflow_provider_leadact.sinks.object_storage import asset_for_path, check_storage_path, remove_stale_files

if TYPE_CHECKING:
    from airflow.sdk import Context


def files_asset(path: str) -> Asset:
    """The Asset of the files written under ``path``, a URL that may hold a Jinja template.

    It names the folder before the first template expression, so every partition of
    ``.../interval_start={{ ... }}/part-{{ ... }}.jsonl`` updates one Asset that downstream DAGs
    can be scheduled on. A mapped fetch takes it in ``partial(outlets=[files_asset(path)])``.
    """
    return asset_for_path(path)


class LeadSquaredPrunePartitionOperator(BaseOperator):
    """Delete the part files of a partition that this run did not write.

    Runs after the fetch tasks, by default when none failed (also when the fetch was skipped
    because nothing changed in the interval: every part an earlier run wrote is then stale).
    Only files named ``<prefix>*`` directly in the partition are considered.

    :param partition: the partition's folder URL, e.g.
        ``file:///data/ls/activities/interval_start={{ data_interval_start | ts_nodash }}``. (templated)
    :param written: what this run wrote: file URLs, or the summaries the object storage
        operators return (e.g. a mapped fetch's ``output``); None or empty for nothing. (templated)
    :param prefix: file name prefix of the parts.
    """

    template_fields: Sequence[str] = ("partition", "written")
    ui_color = "#f0f0e6"

    def __init__(self, *, partition: str, written: Any = None, prefix: str = "part-", **kwargs: Any) -> None:
        kwargs.setdefault("trigger_rule", TriggerRule.NONE_FAILED)
        super().__init__(**kwargs)
        self.partition = partition
        self.written = written
        self.prefix = prefix

    def execute(self, context: Context) -> list[str]:
        """Delete the stale parts; return their URLs."""
        check_storage_path(str(self.partition), name="partition", folder=True)
        removed = remove_stale_files(str(self.partition).strip(), file_urls(self.written), prefix=self.prefix)
        self.log.info("Removed %d stale part(s) from %s", len(removed), self.partition)
        return removed
