"""Two cassettes' interactions paired for comparing: by match key, the n-th of a key with the
n-th, as `chunktape diff` and `chunktape drift --against` pair them. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chunktape.cassette import Cassette, Interaction
from chunktape.matching import MatchRules, describe_request


@dataclass(frozen=True)
class Pair:
    """An interaction of OLD and its partner in NEW (None on the side that lacks one), numbered from 1."""

    title: str
    old_index: int | None
    old: Interaction | None
    new_index: int | None
    new: Interaction | None


def pair_interactions(old: Cassette, new: Cassette, rules: MatchRules) -> list[Pair]:
    """OLD's and NEW's interactions paired by match key, the n-th of a key with the n-th,
    sorted by title (the request, secrets redacted)."""
    old_by_key = _by_key(old.interactions, rules)
    new_by_key = _by_key(new.interactions, rules)
    pairs: list[tuple[tuple[str, ...], int, Pair]] = []
    for key in sorted(set(old_by_key) | set(new_by_key)):
        olds, news = old_by_key.get(key, []), new_by_key.get(key, [])
        for occurrence in range(max(len(olds), len(news))):
            before = olds[occurrence] if occurrence < len(olds) else None
            after = news[occurrence] if occurrence < len(news) else None
            some = before or after
            assert some is not None
            title = describe_request(some[1].request, rules.redactor)
            if occurrence:
                title += f" (occurrence {occurrence + 1})"
            pair = Pair(
                title,
                before[0] if before else None,
                before[1] if before else None,
                after[0] if after else None,
                after[1] if after else None,
            )
            pairs.append((key, occurrence, pair))
    pairs.sort(key=lambda item: (item[2].title, item[2].old_index is None, item[0], item[1]))
    return [pair for _, _, pair in pairs]


def _by_key(
    interactions: Sequence[Interaction], rules: MatchRules
) -> dict[tuple[str, ...], list[tuple[int, Interaction]]]:
    grouped: dict[tuple[str, ...], list[tuple[int, Interaction]]] = {}
    for index, interaction in enumerate(interactions, start=1):
        grouped.setdefault(rules.key(interaction.request), []).append((index, interaction))
    return grouped
