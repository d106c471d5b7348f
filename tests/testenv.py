"""Loaded as a pytest plugin (-p tests.testenv) before Django: the environment every test run starts from."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# The live test server speaks plain HTTP on localhost.
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SECURE_COOKIES", "0")
# Tests drive the nightly job in-process; its heartbeat thread would contend for the test database.
os.environ.setdefault("NIGHTLY_HEARTBEAT_SECONDS", "0")
# Commands run in-process would leave the test worker itself reniced (it cannot be undone).
os.environ.setdefault("BATCH_NICENESS", "0")
