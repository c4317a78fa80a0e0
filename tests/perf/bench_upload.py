"""The upload benchmark: 1 GiB through the tus endpoint behind gunicorn, against a disk copy.

The source is a real (tiny) MP4 followed by a `free` box of random bytes up to 1 GiB, so the
whole pipeline runs: the upload is checked by ffprobe and accepted as a video, and the stored
file is compared with the source by SHA-256. It goes up in 8 MiB PATCH requests; midway one
request is cut off after half its body, and the upload resumes from the offset HEAD reports.
The floor is a plain copy of the same file on the same disk: the least any upload must do is
write its bytes once, so the ratio (disk time / upload time) is what HTTP, tus, the checks and
the project's code add. Each of three rounds copies and then uploads (a new submission each
time); every figure is the median of the three. The gunicorn worker's memory is read from
/proc before and after (peak), to show it stays flat. Runs on PostgreSQL (tests/perf/database.py).

Prints one JSON line: {"bench": "upload", "ratio", "mb_per_s", "disk_mb_per_s",
"server_rss_growth_mb", "resumed_sha256_ok", ...}. BENCH_SHORT=1 uploads 64 MiB instead of
1 GiB.
"""

import base64
import hashlib
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from tests.perf.database import SETTINGS, prepare_database
from tests.perf.http_load import gunicorn_server

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
BENCH_DIR = PROJECT_ROOT / ".bench"
SHORT = bool(os.environ.get("BENCH_SHORT"))
TOTAL = int(os.environ.get("BENCH_UPLOAD_BYTES", str(64 * 1024**2 if SHORT else 1024**3)))
ROUNDS = 3
CHUNK = 8 * 1024 * 1024
READ = 8 * 1024 * 1024


def make_source(path):
    """A short real MP4 plus a `free` box of random data, TOTAL bytes in all."""
    with tempfile.TemporaryDirectory() as work:
        clip = Path(work) / "clip.mp4"
        subprocess.run(
            [
                "ffmpeg", "-v", "error", "-y",
                "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=2",
                "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
                "-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "ultrafast",
                "-c:a", "aac", "-shortest", "-movflags", "+faststart", str(clip),
            ],
            check=True,
        )  # fmt: skip
        video = clip.read_bytes()
    padding = TOTAL - len(video)
    block = os.urandom(READ)
    with open(path, "wb") as out:
        out.write(video)
        out.write(padding.to_bytes(4, "big") + b"free")
        left = padding - 8
        counter = 0
        while left > 0:
            # Vary each block a little so no layer can deduplicate or compress the copy.
            piece = counter.to_bytes(8, "big") + block[8:]
            out.write(piece[:left])
            left -= min(left, len(piece))
            counter += 1


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while data := handle.read(READ):
            digest.update(data)
    return digest.hexdigest()


def disk_copy_seconds(source, target):
    started = time.perf_counter()
    with open(source, "rb") as reader, open(target, "wb") as writer:
        while data := reader.read(READ):
            writer.write(data)
        writer.flush()
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


def prepare():
    """A candidate with a submission awaiting upload, and their session."""
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.middleware.csrf import _get_new_csrf_string
    from django.test import Client

    from certification.trainers import services
    from certification.trainers.models import Requirement, Track

    email = f"bench-{time.time_ns()}@example.org"
    candidate = get_user_model().objects.create_user(
        email=email, password="bench upload 123", legal_name="Bench Candidate"
    )
    track, _ = Track.objects.get_or_create(
        slug="bench-upload",
        defaults={
            "name": "Bench upload",
            "credential_title": "Bench",
            "max_upload_bytes": 2 * TOTAL,
        },
    )
    requirement, _ = Requirement.objects.get_or_create(
        track=track, kind=Requirement.Kind.VIDEO, defaults={"title": "Video"}
    )
    enrolment = services.enrol(track, candidate, actor=candidate)
    submission = services.start_video_submission(
        enrolment, requirement, actor=candidate, consent=True
    )
    client = Client()
    client.force_login(candidate)
    from django.conf import settings

    return {
        "submission": str(submission.public_id),
        "session": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "csrf": _get_new_csrf_string(),
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "private_root": str(settings.PRIVATE_MEDIA_ROOT),
    }


def worker_memory_kb(port):
    """{pid: (VmRSS, VmHWM)} of the gunicorn processes serving `port`."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            if b"gunicorn" not in cmdline or f":{port}".encode() not in cmdline:
                continue
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        found[int(entry.name)] = (
            int(fields["VmRSS"].split()[0]),
            int(fields["VmHWM"].split()[0]),
            int(fields.get("PPid", "0").strip() or 0),
        )
    return found


class TusClient:
    def __init__(self, port, session_cookie, session, csrf):
        self.port = port
        self.headers = {
            "Tus-Resumable": "1.0.0",
            "Cookie": f"{session_cookie}={session}; csrftoken={csrf}",
            "X-CSRFToken": csrf,
            "Host": "127.0.0.1",
        }

    def request(self, method, path, body=None, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            connection.request(method, path, body=body, headers={**self.headers, **(headers or {})})
            response = connection.getresponse()
            response.read()
            return response
        finally:
            connection.close()

    def create(self, submission, length):
        metadata = ",".join(
            f"{key} {base64.b64encode(value.encode()).decode()}"
            for key, value in {"submission": submission, "name": "bench.mp4"}.items()
        )
        response = self.request(
            "POST",
            "/certification/uploads/tus/",
            headers={"Upload-Length": str(length), "Upload-Metadata": metadata},
        )
        if response.status != 201:
            raise RuntimeError(f"tus creation answered {response.status}")
        return urlsplit(response.getheader("Location")).path

    def patch(self, path, offset, data):
        response = self.request(
            "PATCH",
            path,
            body=data,
            headers={
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
                "Content-Length": str(len(data)),
            },
        )
        if response.status != 204:
            raise RuntimeError(f"PATCH at {offset} answered {response.status}")
        return int(response.getheader("Upload-Offset"))

    def head_offset(self, path):
        return int(self.request("HEAD", path).getheader("Upload-Offset"))

    def cut_off_patch(self, path, offset, data):
        """Announce the whole chunk, send half of it, and drop the connection."""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
        head = [
            f"PATCH {path} HTTP/1.1",
            *(f"{k}: {v}" for k, v in self.headers.items()),
            f"Upload-Offset: {offset}",
            "Content-Type: application/offset+octet-stream",
            f"Content-Length: {len(data)}",
            "",
            "",
        ]
        sock.sendall("\r\n".join(head).encode())
        sock.sendall(data[: len(data) // 2])
        sock.shutdown(socket.SHUT_RDWR)
        sock.close()


def upload(client, submission, source):
    path = client.create(submission, TOTAL)
    offset = 0
    interrupted = False
    started = time.perf_counter()
    with open(source, "rb") as handle:
        while offset < TOTAL:
            handle.seek(offset)
            data = handle.read(CHUNK)
            if not interrupted and offset >= TOTAL // 2:
                interrupted = True
                client.cut_off_patch(path, offset, data)
                # The server keeps what arrived; ask where to go on, as a client would.
                for _ in range(100):
                    resumed_at = client.head_offset(path)
                    if resumed_at > offset:
                        break
                    time.sleep(0.05)
                offset = resumed_at
                continue
            offset = client.patch(path, offset, data)
    return time.perf_counter() - started, interrupted


def main():
    prepare_database()
    source = BENCH_DIR / "upload-source.bin"
    make_source(source)
    source_sha = sha256_of(source)
    infos = [prepare() for _ in range(ROUNDS)]
    from django.db import connection

    connection.close()
    rounds = []
    log_path = BENCH_DIR / "upload-gunicorn.log"
    with gunicorn_server(SETTINGS, workers=1, ready_path="/bench/bare", log_path=log_path) as port:
        client = TusClient(port, infos[0]["session_cookie"], infos[0]["session"], infos[0]["csrf"])
        # Warm up the worker (imports, first queries) before taking its baseline memory.
        client.request("OPTIONS", "/certification/uploads/tus/")
        client.request("HEAD", "/certification/uploads/tus/00000000-0000-0000-0000-000000000000")
        before = worker_memory_kb(port)
        for info in infos:
            disk_seconds = disk_copy_seconds(source, BENCH_DIR / "upload-copy.bin")
            client = TusClient(port, info["session_cookie"], info["session"], info["csrf"])
            seconds, interrupted = upload(client, info["submission"], source)
            stored = Path(info["private_root"]) / "videos" / info["submission"] / "source"
            resumed_ok = interrupted and stored.exists() and sha256_of(stored) == source_sha
            shutil.rmtree(stored.parent, ignore_errors=True)
            rounds.append((disk_seconds, seconds, resumed_ok))
        after = worker_memory_kb(port)
    # Workers are the gunicorn processes whose parent is the gunicorn master.
    workers = [pid for pid in after if pid in before and after[pid][2] in after]
    growth_kb = max((after[pid][1] - before[pid][0] for pid in workers), default=0)
    resumed_ok = all(ok for _, _, ok in rounds)
    mb = TOTAL / 1024**2
    result = {
        "bench": "upload",
        "ratio": round(statistics.median(disk / upload for disk, upload, _ in rounds), 3),
        "mb_per_s": round(statistics.median(mb / upload for _, upload, _ in rounds), 1),
        "disk_mb_per_s": round(statistics.median(mb / disk for disk, _, _ in rounds), 1),
        "server_rss_growth_mb": round(growth_kb / 1024, 1),
        "resumed_sha256_ok": resumed_ok,
        "bytes": TOTAL,
        "rounds": ROUNDS,
        "short": SHORT,
        "database": "postgresql",
    }
    source.unlink(missing_ok=True)
    print(json.dumps(result), flush=True)
    return 0 if resumed_ok else 1


if __name__ == "__main__":
    sys.exit(main())
