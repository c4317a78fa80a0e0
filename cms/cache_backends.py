"""The shared cache (Redis) fails open: when Redis is down the site keeps serving.

`FailOpenRedisCache` is Django's RedisCache with every read and write guarded. While Redis
cannot be reached:

- reads miss and writes are dropped, so the page cache, `{% cache %}` fragments and every other
  cached value are simply rendered again (uncached) instead of turning into a 500;
- keys starting with one of `OPTIONS["LOCAL_FALLBACK_PREFIXES"]` (the rate-limit counters of
  allauth and django-ratelimit, short throttles) move to a per-process local-memory cache, so
  limits keep holding, per process, instead of letting everything through;
- a warning is logged (at most once per `RETRY_AFTER` seconds per process) and Redis is not
  tried again for `RETRY_AFTER` seconds, so a dead Redis costs one failed connection per
  process every few seconds rather than one per cache call.
"""

import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Errors that mean "the cache is not there", not "the code is wrong".
UNAVAILABLE = (RedisError, ConnectionError, TimeoutError, OSError)


class FailOpenRedisCache(RedisCache):
    def __init__(self, server, params):
        params = dict(params)
        options = dict(params.get("OPTIONS") or {})
        self.local_prefixes = tuple(options.pop("LOCAL_FALLBACK_PREFIXES", ()))
        self.retry_after = float(options.pop("RETRY_AFTER", 5))
        # A cache call must never hang a request: give up on an unreachable host quickly.
        options.setdefault("socket_connect_timeout", 0.5)
        options.setdefault("socket_timeout", 0.5)
        params["OPTIONS"] = options
        super().__init__(server, params)
        self.local = LocMemCache(f"fail-open-{id(self)}", {"TIMEOUT": params.get("TIMEOUT")})
        self._down_until = 0.0
        self._lock = threading.Lock()

    # -- state --------------------------------------------------------------------------

    @property
    def is_down(self):
        """True while Redis failed within the last RETRY_AFTER seconds (this process)."""
        return time.monotonic() < self._down_until

    def ping(self):
        """Ask Redis directly (for /healthz): True when it answers, whatever the breaker says."""
        try:
            return bool(self._cache.get_client(write=False).ping())
        except UNAVAILABLE:
            return False

    def _failed(self, operation, error):
        with self._lock:
            was_down = self.is_down
            self._down_until = time.monotonic() + self.retry_after
        if not was_down:
            logger.warning(
                "Cache unavailable, serving uncached for %ss: %s failed (%s)",
                self.retry_after,
                operation,
                error,
                extra={"cache_operation": operation},
            )

    def _local_key(self, key):
        return bool(self.local_prefixes) and str(key).startswith(self.local_prefixes)

    def _guard(self, operation, key, shared, missing, local=None):
        """Run `shared()` against Redis; when it is unreachable use `local()` or `missing`."""
        fallback = local if local is not None and self._local_key(key) else None
        if not self.is_down:
            try:
                return shared()
            except UNAVAILABLE as error:
                self._failed(operation, error)
        return fallback() if fallback is not None else missing

    # -- the cache API ------------------------------------------------------------------

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard(
            "add",
            key,
            lambda: super(FailOpenRedisCache, self).add(key, value, timeout, version),
            False,
            lambda: self.local.add(key, value, timeout, version),
        )

    def get(self, key, default=None, version=None):
        return self._guard(
            "get",
            key,
            lambda: super(FailOpenRedisCache, self).get(key, default, version),
            default,
            lambda: self.local.get(key, default, version),
        )

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard(
            "set",
            key,
            lambda: super(FailOpenRedisCache, self).set(key, value, timeout, version),
            None,
            lambda: self.local.set(key, value, timeout, version),
        )

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard(
            "touch",
            key,
            lambda: super(FailOpenRedisCache, self).touch(key, timeout, version),
            False,
            lambda: self.local.touch(key, timeout, version),
        )

    def delete(self, key, version=None):
        return self._guard(
            "delete",
            key,
            lambda: super(FailOpenRedisCache, self).delete(key, version),
            False,
            lambda: self.local.delete(key, version),
        )

    def has_key(self, key, version=None):
        return self._guard(
            "has_key",
            key,
            lambda: super(FailOpenRedisCache, self).has_key(key, version),
            False,
            lambda: self.local.has_key(key, version),
        )

    def incr(self, key, delta=1, version=None):
        def missing():
            # As for a key that is not there: callers already handle ValueError.
            raise ValueError(f"Key '{key}' not found (cache unavailable)")

        result = self._guard(
            "incr",
            key,
            lambda: super(FailOpenRedisCache, self).incr(key, delta, version),
            missing,
            lambda: self.local.incr(key, delta, version),
        )
        return result() if result is missing else result

    def get_many(self, keys, version=None):
        keys = list(keys)
        return self._guard(
            "get_many",
            "",
            lambda: super(FailOpenRedisCache, self).get_many(keys, version),
            {},
        )

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard(
            "set_many",
            "",
            lambda: super(FailOpenRedisCache, self).set_many(data, timeout, version),
            list(data),
        )

    def delete_many(self, keys, version=None):
        keys = list(keys)
        return self._guard(
            "delete_many",
            "",
            lambda: super(FailOpenRedisCache, self).delete_many(keys, version),
            None,
        )

    def clear(self):
        self.local.clear()
        return self._guard("clear", "", lambda: super(FailOpenRedisCache, self).clear(), False)
