"""A local stand-in for the Stripe API so the suite never needs the internet."""

from tests.fakestripe.server import FakeStripe

__all__ = ["FakeStripe"]
