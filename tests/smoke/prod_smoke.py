"""`make prod-smoke`: the production stack on this machine, driven end to end, then stopped.

What runs (each started here, stopped here, whatever happens):

- PostgreSQL: a database `fit_smoke_<pid>` created for the run and dropped after it;
- Redis on 127.0.0.1:6379, databases 14 (broker, RedBeat, job state) and 15 (cache), flushed
  before and after (no other part of the project uses them);
- moto's S3 server and the in-repo fake Stripe (tests/fakestripe), each on a free local port;
- `manage.py migrate`, `collectstatic` and `trainers_s3_setup` under
  `cms.settings.production`, then web, worker and beat with the commands in deploy/Procfile
  (gunicorn reads gunicorn.conf.py; beat's scheduler comes from the settings).

What it checks, through HTTP in headless Chromium (Debian's chromium, driven by Playwright):

1. sign-up: the form, the confirmation email (sent by the worker through the outbox, read from
   the file email backend), the confirmation page;
2. a card payment: registration for a paid event, the fake Stripe hosted checkout, its signed
   webhook to gunicorn; the order must end "paid";
3. a bulk issue of 50 CE certificates, with the worker killed (SIGKILL, whole process group)
   part-way and started again: 50 certificates, none twice, the job finished with 50 issued;
4. a trainer video: uploaded by the browser straight to the bucket (another origin, under the
   site's CSP), processed by the worker, then played and seeked through the presigned link.

Set-up data (the events, the 50 eligible attendees, the track) and the bulk issue's start are
made with `manage.py shell -c` against the same database: the staff pages that would do it
need a second factor, which a smoke run cannot type. Everything the site does after that runs
in the real processes.

Prints one JSON line, e.g. {"prod_smoke": true, "payment": "paid", "certificates": 50,
"duplicates": 0, "video": "ready", ...}; exits 1 on any failure. Bounded: every wait has a
timeout and the whole run stops after SMOKE_TIMEOUT seconds (default 600).
"""

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.error import HTTPError, URLError

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
PYTHON = str(BIN / "python")
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
PG = os.environ.get("SMOKE_PG", "postgres://postgres@127.0.0.1:5432")
REDIS = "redis://127.0.0.1:6379"
BROKER_DB, CACHE_DB = 14, 15
CERTIFICATES = 50
PASSWORD = "Smoke-test password 1!"  # noqa: S105 - a throwaway account in a throwaway database
STATIC_ROOT = Path(tempfile.gettempdir()) / "fit-smoke-static"


def badge_signing_key():
    """A fresh RSA key as PEM text, for the stack's CE_BADGE_SIGNING_KEY."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


class SmokeFailed(Exception):
    pass


def log(message):
    print(f"[prod-smoke {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Set to the running stack: every wait also fails at once when one of its processes died.
CURRENT = {"stack": None}


def wait_for(what, check, timeout, every=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if CURRENT["stack"] is not None:
            CURRENT["stack"].check_alive()
        result = check()
        if result:
            return result
        time.sleep(every)
    raise SmokeFailed(f"timed out after {timeout} s waiting for {what}")


def procfile():
    lines = (ROOT / "deploy" / "Procfile").read_text().splitlines()
    commands = dict(line.split(": ", 1) for line in lines if line and not line.startswith("#"))
    return {name: [str(BIN / cmd.split()[0]), *cmd.split()[1:]] for name, cmd in commands.items()}


class Stack:
    """The processes and the database of one run; `stop()` ends all of them."""

    def __init__(self):
        self.run_dir = Path(tempfile.mkdtemp(prefix="fit-smoke-"))
        self.processes = {}
        self.database = f"fit_smoke_{os.getpid()}"
        self.web_port, self.s3_port, self.stripe_port = free_port(), free_port(), free_port()
        self.site = f"http://localhost:{self.web_port}"
        self.s3 = f"http://127.0.0.1:{self.s3_port}"
        self.mail_dir = self.run_dir / "mail"
        self.mail_dir.mkdir()
        self.webhook_secret = "whsec_smoke_" + secrets.token_hex(8)
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "cms.settings.production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            # Production refuses to start without the Open Badge signing key (RS256).
            "CE_BADGE_SIGNING_KEY": badge_signing_key(),
            "ALLOWED_HOSTS": "localhost,127.0.0.1",
            "SITE_URL": self.site,
            "CSRF_TRUSTED_ORIGINS": self.site,
            # Plain HTTP on this machine: no TLS in front, so no redirect to https.
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_HSTS_SECONDS": "0",
            "DATABASE_URL": f"{PG}/{self.database}",
            "CELERY_BROKER_URL": f"{REDIS}/{BROKER_DB}",
            "CACHE_URL": f"{REDIS}/{CACHE_DB}",
            # A killed worker's job comes back after this many seconds, not the default.
            "CELERY_VISIBILITY_TIMEOUT": "20",
            "STATIC_ROOT": str(STATIC_ROOT),
            "MEDIA_ROOT": str(self.run_dir / "media"),
            "PRIVATE_MEDIA_ROOT": str(self.run_dir / "private"),
            "EMAIL_DELIVERY_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(self.mail_dir),
            "AWS_STORAGE_BUCKET_NAME": "fit-smoke-private",
            "AWS_S3_ENDPOINT_URL": self.s3,
            "AWS_S3_REGION_NAME": "us-east-1",
            "AWS_ACCESS_KEY_ID": "smoke",
            "AWS_SECRET_ACCESS_KEY": "smoke-secret",
            "STRIPE_SECRET_KEY": "sk_test_smoke",
            "STRIPE_PUBLISHABLE_KEY": "pk_test_smoke",
            "STRIPE_API_BASE": f"http://127.0.0.1:{self.stripe_port}",
            "STRIPE_WEBHOOK_SECRET": self.webhook_secret,
            "GUNICORN_BIND": f"127.0.0.1:{self.web_port}",
            "WEB_CONCURRENCY": "2",
            "PROMETHEUS_MULTIPROC_DIR": str(self.run_dir / "metrics"),
            "REDBEAT_KEY_PREFIX": "redbeat:fit-smoke:",
            "PAGE_CACHE_SECONDS": "0",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }

    # -- processes ----------------------------------------------------------------------------

    def start(self, name, command, **env):
        logfile = (self.run_dir / f"{name}.log").open("ab")
        process = subprocess.Popen(  # noqa: S603
            command,
            cwd=ROOT,
            env={**self.env, **env},
            stdout=logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = process
        return process

    def check_alive(self):
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise SmokeFailed(f"{name} exited with {process.returncode}:\n{self.tail(name)}")

    def kill(self, name, sig=signal.SIGKILL):
        process = self.processes.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        process.wait(timeout=30)

    def stop(self):
        for process in list(self.processes.values()):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for name, process in list(self.processes.items()):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            self.processes.pop(name, None)
        flush_redis()
        admin_sql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)', check=False)

    def tail(self, name, lines=30):
        path = self.run_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    # -- Django against the same database -----------------------------------------------------

    def manage(self, *args, timeout=300):
        result = subprocess.run(  # noqa: S603
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise SmokeFailed(f"manage.py {args[0]} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def shell(self, code, timeout=300):
        """Run Python in `manage.py shell`; the last line it prints is JSON, returned."""
        output = self.manage("shell", "-c", code, timeout=timeout)
        return json.loads(output.strip().splitlines()[-1])

    def sql(self, query):
        result = subprocess.run(  # noqa: S603
            ["psql", "-X", "-qAt", "-d", self.env["DATABASE_URL"], "-c", query],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return result.stdout.strip()


def admin_sql(statement, check=True):
    subprocess.run(  # noqa: S603
        ["psql", "-X", "-q", "-d", f"{PG}/postgres", "-c", statement],
        capture_output=True,
        check=check,
        timeout=60,
    )


def flush_redis():
    for db in (BROKER_DB, CACHE_DB):
        subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "-n", str(db), "FLUSHDB"],
            capture_output=True,
            check=False,
            timeout=10,
        )


def http_ok(url):
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310
            return response.status
    except HTTPError as error:
        return error.code
    except (URLError, OSError):
        return None


def start_stack(stack):
    if not Path(CHROMIUM).exists():
        raise SmokeFailed(f"Chromium not found at {CHROMIUM}")
    flush_redis()
    admin_sql(f'CREATE DATABASE "{stack.database}"')
    stack.start(
        "moto",
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(stack.s3_port)],
        S3_UPLOAD_PART_MIN_SIZE=str(64 * 1024),
    )
    stack.start(
        "fakestripe",
        [
            PYTHON,
            "-m",
            "tests.smoke.fake_stripe_server",
            str(stack.stripe_port),
            f"http://127.0.0.1:{stack.web_port}/payments/stripe/webhook/",
            stack.webhook_secret,
        ],
    )
    log("migrate, collectstatic, bucket set-up")
    stack.manage("migrate", "--noinput", timeout=400)
    stack.manage("collectstatic", "--noinput", timeout=400)
    wait_for("moto S3", lambda: http_ok(stack.s3), 30)
    stack.manage("trainers_s3_setup")
    commands = procfile()
    stack.start("web", commands["web"])
    stack.start("worker", commands["worker"])
    stack.start("beat", commands["beat"])
    wait_for("gunicorn", lambda: http_ok(f"http://127.0.0.1:{stack.web_port}/healthz"), 90)
    wait_for("the fake Stripe", lambda: http_ok(f"{stack.env['STRIPE_API_BASE']}/v1/x"), 30)


SETUP = """
import json
from certification import services as ce
from certification.factories import make_body, make_event as ce_event, make_offering
from certification.factories import make_registration, make_sponsor, make_user
from certification.models import EvaluationResponse
from certification.trainers.models import VideoSubmission
from courses import attendance
from courses.factories import make_event
from tests.trainers_support.builders import build_track

paid = make_event(title="Smoke Conference", price=45000, capacity=30)
make_sponsor()
workshop = ce_event("Smoke CE Workshop")
make_offering(workshop, make_body("APA", minutes_per_credit=60))
sessions = list(workshop.sessions.order_by("start"))
ids = []
for n in range(COUNT):
    registration = make_registration(
        workshop, name=f"Attendee {n:02d}", email=f"attendee{n}@example.org"
    )
    for session in sessions:
        attendance.check_in(registration, session, at=session.start)
    EvaluationResponse.objects.create(registration=registration, event=workshop)
    ids.append(registration.pk)
staff = make_user("ce-admin@example.org", "CE Admin")
track = build_track()
print(json.dumps({
    "paid_path": paid.url, "workshop": workshop.pk, "registrations": ids,
    "staff": staff.pk, "track": track.pk,
    "submissions_table": VideoSubmission._meta.db_table,
}))
""".replace("COUNT", str(CERTIFICATES))


# -- the browser --------------------------------------------------------------------------------


class Browser:
    def __init__(self, stack):
        from playwright.sync_api import sync_playwright

        self.stack = stack
        self.playwright = sync_playwright().start()
        self.browser = self.playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic"],
        )
        self.context = self.browser.new_context(
            base_url=stack.site, locale="en-US", viewport={"width": 390, "height": 844}
        )
        self.context.set_default_timeout(30_000)
        self.page = self.context.new_page()
        self.csp_violations = []
        self.page.on(
            "console",
            lambda message: (
                self.csp_violations.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )

    def close(self):
        with contextlib.suppress(Exception):
            self.context.close()
            self.browser.close()
        with contextlib.suppress(Exception):
            self.playwright.stop()


def confirmation_link(stack, email):
    def find():
        for path in sorted(stack.mail_dir.glob("*")):
            text = path.read_text(errors="replace")
            if email in text:
                match = re.search(r"https?://[^\s\"<>]+/accounts/confirm-email/[^\s\"<>]+", text)
                if match:
                    return match.group(0)
        return None

    link = wait_for("the sign-up confirmation email", find, 60)
    return re.sub(r"^https?://[^/]+", "", link)


def sign_up(stack, browser, email):
    page = browser.page
    page.goto("/accounts/signup/")
    form = page.locator("main form").filter(has=page.locator("input[name=password1]"))
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=legal_name]").fill("Sam Smoke")
    if form.locator("input[name=preferred_name]").count():
        form.locator("input[name=preferred_name]").fill("Sam")
    if form.locator("input[name=profession]").count():
        form.locator("input[name=profession]").fill("Counselor")
    form.locator("input[name=password1]").fill(PASSWORD)
    form.locator("input[name=password2]").fill(PASSWORD)
    form.locator("button[type=submit]").last.click()
    page.wait_for_load_state()
    page.goto(confirmation_link(stack, email))
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state()
    verified = stack.shell(
        "import json; from allauth.account.models import EmailAddress; "
        f"print(json.dumps(EmailAddress.objects.filter(email='{email}', verified=True).count()))"
    )
    if verified != 1:
        raise SmokeFailed("the sign-up's email address was not confirmed")
    return "verified"


def pay_by_card(stack, browser, email, event_path):
    from playwright.sync_api import expect

    page = browser.page
    page.goto(event_path)
    page.get_by_label(re.compile("^Standard")).fill("1")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", name="Who is attending?")).to_be_visible()
    page.get_by_role("button", name="Continue to summary").click()
    page.get_by_role("link", name="Continue to payment").click()
    page.get_by_role("button", name=re.compile("by card")).click()
    expect(page.get_by_role("heading", name="Fake Stripe Checkout")).to_be_visible()
    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_role("heading", name="You're registered")).to_be_visible(timeout=60_000)

    def status():
        return stack.shell(
            "import json; from payments.models import Order; "
            f"print(json.dumps(Order.objects.get(purchaser__email='{email}').status))"
        )

    # The webhook (signed by the fake Stripe, sent to gunicorn) confirms the order.
    return wait_for("the paid order", lambda: (s := status()) == "paid" and s, 90, every=2)


def bulk_issue_with_a_killed_worker(stack, data):
    job = stack.shell(
        "import json; from certification import services; "
        "from django.contrib.auth import get_user_model; "
        "from certification.models import IssueJob; "
        "Event = IssueJob._meta.get_field('event').related_model; "
        f"event = Event.objects.get(pk={data['workshop']}); "
        f"staff = get_user_model().objects.get(pk={data['staff']}); "
        f"job = services.start_issue_job(event, {data['registrations']!r}, actor=staff); "
        "print(json.dumps(job.pk))"
    )
    table = "certification_issuejob"

    def progress():
        row = stack.sql(f"SELECT done, status FROM {table} WHERE id = {int(job)}")  # noqa: S608
        done, status = row.split("|")
        return int(done), status

    # Kill the worker once the job is under way and before it is over.
    killed_at = wait_for(
        "the bulk issue to get under way",
        lambda: (p := progress())[0] >= CERTIFICATES // 5 and p,
        120,
        every=0.05,
    )
    stack.kill("worker", signal.SIGKILL)
    log(f"worker killed (SIGKILL) at {killed_at[0]}/{CERTIFICATES}; starting it again")
    stack.start("worker", procfile()["worker"])
    wait_for("the bulk issue to finish", lambda: progress()[1] == "finished", 240, every=1)
    return (
        stack.shell(
            "import json; from django.db.models import Count; "
            "from certification.models import Certificate, IssueJob; "
            f"job = IssueJob.objects.get(pk={int(job)}); "
            f"certs = Certificate.objects.filter(registration_id__in={data['registrations']!r}); "
            "dupes = certs.values('registration_id').annotate(n=Count('id')).filter(n__gt=1); "
            "print(json.dumps({'certificates': certs.count(), 'duplicates': dupes.count(), "
            "'job_issued': job.issued, 'job_done': job.done}))"
        ),
        killed_at[0],
    )


def make_video(path):
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=4:size=320x240:rate=25",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=4",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
            "-movflags",
            "+faststart",
            str(path),
        ],
        check=True,
        timeout=120,
    )
    return path


def upload_and_play(stack, browser, email, data):
    from playwright.sync_api import expect

    submission = stack.shell(
        "import json; from certification.trainers.models import Track; "
        "from django.contrib.auth import get_user_model; "
        "from tests.trainers_support.builders import start_submission; "
        f"user = get_user_model().objects.get(email='{email}'); "
        f"s = start_submission(Track.objects.get(pk={data['track']}), user); "
        "print(json.dumps(str(s.public_id)))"
    )
    page = browser.page
    response = page.goto(f"/certification/videos/{submission}/upload/")
    if stack.s3 not in response.headers.get("content-security-policy", ""):
        raise SmokeFailed("the upload page's CSP does not allow the bucket")
    page.locator("input.uppy-Dashboard-input").first.set_input_files(
        str(make_video(stack.run_dir / "smoke clip.mp4"))
    )
    page.locator(".uppy-StatusBar-actionBtn--upload").click()
    expect(page.locator("#upload-status")).to_have_text(
        "Upload complete. We are now checking and preparing your video.", timeout=90_000
    )
    table = data["submissions_table"]
    status = wait_for(
        "the worker to process the video",
        lambda: (
            (
                s := stack.sql(f"SELECT status FROM {table} WHERE public_id = '{submission}'")  # noqa: S608
            )
            in ("ready", "failed")
            and s
        ),
        180,
        every=1,
    )
    if status != "ready":
        raise SmokeFailed(f"the video ended {status}")
    page.goto(f"/certification/videos/{submission}/")
    player = "document.getElementById('review-player')"

    def player_is(condition):
        return lambda: page.evaluate(
            f"() => {{ const v = {player}; return Boolean({condition}); }}"
        )

    wait_for("the player's metadata", player_is("v && v.readyState >= 1"), 60, every=0.2)
    page.evaluate(f"() => {{ const v = {player}; v.muted = true; v.play(); }}")
    wait_for("playback", player_is("v.currentTime > 0.2"), 60, every=0.2)
    page.evaluate(f"() => {{ {player}.currentTime = 3; }}")
    wait_for("the seek", player_is("!v.seeking && v.currentTime >= 3 && v.readyState >= 2"), 60)
    if page.evaluate(f"() => {player}.error"):
        raise SmokeFailed("the player reported an error")
    return "ready"


def main():
    budget = int(os.environ.get("SMOKE_TIMEOUT", "600"))
    result = {"prod_smoke": False}

    def out_of_time(signum, frame):
        raise SmokeFailed(f"the smoke run took longer than {budget} s")

    def stopped(signum, frame):
        raise SmokeFailed(f"stopped by signal {signum}")

    signal.signal(signal.SIGALRM, out_of_time)
    signal.signal(signal.SIGTERM, stopped)
    signal.signal(signal.SIGINT, stopped)
    signal.alarm(budget)
    stack = Stack()
    CURRENT["stack"] = stack
    browser = None
    step = "start"
    try:
        log(f"starting the stack in {stack.run_dir} (database {stack.database})")
        start_stack(stack)
        step = "data"
        data = stack.shell(SETUP)
        browser = Browser(stack)
        email = f"sam.smoke+{os.getpid()}@example.org"
        step = "signup"
        log("sign-up")
        result["signup"] = sign_up(stack, browser, email)
        step = "payment"
        log("card payment")
        result["payment"] = pay_by_card(stack, browser, email, data["paid_path"])
        step = "certificates"
        log(f"bulk issue of {CERTIFICATES} certificates")
        counts, killed_at = bulk_issue_with_a_killed_worker(stack, data)
        result.update(counts)
        result["worker_killed_at"] = killed_at
        step = "video"
        log("video upload and playback")
        result["video"] = upload_and_play(stack, browser, email, data)
        step = "done"
        if browser.csp_violations:
            raise SmokeFailed("CSP violations: " + " | ".join(browser.csp_violations[:3]))
        result["prod_smoke"] = (
            result["payment"] == "paid"
            and result["certificates"] == CERTIFICATES
            and result["job_issued"] == CERTIFICATES
            and result["duplicates"] == 0
            and result["video"] == "ready"
        )
    except Exception as error:  # noqa: BLE001 - reported in the JSON line and the logs
        result["failed_step"] = step
        result["error"] = str(error)[:2000]
        for name in ("web", "worker", "beat", "fakestripe"):
            tail = stack.tail(name, 15)
            if tail:
                log(f"--- {name} log (last lines) ---\n{tail}")
    finally:
        signal.alarm(0)
        if browser:
            browser.close()
        stack.stop()
        if result["prod_smoke"]:
            shutil.rmtree(stack.run_dir, ignore_errors=True)
        else:
            log(f"logs kept in {stack.run_dir}")
    print(json.dumps(result), flush=True)
    return 0 if result["prod_smoke"] else 1


if __name__ == "__main__":
    sys.exit(main())
