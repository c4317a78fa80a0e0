"""deploy/: the systemd units, the Procfile and the nginx site agree with the settings.

`make prod-smoke` starts web, worker and beat with the Procfile's own commands, so those are
run for real there; here the files are checked against what the settings promise.
"""

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

DEPLOY = Path(settings.BASE_DIR) / "deploy"
UNITS = {
    "web": "fit-web.service",
    "worker": "fit-worker.service",
    "beat": "fit-beat.service",
}


def unit(name):
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str
    parser.read(DEPLOY / "systemd" / UNITS[name])
    return parser


def procfile():
    lines = (DEPLOY / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip() and not line.startswith("#"))


def seconds(value):
    return int(value.rstrip("s"))


@pytest.mark.parametrize("name", UNITS)
def test_units_run_the_procfile_commands_with_a_warm_shutdown(name):
    service = unit(name)["Service"]
    command = service["ExecStart"].removeprefix("/srv/fit/app/.venv/bin/")
    assert command == procfile()[name]
    assert service["KillSignal"] == "SIGTERM"
    assert "DJANGO_SETTINGS_MODULE=cms.settings.production" in service["Environment"]
    assert service["EnvironmentFile"] == "/etc/fit/env"


def test_the_worker_is_given_longer_than_a_task_may_run():
    service = unit("worker")["Service"]
    assert seconds(service["TimeoutStopSec"]) > settings.CELERY_TASK_TIME_LIMIT


def test_beat_leaves_the_scheduler_to_the_settings():
    command = procfile()["beat"]
    assert command.startswith("celery -A cms beat")
    assert "--scheduler" not in command and "-S " not in command


def test_nginx_passes_the_request_id_and_serves_private_files_only_internally():
    site = (DEPLOY / "nginx" / "fit.conf").read_text()
    assert "proxy_set_header X-Request-ID $fit_request_id;" in site
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in site
    prefix = settings.TRAINERS_X_ACCEL_PREFIX
    block = re.search(r"location " + re.escape(prefix) + r" \{(.*?)\}", site, re.S)
    assert block and "internal;" in block.group(1)
    assert "ssl_certificate " in site and "listen 443 ssl;" in site
    assert re.search(r"location /static/ \{[^}]*alias /srv/fit/app/staticfiles/;", site)


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed here")
def test_nginx_accepts_the_site(tmp_path):
    conf = tmp_path / "nginx.conf"
    site = (DEPLOY / "nginx" / "fit.conf").read_text()
    site = re.sub(r"ssl_certificate(_key)? [^;]+;", "", site).replace(" ssl;", ";")
    conf.write_text(f"events {{}}\nhttp {{\n{site}\n}}\n")
    result = subprocess.run(
        ["nginx", "-t", "-c", str(conf), "-p", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
