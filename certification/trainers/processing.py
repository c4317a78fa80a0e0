"""Check an uploaded file really is a video, describe it, make a poster and a playable copy.

The ffprobe/ffmpeg steps only; the service that runs them and records the outcome is
`services.videos.process_submission`.

ffprobe decides the format by content, not by name, so a `.mp4` that is really an HLS
playlist would be opened as HLS (and could make ffmpeg fetch URLs): only the container formats
of real video files are allowed, and only the local file protocol.
"""

import json
import logging
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

from django.core.files.storage import storages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

log = logging.getLogger(__name__)

FORMAT_WHITELIST = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm"
SAFE_INPUT = ["-protocol_whitelist", "file", "-format_whitelist", FORMAT_WHITELIST]
NOT_A_VIDEO = gettext_lazy(
    "This file is not a video we can read. Upload the original video file "
    "(MP4, MOV, MKV or WebM) straight from your camera or editing software."
)
COPY_SIZE = 8 * 1024 * 1024


class VideoRejected(Exception):
    """The file cannot be accepted; the message is shown to the candidate."""


def _run(args, timeout):
    return subprocess.run(  # noqa: S603 - fixed argument list, no shell
        args, capture_output=True, timeout=timeout, check=False
    )


def probe(path):
    """ffprobe's description of the file, or VideoRejected with a plain reason."""
    if Path(path).stat().st_size == 0:
        raise VideoRejected(_("The file is empty (0 bytes). Choose the video file itself."))
    result = _run(
        [
            "ffprobe",
            "-v",
            "error",
            *SAFE_INPUT,
            "-show_format",
            "-show_streams",
            "-of",
            "json",
            f"file:{path}",
        ],
        timeout=120,
    )
    if result.returncode != 0:
        raise VideoRejected(NOT_A_VIDEO)
    try:
        data = json.loads(result.stdout or b"{}")
    except ValueError as error:
        raise VideoRejected(NOT_A_VIDEO) from error
    return data


def describe(data):
    """The facts we keep about a video, or VideoRejected if it has no real picture."""
    streams = data.get("streams", [])
    video = next(
        (
            s
            for s in streams
            if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")
        ),
        None,
    )
    if video is None:
        raise VideoRejected(_("This file has no video picture in it (only sound or an image)."))
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    try:
        duration = float(data.get("format", {}).get("duration") or video.get("duration") or 0)
    except ValueError:
        duration = 0
    if duration <= 0:
        raise VideoRejected(_("This video has no playable length; the file may be incomplete."))
    return {
        "duration_seconds": round(duration, 2),
        "width": int(video.get("width") or 0),
        "height": int(video.get("height") or 0),
        "container": data.get("format", {}).get("format_name", "")[:100],
        "video_codec": video.get("codec_name", "")[:50],
        "audio_codec": (audio or {}).get("codec_name", "")[:50],
        "_pix_fmt": video.get("pix_fmt", ""),
    }


def is_browser_safe(info):
    """H.264 in MP4 with yuv420p and AAC (or no sound) plays in every browser, Safari too."""
    return (
        "mp4" in info["container"]
        and info["video_codec"] == "h264"
        and info["_pix_fmt"] == "yuv420p"
        and info["audio_codec"] in {"aac", ""}
    )


def check_decodes(path):
    """Decode the last seconds: a truncated file fails here even when its header is intact."""
    result = _run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-xerror",
            *SAFE_INPUT,
            "-sseof",
            "-3",
            "-i",
            f"file:{path}",
            "-f",
            "null",
            "-",
        ],
        timeout=300,
    )
    if (
        result.returncode != 0
        or b"partial file" in result.stderr
        or b"Invalid data" in result.stderr
    ):
        raise VideoRejected(
            _("This video file is incomplete or damaged. Export it again and upload the new file.")
        )


def make_poster(path, duration, target):
    at = f"{min(1.0, duration / 2):.2f}"
    result = _run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            *SAFE_INPUT,
            "-ss",
            at,
            "-i",
            f"file:{path}",
            "-frames:v",
            "1",
            "-vf",
            "scale='min(960,iw)':-2",
            "-q:v",
            "4",
            f"file:{target}",
        ],
        timeout=120,
    )
    if result.returncode != 0 or not Path(target).exists():
        raise VideoRejected(_("We could not read a picture from this video."))


def transcode(path, target, timeout):
    """The browser-safe copy: H.264 High, yuv420p, AAC, moov atom first for quick start."""
    result = _run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            *SAFE_INPUT,
            "-i",
            f"file:{path}",
            "-map",
            "0:v:0",
            "-map",
            "0:a:0?",
            "-c:v",
            "libx264",
            "-profile:v",
            "high",
            "-pix_fmt",
            "yuv420p",
            "-preset",
            "veryfast",
            "-crf",
            "23",
            "-vf",
            "scale=trunc(iw/2)*2:trunc(ih/2)*2",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-movflags",
            "+faststart",
            f"file:{target}",
        ],
        timeout=timeout,
    )
    if result.returncode != 0:
        log.warning("transcode failed: %s", result.stderr[-2000:])
        raise VideoRejected(
            _(
                "We could not convert this video to a format browsers can play. "
                "Export it as MP4 (H.264) and upload it again."
            )
        )


@contextmanager
def local_copy(name):
    """A local path for a stored file: the file itself on disk, or a temporary download."""
    storage = storages["private"]
    try:
        path = storage.path(name)
    except NotImplementedError:
        path = None
    if path is not None:
        yield path
        return
    with tempfile.NamedTemporaryFile(suffix=".video") as handle:
        with storage.open(name, "rb") as source:
            shutil.copyfileobj(source, handle, COPY_SIZE)
        handle.flush()
        yield handle.name
