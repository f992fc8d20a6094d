"""Obviously fake keys in eight providers' formats, put together at run time so that no
repository scanner (nor our own) finds a key-like literal in the source."""

from __future__ import annotations

FAKE_KEYS: dict[str, str] = {
    "openai-key": "sk-" + "proj-" + "FAKEfake0123456789" * 3,
    "anthropic-key": "sk-" + "ant-" + "api03-" + "FAKEfake0123456789" * 3,
    "google-api-key": "AI" + "za" + "SyFAKE" + "fake0123456789" * 2 + "abcdefg",
    "github-token": "gh" + "p_" + "FAKEfake0123456789" * 2,
    "aws-access-key": "AK" + "IA" + "FAKE0123456789AB",
    "slack-token": "xo" + "xb-" + "1234567890-" + "9876543210-" + "FAKEfake0123",
    "stripe-key": "sk" + "_live_" + "FAKEfake0123456789" * 2,
    "huggingface-token": "hf" + "_" + "FAKEfakeFAKEfakeFAKEfakeFAKEfakeFA",
}
"""format name -> a key of that format (none of them valid anywhere)."""
