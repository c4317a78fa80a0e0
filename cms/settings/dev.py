"""Local development: `make run`."""

from .base import *

DEBUG = env_bool("DEBUG", True)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
# Template and content edits show at once while developing (set it to try the page cache).
PAGE_CACHE_SECONDS = int(env("PAGE_CACHE_SECONDS", "0"))
