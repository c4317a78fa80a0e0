"""Celery's autodiscovery imports this module; each task is defined beside the service it runs."""

from .services.issuing import run_issue_job_task

__all__ = ["run_issue_job_task"]
