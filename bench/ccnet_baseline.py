"""cc_net (facebookresearch/cc_net 1.0.0, bda555b) on local WET files, as its mining pipeline runs.

Runs in cc_net's own virtualenv (bench/.venvs/ccnet, see bench/bench_ccnet.py), never imports
llamapipe. Its mining pipeline composes two passes over every WET shard, and so does this script:

1. `hashes` (cc_net's `_hashes_shard`): `dedup.HashesCollector` over the shard's documents,
   one hash file per shard;
2. `mine` (cc_net's `_mine_shard`, DEFAULT_PIPELINE with LLaMA's choices): for each shard,
   `dedup.DuplicatesRemover` with the hash files of its group of `--group-size` shards
   (cc_net's `hash_in_mem`), `split_by_lang.Classifier` (top 1, `--lid-threshold`),
   `keep_lang` (whitelist `en`), `perplexity.MultiSentencePiece`, `perplexity.DocLM`,
   `perplexity.PerplexityBucket`, `perplexity.DropKeys`, `keep_bucket` (head, middle) and
   `jsonql.split` writing `{language}_{bucket}.json.gz`, all through `jsonql.run_pipes`
   with one process.

The one change to cc_net: the documented shim below replaces `process_wet_file.parse_doc`,
which reads WARC headers by position (line 2 = type, 3 = URI, ...) and so rejects every record
of files whose headers come in another order, by one that reads the same fields by name.
Everything else is cc_net's code, imported from the extracted source tarball (`--ccnet-src`).

Each step's `do` is wrapped to add up its CPU time (`time.process_time`), as is the WET
reader; model loading (`_prepare`) is timed too. Writes one JSON object: per-step CPU, counts,
and the kept pages (file, URL, bucket, perplexity, text digest) for the same-pages check,
to the `--result` file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

CPU: dict[str, float] = {}
COUNTS: dict[str, int] = {}
READ: list[tuple[str, str]] = []  # (file, url) of every page the mine pass read


def _add(name: str, seconds: float) -> None:
    CPU[name] = CPU.get(name, 0.0) + seconds


def parse_doc_by_name(headers: list[str], doc: list[str]) -> dict | None:
    """cc_net's `parse_doc`, reading the WARC fields by header name instead of by position
    (same output record, same rules for the title line and the two trailing empty lines)."""
    if not headers or not doc:
        return None
    fields = {}
    for line in headers[1:]:
        name, sep, value = line.partition(":")
        if sep:
            fields[name.strip().lower()] = value.strip()
    try:
        if fields["warc-type"] != "conversion":
            return None
        url = fields["warc-target-uri"]
        record = {
            "url": url,
            "date_download": fields["warc-date"],
            "digest": fields["warc-block-digest"],
            "length": int(fields["content-length"]),
        }
    except (KeyError, ValueError):
        return None
    last = -2 if len(doc) >= 2 and not doc[-1] and not doc[-2] else None
    title, body = doc[0], doc[1:last]
    record.update(
        nlines=len(body),
        source_domain=urlparse(url).netloc,
        title=title,
        raw_content="\n".join(body),
    )
    return record


def read_shard(process_wet_file, jsonql, path: Path, min_len: int, step: str):
    """cc_net's `parse_warc_file` over one local file, its CPU added to `step`."""
    it = iter(process_wet_file.parse_warc_file(jsonql.open_read(path), min_len))
    while True:
        start = time.process_time()
        try:
            doc = next(it)
        except StopIteration:
            _add(step, time.process_time() - start)
            return
        doc["cc_segment"] = path.name
        _add(step, time.process_time() - start)
        if step == "parse_mine":
            READ.append((path.name, doc["url"]))
        COUNTS[f"{step}_docs"] = COUNTS.get(f"{step}_docs", 0) + 1
        yield doc


def timed(transformer, name: str):
    """Adds the CPU of the transformer's `do` (per document) and `_prepare` to `name`."""
    do = transformer.do

    def timed_do(doc):
        start = time.process_time()
        try:
            return do(doc)
        finally:
            _add(name, time.process_time() - start)

    transformer.do = timed_do
    if hasattr(transformer, "_prepare"):
        prepare = transformer._prepare

        def timed_prepare():
            start = time.process_time()
            try:
                return prepare()
            finally:
                _add(f"{name}_load", time.process_time() - start)

        transformer._prepare = timed_prepare
    return transformer


class KeptPages:
    """Last step: records what the pipeline kept (not timed as a cc_net step)."""

    def __init__(self) -> None:
        self.pages: list[dict] = []

    def __call__(self, docs):
        for doc in docs:
            if doc is None:
                continue
            self.pages.append(
                {
                    "file": doc["cc_segment"],
                    "url": doc["url"],
                    "bucket": doc["bucket"],
                    "language": doc["language"],
                    "perplexity": doc["perplexity"],
                    "text_sha1": hashlib.sha1(doc["raw_content"].encode("utf-8")).hexdigest(),
                }
            )
            yield doc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ccnet-src", required=True, help="folder holding the cc_net package")
    parser.add_argument("--out", required=True, help="work folder (hashes, mined files)")
    parser.add_argument("--result", required=True, help="where to write the JSON result")
    parser.add_argument("--lid-model", required=True)
    parser.add_argument("--lm-dir", required=True, help="holds <lang>.sp.model, <lang>.arpa.bin")
    parser.add_argument("--cutoff-csv", required=True)
    parser.add_argument("--group-size", type=int, default=50, help="cc_net's hash_in_mem")
    parser.add_argument("--lid-threshold", type=float, default=0.5, help="cc_net's default")
    parser.add_argument("--min-len", type=int, default=300)
    parser.add_argument("--lang", default="en")
    parser.add_argument("--keep-bucket", default="head,middle")
    parser.add_argument("wet", nargs="+")
    args = parser.parse_args()

    start_all = time.process_time()
    sys.path.insert(0, args.ccnet_src)
    from cc_net import dedup, jsonql, perplexity, process_wet_file, split_by_lang

    process_wet_file.parse_doc = parse_doc_by_name  # the documented shim (see module doc)
    _add("import", time.process_time() - start_all)

    out = Path(args.out)
    wets = [Path(p) for p in args.wet]
    hashes_dir = out / "hashes"
    hashes_dir.mkdir(parents=True, exist_ok=True)
    hash_files = []
    start = time.process_time()
    for i, wet in enumerate(wets):  # cc_net's hashes(): one _hashes_shard per shard
        hash_file = hashes_dir / f"{i:04d}.bin"
        collector = timed(dedup.HashesCollector(field="raw_content", output=hash_file), "hash")
        jsonql.run_pipes(
            collector,
            inputs=read_shard(process_wet_file, jsonql, wet, args.min_len, "parse_hashes"),
        )
        hash_files.append(hash_file)
    CPU["hashes_pass"] = time.process_time() - start

    lid_model = Path(args.lid_model)
    lm_dir = Path(args.lm_dir)
    langs = {args.lang}
    keep = set(args.keep_bucket.split(","))
    kept = KeptPages()
    start = time.process_time()
    for i, wet in enumerate(wets):  # cc_net's mine(): one _mine_shard per shard
        first = i - i % args.group_size
        group = hash_files[first : first + args.group_size]
        mined = out / "mined" / f"{i:04d}"
        steps = [
            timed(dedup.DuplicatesRemover(field="raw_content", hashes_files=group), "dedup"),
            timed(
                split_by_lang.Classifier(
                    model=lid_model,
                    field="raw_content",
                    out_field="language",
                    top=1,
                    threshold=args.lid_threshold,
                ),
                "lid",
            ),
            timed(jsonql.where([lambda doc: doc.get("language") in langs]), "keep_lang"),
            timed(
                perplexity.MultiSentencePiece(
                    {args.lang: lm_dir / f"{args.lang}.sp.model"},
                    field="raw_content",
                    output_field="tokenized",
                    normalize=True,
                ),
                "sp",
            ),
            timed(
                perplexity.DocLM(
                    {args.lang: lm_dir / f"{args.lang}.arpa.bin"},
                    field="tokenized",
                    output_field="perplexity",
                    normalize=False,
                ),
                "lm",
            ),
            timed(perplexity.PerplexityBucket(Path(args.cutoff_csv)), "pp_bucket"),
            timed(perplexity.DropKeys("tokenized"), "drop"),
            timed(jsonql.where([lambda doc: doc.get("bucket", "all") in keep]), "keep_bucket"),
            kept,
            timed(
                jsonql.split(pattern=str(mined / "{language}_{bucket}.json.gz"), mkdir=True),
                "write",
            ),
        ]
        jsonql.run_pipes(
            *steps,
            inputs=read_shard(process_wet_file, jsonql, wet, args.min_len, "parse_mine"),
            processes=1,
            chunksize=100,
        )
    CPU["mine_pass"] = time.process_time() - start
    CPU["total"] = time.process_time() - start_all
    Path(args.result).write_text(
        json.dumps({"cpu": CPU, "counts": COUNTS, "kept": kept.pages, "read": READ})
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
