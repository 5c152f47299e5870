"""Reading over HTTP from a server that drops connections, truncates bodies and throttles.

Real WET and C4 files are served from 127.0.0.1; whatever the fault, the documents read must be
the ones read from the local file, or the read must fail with one clear error after its
retries. The download cache must never keep a short copy.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from llamapipe.errors import IntegrityError, StorageError
from llamapipe.formats.jsonl import iter_json_lines
from llamapipe.formats.wet import download, read_wet
from llamapipe.io import open_input
from llamapipe.io.cache import SIDECAR_SUFFIX, cache_path, fetch_cached
from llamapipe.io.retry import RetryPolicy
from tests.io.servers import FaultyHttp

WET = "CC-MAIN-2019-30-sample-00.warc.wet.gz"
PLAIN_WET = "ccnet_tests_sample.warc.txt"
C4 = "olmo_c4-sample.00000-of-00001.json.gz"
FAST = RetryPolicy(retries=4, backoff_s=0.01, timeout_s=10)


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLAMAPIPE_IO_BACKOFF_S", "0.01")
    monkeypatch.setenv("LLAMAPIPE_IO_TIMEOUT_S", "10")


@pytest.fixture(scope="module")
def served(realdata: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("served")
    for name in (WET, PLAIN_WET):
        shutil.copy(realdata / "commoncrawl" / name, root / name)
    shutil.copy(realdata / "c4" / C4, root / C4)
    return root


def _records(source: str, **kwargs: object) -> list[dict]:
    """Every record's fields and text, then the skip reasons (the sample has empty pages)."""
    skipped: list[str] = []
    records = [
        r.to_meta() | {"text": r.raw_content}
        for r in read_wet(source, on_skip=lambda reason, _: skipped.append(reason), **kwargs)
    ]
    return records + [{"skipped": skipped}]


def _c4(source: str) -> list[dict]:
    errors: list[tuple] = []
    rows = [obj for _, obj in iter_json_lines(source, lambda n, m: errors.append((n, m)))]
    assert not errors, errors
    return rows


FAULTS = [
    "truncate/3",  # body cut in half three times, resumed with Range
    "norange/truncate/3",  # the same from a server that ignores Range: restart and skip
    "reset/3",  # connection closed before any answer
    "503/3",  # throttled
    "truncate/2/md5",  # cut short, with a Content-MD5 to check the whole body against
]


@pytest.mark.parametrize("fault", FAULTS)
def test_streamed_reads_match_local_despite_faults(served: Path, fault: str) -> None:
    with FaultyHttp(served) as http:
        wet = _records(http.url(f"{fault}/{WET}"))
        assert len(wet) == 164 + 1 and wet[-1]["skipped"].count("empty_record") == 11
        assert wet == _records(str(served / WET))
        # The segment name is the same whether the file is read locally or remotely.
        assert {r["cc_segment"] for r in wet[:-1]} == {WET}
        c4 = _c4(http.url(f"{fault}/{C4}"))
        assert c4 == _c4(str(served / C4)) and len(c4) == 1000
        plain = _records(http.url(f"{fault}/{PLAIN_WET}"))
        assert plain == _records(str(served / PLAIN_WET)) and len(plain) == 3 + 1


@pytest.mark.parametrize("suffix", [".json", ".json.bz2", ".json.xz", ".json.zst"])
def test_every_compression_is_decompressed_on_the_stream(
    served: Path, tmp_path: Path, suffix: str
) -> None:
    import bz2
    import gzip
    import lzma

    import zstandard

    raw = gzip.decompress((served / C4).read_bytes())
    pack = {
        ".json": lambda b: b,
        ".json.bz2": bz2.compress,
        ".json.xz": lambda b: lzma.compress(b, preset=0),
        ".json.zst": lambda b: zstandard.ZstdCompressor().compress(b),
    }[suffix]
    name = f"c4-copy{suffix}"
    (served / name).write_bytes(pack(raw))
    with FaultyHttp(served) as http:
        assert _c4(http.url(f"truncate/2/{name}")) == _c4(str(served / C4))


def test_a_body_that_is_always_short_is_a_clear_error(served: Path) -> None:
    with FaultyHttp(served) as http:
        # With Range, each short answer still moves forward (resumed until complete); without
        # it every attempt restarts at byte 0 and never gets past the middle.
        assert len(_records(http.url(f"always-truncate/{WET}"))) == 165
        url = http.url(f"norange/always-truncate/{WET}")
        with pytest.raises(StorageError) as err:
            list(read_wet(url))
        message = str(err.value)
        assert url in message and "truncated" in message and "\n" not in message
        assert "attempts" in message


def test_missing_object_and_unknown_scheme_are_one_line(served: Path) -> None:
    with FaultyHttp(served) as http:
        with pytest.raises(StorageError, match=r"not found \(HTTP 404\)"):
            open_input(http.url("missing.json.gz"))
    with pytest.raises(StorageError, match="unknown scheme 'ftp://'"):
        open_input("ftp://example.org/x.json.gz")


def test_wrong_content_md5_is_retried_then_refused(served: Path, tmp_path: Path) -> None:
    with FaultyHttp(served) as http:
        # Wrong digest on the first two answers: the cache downloads again and keeps the third.
        path = fetch_cached(http.url(f"badmd5/2/{WET}"), tmp_path / "c1", FAST)
        assert path.read_bytes() == (served / WET).read_bytes()
        # Always wrong: refused, and nothing is left in the cache.
        with pytest.raises(IntegrityError, match="MD5 mismatch"):
            fetch_cached(http.url(f"badmd5/99/{WET}"), tmp_path / "c2", FAST)
        assert not [p for p in (tmp_path / "c2").rglob("*") if p.is_file()]
        # A streamed read compares the digest at the end and fails instead of ending quietly.
        with pytest.raises(IntegrityError, match="MD5 mismatch"):
            with open_input(http.url(f"badmd5/99/{C4}")) as stream:
                stream.read()


def test_cache_never_keeps_a_truncated_file(served: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with FaultyHttp(served) as http:
        bad = http.url(f"norange/always-truncate/{WET}")
        with pytest.raises(StorageError):
            download(bad, cache, retries=2, backoff_s=0.01)
        assert not [p for p in cache.rglob("*") if p.is_file()], "a partial copy was kept"

        # A truncated copy left by an older version (no sidecar) is not trusted: fetched again.
        url = http.url(f"truncate/2/{WET}")
        target = cache_path(cache, url)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((served / WET).read_bytes()[:5000])
        assert _records(url, cache_dir=cache) == _records(str(served / WET))
        assert target.read_bytes() == (served / WET).read_bytes()
        sidecar = json.loads(target.with_name(target.name + SIDECAR_SUFFIX).read_text())
        assert sidecar["size"] == os.path.getsize(served / WET)

        # Now cached and verified: a later read does not need the server.
        hits = sum(http.hits.values())
        assert len(_records(url, cache_dir=cache)) == 165
        assert sum(http.hits.values()) == hits
        # Cut the cached copy (a disk problem after the fact): detected, fetched again.
        target.write_bytes(target.read_bytes()[:1000])
        assert len(_records(url, cache_dir=cache)) == 165
        assert sum(http.hits.values()) > hits


def test_which_failures_are_retried() -> None:
    import http.client
    import ssl
    import urllib.error

    from llamapipe.io.retry import is_transient

    retried = [
        ConnectionResetError(),
        TimeoutError(),
        http.client.IncompleteRead(b"", 10),
        http.client.RemoteDisconnected(),
        urllib.error.HTTPError("u", 503, "busy", {}, None),  # type: ignore[arg-type]
        urllib.error.HTTPError("u", 429, "slow down", {}, None),  # type: ignore[arg-type]
    ]
    final = [
        FileNotFoundError(),
        PermissionError(),
        urllib.error.HTTPError("u", 404, "missing", {}, None),  # type: ignore[arg-type]
        urllib.error.URLError(ssl.SSLCertVerificationError("bad certificate")),
        ValueError("a bug, not the network"),
    ]
    assert all(is_transient(e) for e in retried)
    assert not any(is_transient(e) for e in final)
