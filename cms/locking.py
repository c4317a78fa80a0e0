"""Row locks that wait briefly, then tell the person to try again.

The one way to lock rows before changing them:

    with transaction.atomic():
        order = lock_one(Order, order_id)              # one row, or Model.DoesNotExist
        tickets = locked(TicketType.objects.filter(event=event).order_by("pk"))

- Both refuse to run outside `transaction.atomic()` (`LockOutsideTransaction`): a lock taken in
  autocommit mode is released at once and protects nothing.
- On PostgreSQL they set `lock_timeout` (settings.DB_LOCK_TIMEOUT, "5s" by default) for the
  rest of the transaction and `SELECT ... FOR UPDATE` in one statement: the locking query's
  WHERE clause calls `set_config(..., is_local => true)`, which runs on each row as it is read,
  before the row is locked, so the first wait is already bounded, and a lock costs one round
  trip, not two (keyword arguments go to `select_for_update`: `no_key=True`, `of=("self",)`,
  `nowait=True`, ...). Waiting longer
  than that, or a `nowait` lock already held, raises `Busy`, whose message tells the person
  someone else is changing this and to try again in a moment. `BusyMiddleware` turns a `Busy`
  that reaches it into a short 503 page (or JSON) with `Retry-After`.
- On SQLite `select_for_update` is a no-op: the settings open every transaction with BEGIN
  IMMEDIATE, which already lets one writer in at a time. A writer that waited out SQLite's
  busy timeout ("database is locked") is turned into `Busy` by `busy_on_lock_timeout` too.

The querysets are evaluated here, so a timeout surfaces inside the helper, not later where
the rows are first read. Lock rows in a fixed order (parents first, then by primary key) so
two transactions never wait on each other in a cycle. No remote call (Stripe, S3, SMTP) and
no PDF rendering while the locks are held: commit first, then call out.
"""

from contextlib import contextmanager

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

# SQLSTATE 55P03: lock_timeout expired, or FOR UPDATE NOWAIT found the row taken.
LOCK_NOT_AVAILABLE = "55P03"
RETRY_AFTER_SECONDS = 5


class Busy(Exception):
    """Someone else holds the rows this change needs; the person should simply try again."""

    default_message = _("Someone else is changing this right now. Please try again in a moment.")

    def __init__(self, message=None):
        self.message = message or self.default_message
        super().__init__(str(self.message))


class LockOutsideTransaction(RuntimeError):
    """A programming error: row locks only last as long as a transaction."""


def is_lock_timeout(error):
    """True for a database error that means "waited too long for a lock"."""
    if not isinstance(error, OperationalError):
        return False
    cause = error.__cause__
    if getattr(cause, "sqlstate", None) == LOCK_NOT_AVAILABLE:
        return True
    # SQLite: another writer held the database for longer than the busy timeout.
    return "database is locked" in str(error)


@contextmanager
def busy_on_lock_timeout():
    """Turn a lock timeout raised inside the block into `Busy`; other errors pass through."""
    try:
        yield
    except OperationalError as error:
        if is_lock_timeout(error):
            raise Busy() from error
        raise


def require_transaction(using=DEFAULT_DB_ALIAS):
    if not connections[using].in_atomic_block:
        raise LockOutsideTransaction(
            "Row locks need transaction.atomic(): outside it they are released at once."
        )


def set_lock_timeout(using=DEFAULT_DB_ALIAS):
    """On PostgreSQL, bound how long this transaction waits for any row lock (a statement of
    its own; `locked` folds the same setting into its locking query instead)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        # SET takes no parameters; the value is quoted as a literal by set_config instead.
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [_lock_timeout()])


def _lock_timeout():
    return str(getattr(settings, "DB_LOCK_TIMEOUT", "5s"))


def with_lock_timeout(queryset):
    """`queryset` that also sets this transaction's lock timeout, in its own WHERE clause.

    PostgreSQL evaluates the (volatile) `set_config` on each row the scan reads, below the
    node that locks the rows, so the timeout is in force before the first wait (the planner
    never hoists a volatile call into a one-time filter). Elsewhere the queryset is unchanged.
    """
    if connections[queryset.db].vendor != "postgresql":
        return queryset
    return queryset.filter(
        RawSQL(
            "set_config('lock_timeout', %s, true) IS NOT NULL",
            [_lock_timeout()],
            output_field=BooleanField(),
        )
    )


def locked(queryset, **select_for_update_kwargs):
    """Lock the rows of `queryset` (inside a transaction) and return them as a list."""
    using = queryset.db
    require_transaction(using)
    with busy_on_lock_timeout():
        if queryset.query.is_sliced:
            # A sliced queryset takes no more filters: the timeout is a statement of its own.
            set_lock_timeout(using)
        else:
            queryset = with_lock_timeout(queryset)
        return list(queryset.select_for_update(**select_for_update_kwargs))


def lock_one(model_or_queryset, pk, **select_for_update_kwargs):
    """Lock one row by primary key and return it; `Model.DoesNotExist` when it is gone."""
    queryset = getattr(model_or_queryset, "_default_manager", model_or_queryset).all()
    rows = locked(queryset.filter(pk=pk), **select_for_update_kwargs)
    if not rows:
        raise queryset.model.DoesNotExist(f"{queryset.model.__name__} {pk} does not exist")
    return rows[0]


# The texts of locking queries taken over and over with only the primary key changing, as the
# ORM built them once per process (by name and lock timeout): building and compiling such a
# query took longer than PostgreSQL takes to run it.
_reused_lock_texts = {}
# A primary key no row has, to find where the ORM put the key among the query's parameters.
_PLACEHOLDER_PK = -918273645


def lock_one_reusing_sql(name, build, pk, **select_for_update_kwargs):
    """`lock_one(build(), pk, ...)` for a lock taken over and over with only `pk` changing
    (one per certificate of a bulk issue): on PostgreSQL the ORM builds the query's text once
    per process under `name`, then each lock only swaps the key. `build()` makes the
    queryset; its text must depend on nothing but the key (no moment, no user). Elsewhere,
    or when the key cannot be found among the parameters, it is `lock_one`."""
    using = DEFAULT_DB_ALIAS
    if connections[using].vendor != "postgresql":
        return lock_one(build(), pk, **select_for_update_kwargs)
    require_transaction(using)
    key = (name, _lock_timeout())
    text = _reused_lock_texts.get(key)
    if text is None:
        queryset = build()
        text = _lock_text(queryset, select_for_update_kwargs)
        if text is None:
            return lock_one(queryset, pk, **select_for_update_kwargs)
        _reused_lock_texts[key] = text
    model, sql, params, place = text
    params = [*params[:place], pk, *params[place + 1 :]]
    with busy_on_lock_timeout():
        rows = list(model._default_manager.raw(sql, params))
    if not rows:
        raise model.DoesNotExist(f"{model.__name__} {pk} does not exist")
    return rows[0]


def _lock_text(queryset, select_for_update_kwargs):
    """(model, sql, params, the key's place in params) of `locked`'s query for one row."""
    one = with_lock_timeout(queryset.all().filter(pk=_PLACEHOLDER_PK))
    sql, params = one.select_for_update(**select_for_update_kwargs).query.sql_with_params()
    places = [n for n, value in enumerate(params) if value == _PLACEHOLDER_PK]
    if len(places) != 1:
        return None
    return queryset.model, sql, list(params), places[0]


def wants_json(request):
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def busy_response(request, busy=None):
    """The answer to a request that found its rows busy: 503, try again in a few seconds."""
    message = str(busy.message if busy is not None else Busy.default_message)
    if wants_json(request):
        response = JsonResponse({"error": "busy", "message": message}, status=503)
    else:
        response = render(request, "cms/busy.html", {"message": message}, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class BusyMiddleware:
    """A `Busy` raised by a view becomes a friendly "try again" answer, not a server error."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, Busy):
            return busy_response(request, exception)
        return None
