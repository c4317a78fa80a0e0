"""Private storage: certificates, invoices, materials and videos, outside the web root.

Served only through permission-checked views (or presigned S3 links). Every app's private
FileField uses `private_storage`; code that writes or reads by name uses `private_files()`.
"""

from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty


class PrivateStorage(LazyObject):
    """Resolves `storages["private"]` lazily so tests that swap STORAGES are honoured."""

    def _setup(self):
        self._wrapped = storages["private"]


private_storage_instance = PrivateStorage()


def private_storage():
    """The FileField storage callable (a function so migrations reference it by path)."""
    return private_storage_instance


def private_files():
    """The private storage itself, for code that saves, opens or deletes by name."""
    return storages["private"]


@receiver(setting_changed)
def _reset_private_storage(*, setting, **kwargs):
    if setting == "STORAGES":
        private_storage_instance._wrapped = empty
