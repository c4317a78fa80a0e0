"""Celery's autodiscovery imports this module; each task is defined beside the service it runs."""

from .services.issuing import run_issue_job_task
from .services.transcript_jobs import build_transcript_task

__all__ = ["build_transcript_task", "run_issue_job_task"]
