"""The fault-injection suite: one part of the stack fails, and the end state must still hold.

Every test in this folder is marked `faults` (`pytest -m faults` runs only them). Each test
asserts the end state in the database and the emails sent, not log lines.

Fixtures:
- `broker_down`: Celery stops running tasks in-process and points at a closed port on
  127.0.0.1 with publishing retries off, so every `.delay()` / `apply_async()` really fails to
  connect, at once. Restored after the test.
- `broker_back`: call it to end the outage: eager mode comes back and the outbox sweep
  (`cms.outbox.sweep`) runs once, delivering whatever waited. It returns how many rows the
  sweep dispatched. Call it again to sweep again.
"""

import pytest

from cms.celery import app
from cms.outbox import sweep

CLOSED_PORT_BROKER = "redis://127.0.0.1:1/0"
OUTAGE_CONF = {
    "task_always_eager": False,
    "broker_url": CLOSED_PORT_BROKER,
    "broker_write_url": None,
    "broker_connection_retry": False,
    "broker_connection_max_retries": 0,
    "broker_connection_timeout": 1,
    "task_publish_retry": False,
    "result_backend": None,
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.is_relative_to(config.rootpath / "tests" / "faults"):
            item.add_marker(pytest.mark.faults)


def _forget_connections():
    """Drop pooled broker connections so the next publish connects to the current URL."""
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


class Broker:
    def __init__(self):
        self.saved = None

    def down(self):
        if self.saved is None:
            self.saved = {name: app.conf.get(name) for name in OUTAGE_CONF}
        app.conf.update(OUTAGE_CONF)
        _forget_connections()

    def back(self):
        if self.saved is not None:
            app.conf.update(self.saved)
            self.saved = None
            _forget_connections()

    def back_and_sweep(self):
        self.back()
        return sweep()


@pytest.fixture
def broker(db):
    broker = Broker()
    yield broker
    broker.back()


@pytest.fixture
def broker_down(broker):
    """The Celery broker is unreachable for this test (until `broker_back()`)."""
    broker.down()
    return broker


@pytest.fixture
def broker_back(broker):
    """`broker_back()`: the outage ends and the outbox sweep runs once."""
    return broker.back_and_sweep
