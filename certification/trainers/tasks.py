"""Celery's autodiscovery imports this module; each task is defined beside the service it runs."""

from .abandoned_uploads import delete_abandoned_uploads_task as delete_abandoned_uploads
from .services.videos import process_video
from .services.videos import purge_expired_videos_task as purge_expired_videos

__all__ = ["delete_abandoned_uploads", "process_video", "purge_expired_videos"]
