"""How bench/bench_scale.py summarises repeated runs: medians, paired ratios, the serial part."""

from __future__ import annotations

from bench.bench_scale import SERIAL_STAGE, _cc_stage_split, median_rows, paired_speedups


def _row(workers: int, repeat: int, wall: float, cpu: float, **extra) -> dict:
    return {
        "stage": "commoncrawl",
        "size": 16,
        "workers": workers,
        "repeat": repeat,
        "pages": 1000,
        "wall_s": wall,
        "cpu_s": cpu,
        **extra,
    }


def test_paired_ratios_and_medians() -> None:
    # a slow spell (repeat 1) slows both runs of its pair: the paired ratio stays put
    rows = [
        _row(1, 0, 10.0, 10.0),
        _row(2, 0, 5.0, 10.5),
        _row(1, 1, 20.0, 20.0),
        _row(2, 1, 10.5, 21.0),
        _row(1, 2, 12.0, 12.0),
        _row(2, 2, 6.0, 12.5),
    ]
    assert paired_speedups(rows, "commoncrawl", 16) == [2.0, 20.0 / 10.5, 2.0]
    assert paired_speedups(rows, "commoncrawl", 4) == []
    medians = {r["workers"]: r for r in median_rows(rows)}
    assert medians[1]["wall_s"] == 12.0 and medians[1]["repeats"] == 3
    assert medians[2]["cpu_s"] == 12.5
    assert medians[2]["wall_s_all"] == [5.0, 10.5, 6.0]
    assert medians[1]["pages_per_s_per_core"] == round(1000 / 12.0, 1)
    assert "repeat" not in medians[1]


def test_cc_split_separates_the_one_shard_classifier_training() -> None:
    one = {"ingest/commoncrawl/hashes": 2.0, "ingest/commoncrawl/scored": 6.0, SERIAL_STAGE: 5.0}
    two = {"ingest/commoncrawl/hashes": 1.0, "ingest/commoncrawl/scored": 3.0, SERIAL_STAGE: 5.2}
    rows = [_row(1, 0, 14.0, 14.0, stage_wall_s=one), _row(2, 0, 10.0, 15.0, stage_wall_s=two)]
    logged: list[str] = []
    split = _cc_stage_split(rows, 16, logged.append)
    assert split == {
        "commoncrawl_16x_classifier_training_s": 5.0,
        "commoncrawl_16x_other_substages_speedup_2w_vs_1w": 2.0,
    }
    assert "classifier training 5.0 s" in logged[0]
    assert _cc_stage_split(rows, 64, logged.append) == {}


def test_ceiling_probes_are_kept_per_stage_and_size() -> None:
    from bench.bench_scale import ceilings_for

    probes = [
        {"stage": "commoncrawl", "size": 16, "repeat": 0, "ceiling": 1.9},
        {"stage": "tokenize", "size": 16, "repeat": 0, "ceiling": 1.7},
        {"stage": "commoncrawl", "size": 16, "repeat": 1, "ceiling": 1.5},
        {"stage": "commoncrawl", "size": 64, "repeat": 0, "ceiling": 2.0},
    ]
    assert ceilings_for(probes, "commoncrawl", 16) == [1.9, 1.5]
    assert ceilings_for(probes, "tokenize", 64) == []
