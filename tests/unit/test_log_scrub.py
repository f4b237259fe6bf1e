"""Log lines are scrubbed of secrets every time, though repeated clean messages are checked
only once."""

from __future__ import annotations

from credo import logs


def test_a_message_with_a_secret_is_scrubbed_every_time() -> None:
    raw = "delivery to ann@example.org refused, key credo_sk_abc123"
    for _ in range(3):
        assert logs._scrubbed(raw) == "delivery to <email> refused, key <api-key>"
    assert raw not in logs._CLEAN


def test_a_clean_message_is_remembered_and_the_memory_stays_small() -> None:
    assert logs._scrubbed("request") == "request"
    assert "request" in logs._CLEAN
    for i in range(logs._CLEAN_MAX + 10):
        logs._scrubbed(f"job step {i}")
    assert len(logs._CLEAN) <= logs._CLEAN_MAX
