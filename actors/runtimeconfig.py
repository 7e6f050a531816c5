"""What each part of the runtime is started with, read from the server's options.

Why a module of its own: the options (`actors.config.Settings`) are the operator's words; the
timetable, the workers, the stream consumers and the service plugins each want their own small
frozen config. These translations are used at start, again when a live option changes
(`System.apply_options`), and by the CLI's task runner (``run-task`` uses the server's rules),
so they live in one place.
"""

from __future__ import annotations

from typing import Any

from actors.config import Settings, misfire_default
from actors.ingest import IngestConfig
from actors.plugins import packages_option
from actors.policy import RestartPolicy, RetryPolicy
from actors.services import service_option_names
from actors.timetable import Limits
from actors.uri import dask_address
from actors.workerconfig import WorkerConfig


def limits_from(settings: Settings) -> Limits:
    """The timetable's live-tunable numbers from the options."""
    return Limits(
        minimum_interval_s=settings.minimum_interval,
        retry=RetryPolicy(max_retries=settings.max_retries, base_delay_s=settings.retry_delay,
                          max_delay_s=settings.retry_max_delay, jitter=settings.retry_jitter),
        start_offset=not settings.no_start_offset,
        default_timeout_s=settings.task_timeout or None,
        max_children_per_run=settings.max_children_per_run,
        misfire=misfire_default(settings),
        # a Dask cluster starts what it is given at once: runs go there when due
        stage_ahead_s=settings.stage_ahead if dask_address(settings.compute) is None else 0.0,
    )


def service_options(settings: Settings) -> dict[str, Any]:
    """The option values the service plugins are built from (their own options and ``db_uri``)."""
    return {name: settings.get(name) for name in (*service_option_names(), "db_uri")}


def ingest_config_from(settings: Settings) -> IngestConfig:
    """How stream consumers work, from the ``stream_*`` options."""
    return IngestConfig(prefetch=settings.stream_prefetch, heartbeat_s=settings.stream_heartbeat,
                        backoff_max_s=settings.stream_backoff_max,
                        backoff_min_s=min(0.2, settings.stream_backoff_max))


def restart_policy_from(settings: Settings) -> RestartPolicy:
    """The worker/actor restart policy from the options."""
    return RestartPolicy(max_restarts=settings.restart_max, window_s=settings.restart_window,
                         min_backoff_s=settings.restart_min_backoff, max_backoff_s=settings.restart_max_backoff,
                         random_factor=settings.restart_jitter, reset_after_s=settings.restart_reset_after)


def worker_config_from(settings: Settings) -> WorkerConfig:
    """What every worker process is started with, from the options."""
    return WorkerConfig(memory_mb=settings.worker_memory_mb, max_runs_per_process=settings.worker_max_runs,
                        restart=restart_policy_from(settings), verbose=settings.verbose,
                        max_children=settings.max_children_per_run,
                        task_packages=packages_option(settings.task_packages),
                        service_options=service_options(settings), result_max_bytes=settings.result_max_bytes,
                        log_max_lines=settings.log_max_lines, log_max_bytes=settings.log_max_bytes,
                        keep_task_processes=settings.keep_task_processes)


#: The `WorkerConfig` fields a live option may change on running workers.
LIVE_WORKER_FIELDS = ("max_children", "verbose", "result_max_bytes", "log_max_lines", "log_max_bytes",
                      "keep_task_processes")


__all__ = ["LIVE_WORKER_FIELDS", "ingest_config_from", "limits_from", "restart_policy_from", "service_options",
           "worker_config_from"]
