"""Permission-checked playback of private videos and posters.

Three ways to hand out the bytes, chosen by settings: a streaming response that answers HTTP
Range requests with 206 (Django's FileResponse does not, and Safari will not play or seek
without it); nginx `X-Accel-Redirect` to an internal location; or, with S3, a short-lived
presigned GET URL. No public or guessable URL exists for any video or poster.
"""

import mimetypes

from django.conf import settings
from django.core.files.storage import storages
from django.http import Http404, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_safe

from cms.access import Perm, owner
from cms.byte_ranges import file_chunks, parse_range

from . import bucket, s3, services
from .models import VideoSubmission


def _content_type(name, submission):
    if name.endswith(".jpg"):
        return "image/jpeg"
    if "webm" in submission.container and name == submission.source_name:
        return "video/webm"
    if "matroska" in submission.container and name == submission.source_name:
        return "video/x-matroska"
    return mimetypes.guess_type(name)[0] or "video/mp4"


def stream_private_file(request, name, content_type, *, duration_seconds=None):
    """Serve a file from private storage, honouring a single-range Range header.

    With S3, a redirect to a SigV4 presigned GET valid for the video's duration plus a
    margin: the browser requests that URL again for every seek.
    """
    storage = storages["private"]
    mode = getattr(settings, "TRAINERS_VIDEO_DELIVERY", "stream")
    if s3.is_active():
        url = bucket.presign_get(
            name, content_type=content_type, expires=bucket.playback_seconds(duration_seconds)
        )
        response = HttpResponseRedirect(url)
        response["Cache-Control"] = "private, no-store"
        return response
    if mode == "x-accel":
        response = HttpResponse(content_type=content_type)
        prefix = getattr(settings, "TRAINERS_X_ACCEL_PREFIX", "/protected/")
        response["X-Accel-Redirect"] = prefix.rstrip("/") + "/" + name
        response["Cache-Control"] = "private, no-store"
        return response
    try:
        size = storage.size(name)
    except OSError as error:
        raise Http404("Video file not found") from error
    requested = parse_range(request.headers.get("Range"), size)
    if requested == "invalid":
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    handle = storage.open(name, "rb")
    if requested is None:
        response = StreamingHttpResponse(file_chunks(handle, 0, size), content_type=content_type)
        response["Content-Length"] = str(size)
    else:
        start, end = requested
        length = end - start + 1
        response = StreamingHttpResponse(
            file_chunks(handle, start, length), status=206, content_type=content_type
        )
        response["Content-Length"] = str(length)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _submission_for(request, public_id):
    submission = get_object_or_404(
        VideoSubmission.objects.select_related("enrolment"), public_id=public_id
    )
    # Someone without access learns nothing, not even that the video exists.
    if not services.can_view_submission(request.user, submission):
        raise Http404("No such video")
    return submission


@owner(Perm.REVIEW_SUBMISSION, Perm.LEAD_CERTIFICATION)
@require_safe
def video(request, public_id):
    submission = _submission_for(request, public_id)
    if not submission.has_video:
        raise Http404("This video is not available")
    name = submission.playback_name
    return stream_private_file(
        request, name, _content_type(name, submission), duration_seconds=submission.duration_seconds
    )


@owner(Perm.REVIEW_SUBMISSION, Perm.LEAD_CERTIFICATION)
@require_safe
def poster(request, public_id):
    submission = _submission_for(request, public_id)
    if not submission.poster_name or submission.files_deleted_at:
        raise Http404("No poster")
    return stream_private_file(
        request,
        submission.poster_name,
        "image/jpeg",
        duration_seconds=submission.duration_seconds,
    )
