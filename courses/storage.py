"""Where event materials are kept: the private storage, outside the web root."""

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


@receiver(setting_changed)
def _reset_private_storage(*, setting, **kwargs):
    if setting == "STORAGES":
        private_storage_instance._wrapped = empty
