"""The shared dedup primitives (llamapipe/text/dedup_keys.py) on real crawl text and URLs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from llamapipe.formats.wet import read_wet
from llamapipe.text.ccnet_normalize import hash_lines, line_hash, normalize_for_dedup
from llamapipe.text.dedup_keys import first_occurrences, hash64, normalize_url, sha1_hash64

SHARD = "commoncrawl/CC-MAIN-2019-30-sample-00.warc.wet.gz"


def test_hash_values_are_pinned() -> None:
    # Keys already written to disk (GitHub, C4 spans, CCNet line hashes) depend on these values.
    assert hash64(b"Hello World 2019!") == 15051503090301462634
    assert sha1_hash64(b"hello world 0000!") == 4213747061662223874
    assert line_hash(normalize_for_dedup("Hello World 2019!")) == 4213747061662223874


def test_first_occurrences_on_real_line_hashes(realdata: Path) -> None:
    records = list(read_wet(str(realdata / SHARD)))
    hashes = np.concatenate([hash_lines(r.raw_content.split("\n")) for r in records[:300]])
    seen: set[int] = set()
    expected = []
    for value in hashes.tolist():
        expected.append(value not in seen)
        seen.add(value)
    mask = first_occurrences(hashes)
    assert mask.tolist() == expected
    assert 0 < mask.sum() < hashes.size  # real pages repeat lines (menus, footers)
    assert first_occurrences(np.empty(0, np.uint64)).size == 0


def test_normalize_url_merges_spellings_of_one_page(realdata: Path) -> None:
    records = list(read_wet(str(realdata / SHARD)))
    for record in records[:200]:
        url = record.url
        key = normalize_url(url)
        host = url.split("://", 1)[1].split("/", 1)[0]
        variants = [
            url.replace("http://", "https://", 1),
            url.replace("https://", "http://", 1),
            url + "#section",
            url.upper().split("://")[0] + "://" + url.split("://", 1)[1],
            url.replace(host, host.upper(), 1),
        ]
        if not url.endswith("/") and "?" not in url:
            variants.append(url + "/")
        if not host.startswith("www."):
            variants.append(url.replace(host, "www." + host, 1))
        assert {normalize_url(v) for v in variants} == {key}, url
    # different pages stay different
    keys = {normalize_url(r.url) for r in records}
    assert len(keys) == len({r.url for r in records})
