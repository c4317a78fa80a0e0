"""What an operator gets from the production settings: JSON log lines with the request id,
error reports by email and to Sentry, a .env that is read, and load_demo that refuses."""

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import boto3
from django.conf import settings
from django.core.files.storage import storages
from django.core.management import call_command
from moto import mock_aws

from cms import storage
from tests.integration.test_infra_production import production_env, run_python

PROJECT_ROOT = Path(settings.BASE_DIR)

REQUEST_AND_ERROR = """
import json, logging
import django
django.setup()
from django.core import mail
from django.test import Client
response = Client().get("/accounts/login/", secure=True, headers={"x-request-id": "req-42"})
health = Client().get("/healthz", HTTP_HOST="10.0.0.9")
errors = logging.getLogger("django.request")
errors.error("Internal Server Error: /boom", extra={"status_code": 500})
import sentry_sdk
print(json.dumps({
    "status": response.status_code,
    "request_id": response.headers.get("X-Request-ID"),
    "health_status": health.status_code,
    "health": health.json(),
    "mail": [{"to": m.to, "subject": m.subject} for m in getattr(mail, "outbox", [])],
    "sentry_active": sentry_sdk.get_client().is_active(),
    "sentry_dsn": sentry_sdk.get_client().dsn,
}))
"""


def json_lines(text):
    lines = []
    for line in text.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return lines


def run_production(tmp_path, **extra):
    env = production_env(
        tmp_path, EMAIL_DELIVERY_BACKEND="django.core.mail.backends.locmem.EmailBackend", **extra
    )
    prepare = run_python(
        "import django; django.setup(); from django.core.management import call_command; "
        "call_command('collectstatic', '--noinput', verbosity=0); "
        "call_command('migrate', '--noinput', verbosity=0)",
        env,
    )
    assert prepare.returncode == 0, prepare.stderr
    result = run_python(REQUEST_AND_ERROR, env)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1]), json_lines(result.stderr)


def test_production_logs_json_errors_go_to_admins_and_sentry_redis_down_degrades(tmp_path):
    outcome, log = run_production(tmp_path)

    # The request id the proxy sent comes back and is on the request's log line.
    assert outcome["status"] == 200
    assert outcome["request_id"] == "req-42"
    (access,) = [
        line
        for line in log
        if line.get("logger") == "cms.request" and line.get("request_id") == "req-42"
    ]
    assert access["level"] == "INFO"
    assert access["path"] == "/accounts/login/"
    assert access["status"] == 200
    assert access["method"] == "GET"
    assert access["user_id"] is None
    assert isinstance(access["duration_ms"], float)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:]{8}\.\d{3}\+00:00", access["timestamp"])

    # Redis (broker and cache) is down in this run: the site served, one warning said why,
    # and /healthz answered JSON to a Host outside ALLOWED_HOSTS.
    assert any(
        line["logger"] == "cms.cache_backends" and line["level"] == "WARNING" for line in log
    )
    assert outcome["health_status"] == 200
    assert outcome["health"]["status"] == "degraded"
    assert outcome["health"]["cache"] == "error"
    assert outcome["health"]["broker"] == "error"

    # An error: one email to the admins, and it is an ERROR line in the JSON log.
    assert outcome["mail"] == [
        {
            "to": ["ops@example.org", "oncall@example.org"],
            "subject": "[Django] ERROR: Internal Server Error: /boom",
        }
    ]
    assert any(line["level"] == "ERROR" and line["logger"] == "django.request" for line in log)
    assert outcome["sentry_active"] is True
    assert outcome["sentry_dsn"] == "https://public@o0.ingest.invalid/1"


NO_REPORTS = """
import json, logging
import django
django.setup()
from django.core import mail
logging.getLogger("django.request").error("Internal Server Error: /boom")
import sentry_sdk
print(json.dumps({"mail": len(getattr(mail, "outbox", [])),
                  "sentry_active": sentry_sdk.get_client().is_active()}))
"""


def test_without_admins_or_sentry_dsn_nothing_is_sent(tmp_path):
    env = production_env(
        tmp_path,
        ADMINS="",
        SENTRY_DSN="",
        EMAIL_DELIVERY_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )
    result = run_python(NO_REPORTS, env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "mail": 0,
        "sentry_active": False,
    }


def test_load_demo_refuses_production_settings_without_i_know(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "load_demo"],
        cwd=PROJECT_ROOT,
        env=production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "These are production settings" in result.stderr
    assert "--i-know" in result.stderr
    assert "password" not in result.stdout.lower()


READ_SETTINGS = """
import json
import django
django.setup()
from django.conf import settings
print(json.dumps({"site_url": settings.SITE_URL, "metrics": settings.METRICS_TOKEN,
                  "admins": settings.ADMINS, "hosts": settings.ALLOWED_HOSTS}))
"""


def test_dot_env_is_read_and_the_process_environment_wins(tmp_path):
    dot_env = tmp_path / ".env"
    dot_env.write_text(
        "# a comment\nMETRICS_TOKEN=from-the-file\nSITE_URL=https://file.example.org\n"
        'ADMINS="Ops <ops@example.org>"\n'
    )
    env = production_env(tmp_path, ENV_FILE=str(dot_env))
    del env["METRICS_TOKEN"]
    del env["ADMINS"]
    result = run_python(READ_SETTINGS, env)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["metrics"] == "from-the-file"
    assert values["admins"] == [["Ops", "ops@example.org"]]
    # SITE_URL is also in the process environment, which wins over the file.
    assert values["site_url"] == "https://training.example.org"


def test_env_example_is_a_working_env_file_naming_every_setting(tmp_path):
    example = (PROJECT_ROOT / ".env.example").read_text()
    named = set(re.findall(r"^([A-Z0-9_]+)=", example, re.M))
    read = set()
    for module in (PROJECT_ROOT / "cms" / "settings").glob("*.py"):
        read |= set(re.findall(r'env(?:_bool|_list)?\(\s*"([A-Z0-9_]+)"', module.read_text()))
    assert read, "no env(...) calls found"
    assert sorted(read - named) == []

    env = production_env(tmp_path, ENV_FILE=str(PROJECT_ROOT / ".env.example"))
    for name in ("SITE_URL", "ALLOWED_HOSTS", "ADMINS", "METRICS_TOKEN"):
        env.pop(name, None)
    result = run_python(READ_SETTINGS, env)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["site_url"] == "https://training.example.org"
    assert values["hosts"] == ["training.example.org"]
    assert values["admins"] == [["Ops", "ops@example.org"]]
    assert values["metrics"] is None


def test_trainers_s3_setup_creates_a_missing_bucket(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "fresh-training-bucket",
                "region_name": "us-east-1",
                "access_key": "testing",
                "secret_key": "testing",
                "location": "private",
            },
        },
    }
    storages._storages.pop("private", None)
    storage._s3_client.cache_clear()
    try:
        with mock_aws():
            out = io.StringIO()
            call_command("trainers_s3_setup", stdout=out)
            s3 = boto3.client("s3", region_name="us-east-1")
            names = [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]
            assert names == ["fresh-training-bucket"]
            assert "Bucket fresh-training-bucket created." in out.getvalue()
            cors = s3.get_bucket_cors(Bucket="fresh-training-bucket")["CORSRules"][0]
            assert "ETag" in cors["ExposeHeaders"]

            again = io.StringIO()
            call_command("trainers_s3_setup", stdout=again)
            assert "created" not in again.getvalue()
    finally:
        storages._storages.pop("private", None)
        storage._s3_client.cache_clear()
