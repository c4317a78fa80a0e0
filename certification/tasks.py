"""Celery tasks: each a thin call into a service."""

from celery import shared_task


@shared_task(acks_late=True, soft_time_limit=3000, time_limit=3600)
def run_issue_job(job_id):
    """Issue the certificates of one bulk job (progress is saved as it goes)."""
    from .services import run_issue_job as run

    run(job_id)
