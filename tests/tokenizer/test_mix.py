"""The blended training stream: shares, epochs, held-out split, cross-source dedup, shuffling."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from llamapipe.formats.documents import read_documents
from llamapipe.formats.token_shards import TokenShardReader, TokenShardSet
from llamapipe.mix.plan import draw_documents, normalized_weights, plan_draws
from llamapipe.tokenizer import layout


def _manifest(run_dir):
    return json.loads((run_dir / layout.TOKENS_MANIFEST).read_text())


def _provenance(run_dir):
    """Per training shard: (reader, sources, source index, source doc, length)."""
    out = []
    for prefix in layout.train_prefixes(run_dir):
        with np.load(run_dir / layout.TRAIN_STAGE / "provenance" / f"{prefix.name}.npz") as p:
            out.append(
                (TokenShardReader(prefix), list(p["sources"]), p["source"], p["doc"], p["length"])
            )
    return out


def _train_ids(run_dir, source):
    ids = []
    for path in sorted((run_dir / layout.source_stage(source) / "train_ids").glob("*.parquet")):
        ids.extend(pq.read_table(path).column("id").to_pylist())
    return ids


def _valid_ids(run_dir, source):
    folder = run_dir / layout.VALID_STAGE / source / "documents"
    return [doc.id for path in sorted(folder.glob("*.parquet")) for doc in read_documents(path)]


def test_realized_shares_within_half_a_point(token_run):
    run_dir = token_run.run_dir
    sets = {s: TokenShardSet(layout.source_train_prefixes(run_dir, s)) for s in token_run.docs}
    tokens = dict.fromkeys(token_run.docs, 0)
    for reader, sources, source, doc, length in _provenance(run_dir):
        assert reader.num_documents == source.size
        for i in range(reader.num_documents):
            name = sources[source[i]]
            got = reader.document(i)
            # the provenance is true: this training document is a prefix of that source document
            np.testing.assert_array_equal(got, sets[name].document(int(doc[i]))[: got.size])
            assert got.size == length[i]
            tokens[name] += got.size
    total = sum(tokens.values())
    assert total == sum(r.num_tokens for r, *_ in _provenance(run_dir))
    targets = normalized_weights(token_run.mix.weights, list(token_run.docs))
    manifest = _manifest(run_dir)
    for name, target in targets.items():
        share = tokens[name] / total
        assert abs(share - target) < 0.005, (name, share, target)
        assert manifest["sources"][name]["tokens_in_mix"] == tokens[name]
        assert manifest["sources"][name]["share"] == pytest.approx(share)
    assert manifest["total_tokens"] == total


def test_epochs_are_tokens_drawn_over_unique_tokens(token_run):
    run_dir = token_run.run_dir
    manifest = _manifest(run_dir)
    epochs = {}
    for name, entry in manifest["sources"].items():
        unique = TokenShardSet(layout.source_train_prefixes(run_dir, name)).num_tokens
        assert entry["unique_tokens"] == unique
        assert entry["epochs"] == pytest.approx(entry["tokens_in_mix"] / unique)
        epochs[name] = entry["epochs"]
    # no budget configured: the limiting source is used exactly once, none more than once
    assert max(epochs.values()) == pytest.approx(1.0, abs=1e-6)


def test_short_sources_repeat_whole_documents_in_a_new_order(token_run):
    sizes = TokenShardSet(layout.source_train_prefixes(token_run.run_dir, "arxiv")).document_sizes()
    unique = int(sizes.sum())
    docs, lengths = draw_documents(sizes, int(2.5 * unique), seed=3, source="arxiv")
    n = sizes.size
    first, second = docs[:n], docs[n : 2 * n]
    assert sorted(first) == sorted(second) == list(range(n))  # two whole passes
    assert not np.array_equal(first, second)  # a new order each epoch
    np.testing.assert_array_equal(lengths[: 2 * n], sizes[docs[: 2 * n]])  # whole documents
    assert int(lengths.sum()) == int(2.5 * unique)  # exact count
    again = draw_documents(sizes, int(2.5 * unique), seed=3, source="arxiv")
    np.testing.assert_array_equal(again[0], docs)  # deterministic from the seed
    other = draw_documents(sizes, int(2.5 * unique), seed=4, source="arxiv")
    assert not np.array_equal(other[0], docs)


def test_a_token_budget_repeats_and_subsamples_to_exact_counts(token_run):
    manifest = _manifest(token_run.run_dir)
    unique = {name: entry["unique_tokens"] for name, entry in manifest["sources"].items()}
    weights = normalized_weights(token_run.mix.weights, list(unique))
    budget = 3 * sum(unique.values())
    draws = plan_draws(unique, weights, budget)
    assert sum(d.drawn_tokens for d in draws.values()) == budget
    for name, draw in draws.items():
        assert abs(draw.drawn_tokens / budget - weights[name]) < 1e-6
    assert draws["wikipedia"].epochs > 1  # small source repeated


def test_weight_on_a_source_without_tokens_is_an_error():
    with pytest.raises(ValueError, match="no training tokens"):
        plan_draws({"c4": 100, "books": 0}, {"c4": 0.5, "books": 0.5}, None)


def test_validation_documents_never_in_training(token_run):
    run_dir = token_run.run_dir
    trained_ids = {name: _train_ids(run_dir, name) for name in token_run.docs}
    drawn_ids = set()
    for _reader, sources, source, doc, _length in _provenance(run_dir):
        for s, d in zip(source, doc, strict=True):
            drawn_ids.add(trained_ids[sources[s]][int(d)])
    train_token_hashes = set()
    for name in token_run.docs:
        shards = TokenShardSet(layout.source_train_prefixes(run_dir, name))
        for i in range(shards.num_documents):
            train_token_hashes.add(hashlib.sha1(shards.document(i).tobytes()).digest())
    for name in token_run.docs:
        valid_ids = [
            doc.id
            for path in sorted(
                (run_dir / layout.VALID_STAGE / name / "documents").glob("*.parquet")
            )
            for doc in read_documents(path)
        ]
        assert len(valid_ids) >= token_run.mix.valid_min_documents, name
        assert not set(valid_ids) & drawn_ids
        assert not set(valid_ids) & set(trained_ids[name])
        valid = TokenShardSet(layout.valid_prefixes(run_dir, name))
        assert valid.num_documents == len(valid_ids)
        for i in range(valid.num_documents):
            assert hashlib.sha1(valid.document(i).tobytes()).digest() not in train_token_hashes


def test_c4_page_already_in_commoncrawl_is_dropped(token_run):
    run_dir = token_run.run_dir
    twin = token_run.docs["c4"][5]
    original = token_run.docs["commoncrawl"][3]
    assert twin.id not in _train_ids(run_dir, "c4")
    valid_c4 = _valid_ids(run_dir, "c4")
    assert twin.id not in valid_c4
    cc_valid = _valid_ids(run_dir, "commoncrawl")
    assert original.id in _train_ids(run_dir, "commoncrawl") or original.id in cc_valid
    assert _manifest(run_dir)["sources"]["c4"]["duplicates_dropped"] == 1


def test_training_stream_is_shuffled_across_sources(token_run):
    (_reader, sources, source, _doc, _length), *_ = _provenance(token_run.run_dir)
    assert len(set(source.tolist())) >= 5  # the first shard already mixes the sources
    switches = int(np.count_nonzero(np.diff(source.astype(np.int64))))
    assert switches > source.size // 3  # interleaved, not source after source


def test_every_training_document_starts_with_bos(token_run):
    for reader, *_ in _provenance(token_run.run_dir):
        starts = reader.pointers // reader.dtype.itemsize
        tokens = reader.tokens(0, reader.num_tokens)
        assert np.all(tokens[starts] == token_run.tokenizer.bos_id)
