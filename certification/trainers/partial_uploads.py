"""Where a tus upload keeps its bytes until the last one arrives: `video-uploads/<id>.part` in
private storage. The upload endpoint (`tus`), the video services and the abandoned-upload sweep
all find the file here, so none of them has to import another to do it."""

import contextlib
from pathlib import Path

from django.core.files.storage import storages

PARTIAL_DIR = "video-uploads"


def partial_path(upload):
    path = Path(storages["private"].path(f"{PARTIAL_DIR}/{upload.id}.part"))
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def delete_partial(upload):
    # Storage without local paths (S3) has no partial file: its parts are aborted instead.
    with contextlib.suppress(NotImplementedError):
        partial_path(upload).unlink(missing_ok=True)
