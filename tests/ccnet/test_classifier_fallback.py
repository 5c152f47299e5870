"""The fallback's length-matched positives: windows of whole lines no longer than their pair."""

from __future__ import annotations

import random

import pytest

from llamapipe.sources.commoncrawl.classifier import article_window, length_matched


def _article(n_lines: int, seed: int) -> str:
    rng = random.Random(seed)
    return "\n".join(
        " ".join(f"w{rng.randrange(1000)}" for _ in range(rng.randrange(1, 60)))
        for _ in range(n_lines)
    )


@pytest.mark.parametrize("seed", range(20))
def test_window_is_consecutive_whole_lines_filling_the_target(seed: int) -> None:
    text = _article(80, seed)
    lines = text.split("\n")
    rng = random.Random(seed)
    target = rng.randrange(50, len(text) // 2)
    window = article_window(text, target, rng)
    got = window.split("\n")
    starts = [i for i in range(len(lines)) if lines[i : i + len(got)] == got]
    assert starts, "not a run of consecutive lines of the article"
    start, end = starts[0], starts[0] + len(got)
    assert len(window) <= target or len(got) == 1
    # it stops only at the target: the next line would overshoot it (or it ends the article
    # exactly at the target)
    if end < len(lines):
        assert len(window) + 1 + len(lines[end]) > target
    else:
        assert len(window) == target
    # never started so late that the article's end cut it short
    assert len("\n".join(lines[start:])) >= target


def test_short_article_whole_and_long_first_line_alone() -> None:
    rng = random.Random(0)
    assert article_window("one\ntwo", 100, rng) == "one\ntwo"
    long_line = "x" * 500
    text = "\n".join([long_line] * 4)
    assert article_window(text, 100, rng) == long_line


def test_windows_are_seeded_and_paired_cyclically() -> None:
    articles = [_article(60, s) for s in range(5)]
    negatives = ["n" * 120, "n" * 700]
    first = length_matched(articles, negatives, random.Random(7))
    assert first == length_matched(articles, negatives, random.Random(7))
    assert first != length_matched(articles, negatives, random.Random(8))
    for i, window in enumerate(first):
        target = len(negatives[i % 2])
        assert len(window) <= target or "\n" not in window
