"""Production settings: deploy checks, whitenoise static files, security headers, CSP."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.conf import settings

PROJECT_ROOT = Path(settings.BASE_DIR)
# Production refuses to start without the key that signs Open Badges.
BADGE_SIGNING_KEY = (
    ed25519.Ed25519PrivateKey.generate()
    .private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    .decode()
)


def production_env(tmp_path, **extra):
    """The environment a real deployment sets, with throwaway local paths."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CELERY_", "EMAIL_", "AWS_", "STRIPE_", "CACHE_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "cms.settings.production",
            "SECRET_KEY": "x7!Rk2qZ" * 8,
            "CE_BADGE_SIGNING_KEY": BADGE_SIGNING_KEY,
            "ALLOWED_HOSTS": "training.example.org,testserver",
            "SITE_URL": "https://training.example.org",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite3'}",
            "STATIC_ROOT": str(tmp_path / "static"),
            "MEDIA_ROOT": str(tmp_path / "media"),
            "PRIVATE_MEDIA_ROOT": str(tmp_path / "private"),
            # What a real deployment sets besides: Redis for jobs and cache, error reports,
            # metrics. The Redis URLs name a closed port (loopback port 1), so these runs never
            # touch a developer's Redis, and show the site serving with Redis down.
            "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",
            "CELERY_RESULT_BACKEND": "redis://127.0.0.1:1/1",
            "CACHE_URL": "redis://127.0.0.1:1/2",
            "ADMINS": "Ops <ops@example.org>, oncall@example.org",
            "SENTRY_DSN": "https://public@o0.ingest.invalid/1",
            "METRICS_TOKEN": "scrape-token-1234",
            "STRIPE_SECRET_KEY": "sk_test_realistic",
            "STRIPE_PUBLISHABLE_KEY": "pk_test_realistic",
            "STRIPE_WEBHOOK_SECRET": "whsec_realistic",
            "EMAIL_HOST": "smtp.example.org",
            "ENV_FILE": str(tmp_path / "no.env"),
        }
    )
    env.update(extra)
    return env


def run_python(code, env):
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_check_deploy_reports_nothing_with_production_env(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT_ROOT,
        env=production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = production_env(tmp_path)
    del env["SECRET_KEY"]
    result = run_python("import django; django.setup()", env)
    assert result.returncode != 0
    assert "Set SECRET_KEY in the environment" in result.stderr


SERVE_STATIC = """
import json
import django
from django.core.management import call_command
django.setup()
call_command("collectstatic", "--noinput", verbosity=0)
call_command("migrate", "--noinput", verbosity=0)
from django.templatetags.static import static
from django.test import Client
client = Client()
url = static("css/site.css")
hashed = client.get(url, secure=True, headers={"accept-encoding": "gzip"})
plain = client.get("/static/css/site.css", secure=True)
health = client.get("/healthz", secure=True)
page = client.get("/accounts/login/", secure=True)
insecure = client.get("/accounts/login/")
insecure_health = client.get("/healthz")
print(json.dumps({
    "url": url,
    "hashed_status": hashed.status_code,
    "hashed_cache_control": hashed.headers.get("Cache-Control", ""),
    "hashed_encoding": hashed.headers.get("Content-Encoding", ""),
    "hashed_body_length": len(b"".join(hashed.streaming_content)),
    "plain_cache_control": plain.headers.get("Cache-Control", ""),
    "headers": dict(page.headers),
    "health_headers": dict(health.headers),
    "insecure_status": insecure.status_code,
    "insecure_location": insecure.headers.get("Location", ""),
    "insecure_health_status": insecure_health.status_code,
}))
"""


@pytest.fixture(scope="module")
def production_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("production")
    result = run_python(SERVE_STATIC, production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_whitenoise_serves_hashed_compressed_static_files(production_run):
    assert re.fullmatch(r"/static/css/site\.[0-9a-f]{12}\.css", production_run["url"])
    assert production_run["hashed_status"] == 200
    assert production_run["hashed_body_length"] > 0
    # Hashed names never change content, so browsers may keep them for good.
    assert "immutable" in production_run["hashed_cache_control"]
    assert "max-age=315360000" in production_run["hashed_cache_control"]
    assert production_run["hashed_encoding"] == "gzip"
    assert "immutable" not in production_run["plain_cache_control"]


def test_production_sends_security_headers(production_run):
    headers = {key.lower(): value for key, value in production_run["headers"].items()}
    assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    assert headers["x-frame-options"] == "DENY"
    policy = headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy


def test_health_check_is_json_with_the_transport_security_headers(production_run):
    headers = {key.lower(): value for key, value in production_run["health_headers"].items()}
    assert headers["content-type"] == "application/json"
    assert headers["strict-transport-security"].startswith("max-age=31536000")
    assert headers["x-content-type-options"] == "nosniff"


def test_production_redirects_plain_http_except_the_health_check(production_run):
    assert production_run["insecure_status"] == 301
    assert production_run["insecure_location"] == "https://testserver/accounts/login/"
    assert production_run["insecure_health_status"] == 200


def script_directive(policy):
    for directive in policy.split(";"):
        name, _, value = directive.strip().partition(" ")
        if name == "script-src":
            return value.split()
    raise AssertionError(f"no script-src in {policy!r}")


@pytest.mark.django_db
def test_public_pages_forbid_inline_scripts(client):
    response = client.get("/accounts/login/")
    sources = script_directive(response.headers["Content-Security-Policy"])
    assert sources == ["'self'"]
    assert "'unsafe-inline'" not in sources


@pytest.mark.django_db
def test_admin_alone_allows_inline_scripts_for_wagtails_editor(client):
    response = client.get("/admin/")
    sources = script_directive(response.headers["Content-Security-Policy"])
    assert "'unsafe-inline'" in sources
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


# A <script> without src runs inline and the CSP would block it; JSON data blocks do not run.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")")


def test_project_templates_contain_no_inline_scripts():
    offenders = []
    for folder in [PROJECT_ROOT / "templates", *PROJECT_ROOT.glob("*/templates")]:
        for template in folder.rglob("*.html"):
            text = template.read_text(encoding="utf-8")
            if INLINE_SCRIPT.search(text) or re.search(r"\son[a-z]+=\"", text):
                offenders.append(str(template.relative_to(PROJECT_ROOT)))
    assert offenders == [], f"inline scripts or event handlers in {offenders}"


INLINE_SCRIPT_IN_HTML = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>", re.I
)


@pytest.mark.django_db
def test_home_and_article_pages_send_the_strict_policy_and_need_no_inline_script(client):
    from cms.factories import ArticlePageFactory, NewsIndexPageFactory, home_page

    home = home_page()
    article = ArticlePageFactory(
        parent=NewsIndexPageFactory(parent=home), title="The Therapeutic Alliance"
    )
    for url in (home.url, article.url):
        response = client.get(url)
        assert response.status_code == 200
        policy = response.headers["Content-Security-Policy"]
        assert script_directive(policy) == ["'self'"]
        assert "object-src 'none'" in policy
        html = response.content.decode()
        assert INLINE_SCRIPT_IN_HTML.findall(html) == []
        assert re.search(r"<script[^>]+src=\"/static/", html)
