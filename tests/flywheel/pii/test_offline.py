"""Presidio's EmailRecognizer would download the public-suffix list on first use."""

from __future__ import annotations

import logging
import socket

import pytest

from flywheel.pii import DenyPattern, PresidioScrubber, ScrubConfig


@pytest.fixture
def no_network(monkeypatch):
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


def test_analysing_an_email_makes_no_network_attempt_and_logs_no_connection_error(key, no_network, caplog):
    caplog.set_level(logging.DEBUG)
    # A config no other test uses: a fresh analyzer whose e-mail validator has never run, so
    # its first suffix-list lookup happens here, under the socket guard.
    config = ScrubConfig(deny_patterns=(DenyPattern("offline test", "OFFLINE_TEST", r"OFFLINE-\d{4}"),))
    scrubber = PresidioScrubber(config, key=key)

    scrubbed, _ = scrubber.scrub_text("Write to lea.lind@superrito.com today", scrubber.new_registry())

    assert scrubbed == "Write to <EMAIL_ADDRESS_1> today"
    assert no_network == []
    logged = caplog.text + "".join(str(r.exc_info) for r in caplog.records)
    assert "ConnectionError" not in logged
    assert "Public Suffix" not in logged
    assert not [r for r in caplog.records if r.name.startswith("tldextract")]
