"""Shared test support: fakes, builders and helpers that are not tests themselves."""
