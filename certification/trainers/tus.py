"""A tus 1.0 server (core, creation, termination) for video uploads to local storage.

Each PATCH body is streamed to the partial file in fixed-size reads: the request body is never
loaded into memory (no `request.body`, no `request.POST`), so memory stays flat whatever the
file size. The partial file's size on disk is the upload offset, which survives a dropped
connection: the client asks with HEAD and continues from there.
"""

import base64
import binascii
import fcntl
import os
from pathlib import Path

from django.conf import settings
from django.core.files.storage import storages
from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from cms.access import owner
from cms.untrusted_input import parse_uuid

from . import services
from .models import VideoSubmission, VideoUpload
from .partial_uploads import partial_path

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination"
READ_SIZE = 1024 * 1024


def _response(status, **headers):
    response = HttpResponse(status=status)
    response["Tus-Resumable"] = TUS_VERSION
    response["Cache-Control"] = "no-store"
    for key, value in headers.items():
        response[key.replace("_", "-")] = value
    return response


def _error(status, message, **headers):
    response = _response(status, **headers)
    response["Content-Type"] = "text/plain; charset=utf-8"
    response.content = message.encode()
    return response


def _max_size():
    return getattr(settings, "TRAINERS_TUS_MAX_SIZE", 4 * 1024**3)


def _options():
    return _response(
        204,
        Tus_Version=TUS_VERSION,
        Tus_Extension=TUS_EXTENSIONS,
        Tus_Max_Size=str(_max_size()),
    )


def parse_metadata(header):
    """`Upload-Metadata: key base64value,key2 base64value` -> dict of str."""
    metadata = {}
    for pair in (header or "").split(","):
        parts = pair.strip().split(" ")
        if not parts or not parts[0]:
            continue
        value = ""
        if len(parts) > 1:
            try:
                value = base64.b64decode(parts[1], validate=True).decode("utf-8", "replace")
            except (binascii.Error, ValueError):
                value = ""
        metadata[parts[0]] = value
    return metadata


def _version_ok(request):
    return request.headers.get("Tus-Resumable") == TUS_VERSION


@owner(api=True)
@require_http_methods(["OPTIONS", "POST"])
def collection(request):
    """Creation: POST with Upload-Length (and Upload-Metadata naming the submission)."""
    if request.method == "OPTIONS":
        return _options()
    if not request.user.is_authenticated:
        return _error(403, _("Log in to upload."))
    if not _version_ok(request):
        return _error(412, "Unsupported tus version.", Tus_Version=TUS_VERSION)
    length = _non_negative_header(request, "Upload-Length")
    if length is None:
        return _error(400, "Upload-Length is required and must be a whole number of bytes.")
    if length > _max_size():
        return _error(413, _("The file is larger than any track accepts."))
    metadata = parse_metadata(request.headers.get("Upload-Metadata"))
    submission = VideoSubmission.objects.filter(
        public_id=parse_uuid(metadata.get("submission")),
        enrolment__candidate=request.user,
    ).first()
    if submission is None:
        return _error(404, _("Start a submission from your dashboard first."))
    try:
        upload = services.create_upload(
            submission,
            owner=request.user,
            length=length,
            filename=metadata.get("name") or metadata.get("filename"),
        )
    except services.UploadTooLarge as error:
        return _error(413, str(error))
    except services.CertificationError as error:
        return _error(409, str(error))
    partial_path(upload).touch()
    location = request.build_absolute_uri(reverse("trainers:tus_resource", args=[upload.id]))
    return _response(201, Location=location, Upload_Offset="0")


@owner(api=True)
@require_http_methods(["OPTIONS", "HEAD", "PATCH", "DELETE"])
def resource(request, upload_id):
    if request.method == "OPTIONS":
        return _options()
    # Someone else's upload id looks exactly like one that does not exist.
    upload = (
        VideoUpload.objects.filter(pk=upload_id, owner_id=request.user.pk)
        .select_related("submission")
        .first()
        if request.user.is_authenticated
        else None
    )
    if upload is None or upload.backend != VideoUpload.Backend.TUS:
        return _error(404, _("No such upload."))
    if not _version_ok(request):
        return _error(412, "Unsupported tus version.", Tus_Version=TUS_VERSION)
    if request.method == "HEAD":
        offset = upload.length if upload.completed_at else _disk_offset(upload)
        return _response(200, Upload_Offset=str(offset), Upload_Length=str(upload.length))
    if request.method == "DELETE":
        services.terminate_upload(upload, actor=request.user)
        return _response(204)
    return _patch(request, upload)


def _disk_offset(upload):
    try:
        return partial_path(upload).stat().st_size
    except FileNotFoundError:
        return 0


def _non_negative_header(request, name):
    """A header holding a byte count or offset (tus 1.0: a non-negative integer), else None."""
    value = request.headers.get(name, "").strip()
    return int(value) if value.isdecimal() and value.isascii() else None


def _patch(request, upload):
    if request.content_type != "application/offset+octet-stream":
        return _error(415, "Content-Type must be application/offset+octet-stream.")
    if upload.completed_at:
        return _error(409, _("This upload is already complete."), Upload_Offset=str(upload.length))
    offset = _non_negative_header(request, "Upload-Offset")
    if offset is None:
        return _error(400, "Upload-Offset is required and must be a whole number of bytes.")
    remaining_declared = _non_negative_header(request, "Content-Length")
    if request.headers.get("Content-Length") and remaining_declared is None:
        return _error(400, "Content-Length must be a whole number of bytes.")
    path = partial_path(upload)
    with open(path, "ab") as handle:
        try:
            # One writer per upload: a second concurrent PATCH is told to retry, not interleaved.
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _error(423, _("This upload is busy; retry in a moment."))
        current = handle.seek(0, os.SEEK_END)
        if offset != current:
            return _error(409, "Upload-Offset does not match.", Upload_Offset=str(current))
        remaining = upload.length - current
        if remaining_declared is not None and remaining_declared > remaining:
            return _error(413, "This chunk goes past the declared Upload-Length.")
        written = 0
        try:
            while written < remaining:
                data = request.read(min(READ_SIZE, remaining - written))
                if not data:
                    break
                handle.write(data)
                written += len(data)
            if written == remaining and request.read(1):
                # More bytes than declared: keep the upload as it was before this request.
                handle.truncate(current)
                return _error(413, "This chunk goes past the declared Upload-Length.")
        except OSError:
            # The client went away mid-chunk; what arrived is kept and HEAD reports it.
            pass
        handle.flush()
        new_offset = current + written
    VideoUpload.objects.filter(pk=upload.pk).update(offset=new_offset)
    if new_offset == upload.length:
        submission = upload.submission
        source_name = f"{services.submission_prefix(submission)}/source"
        target = Path(storages["private"].path(source_name))
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        upload.offset = new_offset
        services.complete_upload(upload, source_name=source_name)
    return _response(204, Upload_Offset=str(new_offset))
