"""The after-commit hook of aadsync.runs.sync_runs_ended: count the ended runs (quarantine), then queue the alert
decision. It never raises: a look-up has ended whatever happens here."""
from __future__ import annotations

import logging

from aadsync.alerts.state import runs_outcome_record

logger = logging.getLogger(__name__)


def alerts_after_runs(run_ids: list[int]) -> None:
    try:
        runs_outcome_record(run_ids)
    except Exception:
        logger.exception("Could not count the end of look-up(s) %s for alerts and quarantine", run_ids)
    try:
        alerts_queue(list(run_ids))
    except Exception:
        logger.exception("Could not queue the alerts after look-up(s) %s", run_ids)


def alerts_queue(run_ids: list[int]) -> None:
    """Hand the e-mail decision to a Celery worker (tests replace this; see tests/conftest.py)."""
    from aadsync.alerts.tasks import alerts_after_runs_task  # the tasks module imports Celery and the mail code

    alerts_after_runs_task.apply_async((run_ids,))
