"""cms.locking: locks only inside a transaction, a bounded wait on PostgreSQL, and "busy, try
again" instead of a server error."""

import json
from contextlib import contextmanager

import psycopg
import pytest
from django.db import OperationalError, connection, transaction
from django.db.models import Exists, OuterRef
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from cms.locking import (
    Busy,
    BusyMiddleware,
    LockOutsideTransaction,
    busy_on_lock_timeout,
    lock_one,
    lock_one_reusing_sql,
    locked,
)
from cms.models import User
from tests.accounts_support import make_member

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_locking_outside_a_transaction_is_refused():
    user = make_member()
    with pytest.raises(LockOutsideTransaction):
        lock_one(User, user.pk)
    with pytest.raises(LockOutsideTransaction):
        locked(User.objects.all())


def test_lock_one_returns_the_row_and_locked_returns_the_rows():
    first = make_member("first@example.org")
    second = make_member("second@example.org")
    with transaction.atomic():
        assert lock_one(User, first.pk) == first
        assert lock_one(User.objects.filter(is_active=True), second.pk) == second
        assert locked(User.objects.order_by("pk")) == [first, second]
        with pytest.raises(User.DoesNotExist):
            lock_one(User, second.pk + 1000)


def test_a_lock_timeout_becomes_busy_and_other_errors_pass():
    class Cause(Exception):
        sqlstate = "55P03"

    def timeout():
        error = OperationalError("canceling statement due to lock timeout")
        error.__cause__ = Cause()
        return error

    with pytest.raises(Busy) as caught, busy_on_lock_timeout():
        raise timeout()
    assert "try again in a moment" in str(caught.value)
    with pytest.raises(Busy), busy_on_lock_timeout():
        raise OperationalError("database is locked")
    with pytest.raises(OperationalError), busy_on_lock_timeout():
        raise OperationalError("no such table: nothing")


def test_busy_in_a_view_answers_503_with_retry_after():
    middleware = BusyMiddleware(lambda request: None)
    page = middleware.process_exception(RequestFactory().post("/book/"), Busy())
    assert page.status_code == 503
    assert page["Retry-After"] == "5"
    assert b"Someone else is changing this right now" in page.content

    api = RequestFactory().post("/poll/", HTTP_ACCEPT="application/json")
    answer = middleware.process_exception(api, Busy())
    assert answer.status_code == 503
    assert json.loads(answer.content)["error"] == "busy"

    assert middleware.process_exception(api, ValueError("not ours")) is None


@contextmanager
def held_elsewhere(user):
    """The user's row locked FOR UPDATE by another connection for the duration."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    other = psycopg.connect(**params)
    try:
        other.execute("SELECT id FROM cms_user WHERE id = %s FOR UPDATE", [user.pk])
        yield
    finally:
        other.rollback()
        other.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_row_held_elsewhere_makes_the_second_locker_busy_quickly(settings):
    settings.DB_LOCK_TIMEOUT = "200ms"
    user = make_member()
    with held_elsewhere(user):
        with pytest.raises(Busy), transaction.atomic():
            lock_one(User, user.pk)
        # nowait does not wait at all, and says the same.
        with pytest.raises(Busy), transaction.atomic():
            lock_one(User, user.pk, nowait=True)
    with transaction.atomic():
        assert lock_one(User, user.pk) == user
        with connection.cursor() as cursor:
            cursor.execute("SHOW lock_timeout")
            assert cursor.fetchone()[0] == "200ms"


def _users_with_a_flag():
    """Users, each with a flag computed in the same query (as issuing locks a registration)."""
    same_email = User.objects.filter(email=OuterRef("email")).exclude(pk=OuterRef("pk"))
    return User.objects.annotate(shares_email=Exists(same_email))


def test_a_reused_lock_text_locks_each_row_by_its_key_in_one_query():
    first = make_member("reuse-first@example.org")
    second = make_member("reuse-second@example.org")
    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            got_first = lock_one_reusing_sql("test.users", _users_with_a_flag, first.pk)
            got_second = lock_one_reusing_sql("test.users", _users_with_a_flag, second.pk)
        with pytest.raises(User.DoesNotExist):
            lock_one_reusing_sql("test.users", _users_with_a_flag, second.pk + 1000)
    assert (got_first, got_second) == (first, second)
    assert (got_first.email, got_second.email) == (first.email, second.email)
    assert got_first.shares_email is False and got_second.shares_email is False
    assert len(queries) == 2
    if connection.vendor == "postgresql":
        assert all(query["sql"].endswith("FOR UPDATE") for query in queries)
        assert str(second.pk) in queries[1]["sql"] and str(first.pk) not in queries[1]["sql"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_reused_lock_text_is_refused_outside_a_transaction():
    user = make_member()
    with pytest.raises(LockOutsideTransaction):
        lock_one_reusing_sql("test.users", _users_with_a_flag, user.pk)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_reused_lock_text_waits_no_longer_than_the_lock_timeout(settings):
    settings.DB_LOCK_TIMEOUT = "200ms"
    user = make_member()
    with held_elsewhere(user), pytest.raises(Busy), transaction.atomic():
        lock_one_reusing_sql("test.users.timeout", _users_with_a_flag, user.pk)
    with transaction.atomic():
        assert lock_one_reusing_sql("test.users.timeout", _users_with_a_flag, user.pk) == user
