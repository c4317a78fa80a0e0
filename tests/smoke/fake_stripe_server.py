"""The in-repo fake Stripe as a process of its own, for `make prod-smoke`.

    python -m tests.smoke.fake_stripe_server PORT WEBHOOK_URL WEBHOOK_SECRET

Serves on 127.0.0.1:PORT until stopped (SIGTERM); webhooks are signed with WEBHOOK_SECRET and
sent to WEBHOOK_URL (the site under gunicorn).
"""

import signal
import sys
import threading
from http.server import ThreadingHTTPServer

from tests.fakestripe.server import FakeStripe, _Handler


class FixedPortFakeStripe(FakeStripe):
    def __init__(self, port, **kwargs):
        super().__init__(**kwargs)
        self.port = port

    def start(self):
        """As FakeStripe.start, on the port asked for (the site's settings name it)."""
        fake = self

        class Handler(_Handler):
            stripe_fake = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self


def main(port, webhook_url, webhook_secret):
    fake = FixedPortFakeStripe(
        int(port), webhook_url=webhook_url, webhook_secret=webhook_secret
    ).start()
    print(f"fake Stripe on {fake.base_url}, webhooks to {webhook_url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *args: stop.set())
    signal.signal(signal.SIGINT, lambda *args: stop.set())
    stop.wait()
    fake.stop()


if __name__ == "__main__":
    main(*sys.argv[1:4])
