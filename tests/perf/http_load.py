"""Tools the benchmarks share: a gunicorn server on loopback and a bounded HTTP load client."""

import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port, path, timeout=30, headers=None):
    """One GET on a fresh connection (gunicorn's sync workers close after each response)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Host": "127.0.0.1", **(headers or {})})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@contextmanager
def gunicorn_server(settings_module, *, workers=2, ready_path="/", env=None, log_path=None):
    """Serve cms.wsgi with gunicorn sync workers; yield the port; stop it afterwards."""
    port = free_port()
    process_env = {**os.environ, **(env or {}), "DJANGO_SETTINGS_MODULE": settings_module}
    log = open(log_path or os.devnull, "w")  # noqa: SIM115 (closed in finally)
    process = subprocess.Popen(
        [
            str(GUNICORN),
            "cms.wsgi:application",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=PROJECT_ROOT,
        env=process_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {process.returncode}; see {log_path}")
            try:
                if get(port, ready_path, timeout=5)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer {ready_path} within 60 s")
            time.sleep(0.2)
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def measure(port, path, *, requests, concurrency, expect_text=None, headers=None):
    """Send `requests` GETs from `concurrency` threads; return rps and latency percentiles.

    `headers` are sent with every request (a session cookie for a signed-in visitor)."""
    latencies = []
    failures = []
    lock = threading.Lock()
    remaining = iter(range(requests))

    def worker():
        while True:
            with lock:
                if next(remaining, None) is None:
                    return
            started = time.perf_counter()
            try:
                status, body = get(port, path, headers=headers)
            except OSError as error:
                status, body = None, str(error).encode()
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                ok = status == 200 and (expect_text is None or expect_text.encode() in body)
                if not ok:
                    failures.append((status, body[:200]))

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if failures:
        raise RuntimeError(
            f"{len(failures)} of {requests} requests to {path} failed: {failures[0]}"
        )
    return {"rps": requests / wall, "latencies": latencies}


def p95(latencies):
    return statistics.quantiles(latencies, n=100)[94]
