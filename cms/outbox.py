"""The outbox: side effects promised by a committed change, delivered at least once.

A change that should tell someone (an email) or start work elsewhere (a Celery task) writes an
`OutboxMessage` row in its own transaction, beside the change:

    with transaction.atomic():
        booking.confirm()
        send_templated_email("courses/email/confirmed", booking.email, {...})  # cms.email
        enqueue(render_invoice, order.pk, key=f"invoice:{order.pk}")

- If the transaction rolls back, the row goes with it: nobody hears about a change that did
  not happen.
- After commit, `dispatch` hands the row's id to the Celery task `cms.outbox.deliver`. With
  CELERY_TASK_ALWAYS_EAGER (tests, `make run` without a broker) that runs inline, at once.
  When the broker is unreachable the error is logged and the row stays pending: a broker
  outage delays a message, it never fails or rolls back the change.
- `deliver` claims the row in a short transaction (FOR UPDATE SKIP LOCKED on PostgreSQL, so
  two workers never both take it), then, outside any transaction, sends the email with
  settings.EMAIL_DELIVERY_BACKEND, or queues the task with its own options (`apply_async`:
  its time limits, retries and acks_late stay the task's own), and marks the row sent. For a
  task the outbox guarantees the hand-over to Celery, the task's own settings its running; in
  eager mode the task runs inline and an error in it counts as a failed delivery. A failure
  is recorded on the row (`last_error`) and retried with a growing delay (1, 2, 4 ...
  minutes, at most an hour apart); after OUTBOX_MAX_ATTEMPTS the row is marked failed and
  logged as an error; `failure_counts()` feeds the health check.
- `sweep` (Celery beat, every minute) re-dispatches pending rows whose next attempt is due
  and rows claimed longer than OUTBOX_RECLAIM_AFTER seconds ago (the worker died mid-send).

Delivery is at least once, not exactly once: a worker that dies after the mail server
accepted a message but before marking its row sent sends it again when the row is
reclaimed. Everything else (a second dispatch of the same row, two beat processes sweeping,
a task queued twice) is absorbed by the claim. `key` makes the promise itself idempotent:
`enqueue(..., key="reminder:42:2026-12-01")` from two runs of the same job writes one row.

A task queued through the outbox must take JSON-safe arguments and should itself be safe to
run twice.
"""

import logging
from datetime import timedelta

from celery import current_app, shared_task
from django.conf import settings
from django.core.mail import get_connection
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerOperationalError

from cms.locking import locked
from cms.mail_messages import deserialize_message
from cms.models import OutboxKind, OutboxMessage, OutboxStatus

logger = logging.getLogger(__name__)

# What a `.delay()` raises when the broker cannot be reached.
BROKER_ERRORS = (BrokerOperationalError, ConnectionError, TimeoutError, OSError)
MAX_BACKOFF_SECONDS = 3600
SWEEP_BATCH = 500


def enqueue(task, *args, key=None, new_key=False, **kwargs):
    """Promise to run `task(*args, **kwargs)` once the current transaction commits.

    `task` is a Celery task or its registered name; arguments must be JSON-safe. Returns the
    new row, or None when a row with `key` already exists (the promise was made before).

    `new_key=True`: the caller knows no row can hold `key` yet (it names a row this very
    transaction created), so the row is written in one INSERT, with no look for the key first
    and no savepoint around it; a clash would then be a real error, and raises.
    """
    name = task if isinstance(task, str) else task.name
    payload = {"args": list(args), "kwargs": kwargs}
    if new_key:
        return _write_new(OutboxKind.TASK, name, payload, key)
    return _write(OutboxKind.TASK, name, payload, key)


def enqueue_email(data, *, key=None, new_key=False):
    """Promise to send one serialized email (cms.mail_messages.serialize_message); `new_key`
    as for `enqueue`."""
    subject = str(data.get("subject", ""))[:255]
    if new_key:
        return _write_new(OutboxKind.EMAIL, subject, data, key)
    return _write(OutboxKind.EMAIL, subject, data, key)


def insert_and_enqueue(insert, task, *, key_prefix, key_suffix=""):
    """Run `insert`, an (sql, params) `INSERT ... RETURNING <its pk>` that may insert nothing
    (`ON CONFLICT DO NOTHING`), and promise `task(pk)` for the row it inserted, under the key
    `key_prefix + pk + key_suffix` (a new key: the row is new). Returns the pk, or None when
    nothing was inserted (and nothing promised).

    On PostgreSQL the row and its promise are one statement (the insert as a data-modifying
    WITH): one round trip and one commit, so the two are written together or not at all. That
    is most of the cost of an endpoint that only stores and promises (the Stripe webhook).
    SQLite has no data-modifying WITH: there it is the insert, then `enqueue(new_key=True)`.
    """
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(*insert)
            row = cursor.fetchone()
        if row is None:
            return None
        enqueue(task, row[0], key=f"{key_prefix}{row[0]}{key_suffix}", new_key=True)
        return row[0]
    name = task if isinstance(task, str) else task.name
    statement, params = _promise_of_inserted_row(insert, name, key_prefix, key_suffix)
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        row = cursor.fetchone()
    if row is None:
        return None
    message_pk, inserted_pk = row
    transaction.on_commit(lambda: dispatch(message_pk))
    return inserted_pk


def _promise_of_inserted_row(insert, name, key_prefix, key_suffix):
    """PostgreSQL: `insert` as a WITH, and the promise's INSERT selecting from it. Every value
    but the task's argument and key is the model's own (its defaults, each prepared by its
    field); the argument and key are the inserted pk, which only the database knows."""
    insert_sql, insert_params = insert
    message = OutboxMessage(kind=OutboxKind.TASK, name=name, next_attempt_at=timezone.now())
    meta, quote = OutboxMessage._meta, connection.ops.quote_name
    columns, values, params = [], [], []
    for field in meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(quote(field.column))
        if field.name == "payload":
            values.append(
                "jsonb_build_object('args', jsonb_build_array(inserted.pk), 'kwargs', '{}'::jsonb)"
            )
        elif field.name == "key":
            values.append("%s || CAST(inserted.pk AS text) || %s")
            params += [key_prefix, key_suffix]
        else:
            values.append("%s")
            params.append(field.get_db_prep_save(field.pre_save(message, add=True), connection))
    # Built from the model's own table and column names only; the values are parameters.
    statement = (
        f"WITH inserted (pk) AS ({insert_sql}) "  # noqa: S608
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} FROM inserted "
        f"RETURNING {quote(meta.pk.column)}, (SELECT pk FROM inserted)"
    )
    return statement, [*insert_params, *params]


def _write(kind, name, payload, key):
    now = timezone.now()
    try:
        # A savepoint: a duplicate key must not break the caller's transaction.
        with transaction.atomic():
            if key is not None and OutboxMessage.objects.filter(key=key).exists():
                return None
            message = OutboxMessage.objects.create(
                kind=kind, name=name, payload=payload, key=key, next_attempt_at=now
            )
    except IntegrityError:
        if key is not None and OutboxMessage.objects.filter(key=key).exists():
            # Another transaction wrote the same key at the same moment.
            return None
        raise
    transaction.on_commit(lambda: dispatch(message.pk))
    return message


def _write_new(kind, name, payload, key):
    message = OutboxMessage.objects.create(
        kind=kind, name=name, payload=payload, key=key, next_attempt_at=timezone.now()
    )
    transaction.on_commit(lambda: dispatch(message.pk))
    return message


def dispatch(message_id):
    """Hand one row to a worker; never raises (the row stays pending for the sweep)."""
    try:
        deliver.delay(message_id)
    except BROKER_ERRORS as error:
        logger.warning(
            "Outbox message %s stays pending: the task queue is unreachable (%s); "
            "the sweep will retry",
            message_id,
            error,
        )
    except Exception:
        logger.exception(
            "Outbox message %s could not be dispatched; the sweep will retry", message_id
        )


@shared_task(name="cms.outbox.deliver", ignore_result=True)
def deliver(message_id):
    """Claim, perform and mark one outbox row; a no-op when it is not due or taken."""
    message = _claim(message_id)
    if message is None:
        return
    try:
        _perform(message)
    except Exception as error:
        _record_failure(message, error)
        return
    OutboxMessage.objects.filter(
        pk=message.pk, status=OutboxStatus.IN_PROGRESS, claimed_at=message.claimed_at
    ).update(status=OutboxStatus.SENT, sent_at=timezone.now(), last_error="")


def _due(now):
    reclaim_before = now - timedelta(seconds=settings.OUTBOX_RECLAIM_AFTER)
    return Q(status=OutboxStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=OutboxStatus.IN_PROGRESS, claimed_at__lt=reclaim_before
    )


def _claim(message_id):
    now = timezone.now()
    with transaction.atomic():
        rows = locked(OutboxMessage.objects.filter(_due(now), pk=message_id), skip_locked=True)
        if not rows:
            return None
        message = rows[0]
        message.status = OutboxStatus.IN_PROGRESS
        message.claimed_at = now
        message.attempts += 1
        message.save(update_fields=["status", "claimed_at", "attempts"])
    return message


def _perform(message):
    if message.kind == OutboxKind.EMAIL:
        mail_connection = get_connection(settings.EMAIL_DELIVERY_BACKEND)
        deserialize_message(message.payload, connection=mail_connection).send()
        return
    task = _registered_task(message.name)
    payload = message.payload
    task.apply_async(args=payload.get("args", []), kwargs=payload.get("kwargs", {}))


def _registered_task(name):
    if name not in current_app.tasks:
        # A process that has not imported every app's tasks module yet (the web process).
        current_app.loader.import_default_modules()
    return current_app.tasks[name]


def _record_failure(message, error):
    attempts = message.attempts
    failed = attempts >= settings.OUTBOX_MAX_ATTEMPTS
    delay = min(60 * 2 ** (attempts - 1), MAX_BACKOFF_SECONDS)
    OutboxMessage.objects.filter(pk=message.pk, claimed_at=message.claimed_at).update(
        status=OutboxStatus.FAILED if failed else OutboxStatus.PENDING,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        last_error=f"{type(error).__name__}: {error}"[:2000],
    )
    if failed:
        logger.error(
            "Outbox message %s (%s %s) failed for good after %s attempts",
            message.pk,
            message.kind,
            message.name,
            attempts,
            exc_info=error,
        )
    else:
        logger.warning(
            "Outbox message %s (%s %s) failed (attempt %s), retrying in %ss: %s",
            message.pk,
            message.kind,
            message.name,
            attempts,
            delay,
            error,
        )


@shared_task(name="cms.outbox.sweep", ignore_result=True)
def sweep():
    """Re-dispatch every row that is due (beat, every minute); returns how many."""
    now = timezone.now()
    ids = list(
        OutboxMessage.objects.filter(_due(now))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for message_id in ids:
        dispatch(message_id)
    _forget_old_payloads(now)
    return len(ids)


def _forget_old_payloads(now):
    """Sent rows keep their key (idempotency) but drop their content after a while."""
    cutoff = now - timedelta(days=settings.OUTBOX_KEEP_PAYLOAD_DAYS)
    OutboxMessage.objects.filter(status=OutboxStatus.SENT, sent_at__lt=cutoff).exclude(
        payload={}
    ).update(payload={})


def failure_counts():
    """How many rows failed for good, and how many are overdue by more than a sweep or two."""
    overdue = timezone.now() - timedelta(minutes=5)
    return {
        "failed": OutboxMessage.objects.filter(status=OutboxStatus.FAILED).count(),
        "overdue": OutboxMessage.objects.filter(
            status=OutboxStatus.PENDING, next_attempt_at__lt=overdue
        ).count(),
    }
