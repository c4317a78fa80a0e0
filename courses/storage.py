"""Kept because migrations name `courses.storage.private_storage`; the storage is cms's."""

from cms.storage import private_storage

__all__ = ["private_storage"]
