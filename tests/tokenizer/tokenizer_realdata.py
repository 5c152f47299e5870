"""Small per-source document sets read from ../shared/realdata, and engine stages that write them
as ``ingest/<source>`` shards, so the tokenizer stages run on real text exactly as in a run.

These are deliberately simple readers (the real ingestion lives in llamapipe.sources); the test
only needs real text of each kind with ids, sources and, for the crawls, URLs.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import re
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

from llamapipe.config.mix import MixConfig
from llamapipe.config.tokenizer import TokenizerConfig
from llamapipe.engine import ShardContext, ShardSpec, StageSpec, run_stage
from llamapipe.formats.documents import Document

#: Documents per ingest shard in the test runs.
DOCS_PER_SHARD = 60


def commoncrawl_docs(root: Path, limit: int) -> list[Document]:
    from warcio.archiveiterator import ArchiveIterator

    docs = []
    for path in sorted((root / "commoncrawl").glob("CC-MAIN-2019-30-sample-*.warc.wet.gz")):
        with open(path, "rb") as f:
            for record in ArchiveIterator(f):
                if record.rec_type != "conversion":
                    continue
                text = record.content_stream().read().decode("utf-8", errors="replace")
                url = record.rec_headers.get_header("WARC-Target-URI")
                if len(text) < 200:
                    continue
                docs.append(Document(f"commoncrawl/{len(docs)}", text, "commoncrawl", {"url": url}))
                if len(docs) >= limit:
                    return docs
    return docs


def c4_docs(root: Path, limit: int) -> list[Document]:
    docs = []
    with gzip.open(root / "c4" / "olmo_c4-sample.00000-of-00001.json.gz", "rt") as f:
        for line in f:
            row = json.loads(line)
            docs.append(Document(f"c4/{len(docs)}", row["text"], "c4", {"url": row["url"]}))
            if len(docs) >= limit:
                break
    return docs


def github_docs(root: Path, limit: int) -> list[Document]:
    docs = []
    with gzip.open(root / "github" / "github_files_sample.jsonl.gz", "rt") as f:
        for line in f:
            row = json.loads(line)
            if len(row["content"]) > 20_000 or not row["content"].strip():
                continue
            meta = {"repo": row["repo_name"], "path": row["path"]}
            docs.append(Document(f"github/{len(docs)}", row["content"], "github", meta))
            if len(docs) >= limit:
                break
    return docs


def wikipedia_docs(root: Path, limit: int) -> list[Document]:
    path = (
        root
        / "wikipedia"
        / ("gensim_enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.xml.bz2")
    )
    docs = []
    title = ""
    with bz2.open(path) as f:
        for _, elem in ET.iterparse(f):
            tag = elem.tag.rsplit("}", 1)[-1]
            if tag == "title":
                title = elem.text or ""
            elif tag == "text":
                text = elem.text or ""
                if text and not text.lower().startswith("#redirect"):
                    text = text[:8000]  # keep the test corpus small
                    docs.append(
                        Document(f"wikipedia/{len(docs)}", text, "wikipedia", {"title": title})
                    )
                    if len(docs) >= limit:
                        break
            elem.clear()
    return docs


def books_docs(root: Path, limit: int, lines_per_doc: int = 120) -> list[Document]:
    docs = []
    for path in sorted((root / "books").glob("pg*.txt")):
        lines = path.read_text(encoding="utf-8-sig").replace("\r\n", "\n").split("\n")
        for start in range(0, len(lines), lines_per_doc):
            text = "\n".join(lines[start : start + lines_per_doc])
            if text.strip():
                meta = {"title": path.stem, "input": f"{path.name}@{start}"}
                docs.append(Document(f"books/{len(docs)}", text, "books", meta))
            if len(docs) >= limit:
                return docs
    return docs


def arxiv_docs(root: Path, limit: int) -> list[Document]:
    docs = []
    for path in sorted((root / "arxiv").glob("*.tar.gz")):
        with tarfile.open(path) as tar:
            for member in tar.getmembers():
                if not member.name.endswith(".tex"):
                    continue
                tex = tar.extractfile(member).read().decode("utf-8", errors="replace")
                for part in re.split(r"(?=\\section\{)", tex):
                    if part.strip():
                        meta = {"paper_id": path.name, "main_file": member.name}
                        docs.append(Document(f"arxiv/{len(docs)}", part, "arxiv", meta))
    return docs[:limit]


def stackexchange_docs(root: Path, limit: int) -> list[Document]:
    docs = []
    data = (root / "stackexchange" / "coffee.stackexchange.com_Posts.xml").read_bytes()
    for _, elem in ET.iterparse(io.BytesIO(data)):
        if elem.tag != "row":
            continue
        body = re.sub(r"<[^>]+>", "", elem.get("Body", ""))
        text = (elem.get("Title", "") + "\n" + body).strip()
        if text:
            docs.append(Document(f"stackexchange/{elem.get('Id')}", text, "stackexchange", {}))
        if len(docs) >= limit:
            break
    return docs


READERS = {
    "commoncrawl": commoncrawl_docs,
    "c4": c4_docs,
    "github": github_docs,
    "wikipedia": wikipedia_docs,
    "books": books_docs,
    "arxiv": arxiv_docs,
    "stackexchange": stackexchange_docs,
}


def write_source_docs(ctx: ShardContext) -> None:
    """Ingest-stage shard function: copy the JSON documents of its input into a shard."""
    with ctx.document_writer() as writer:
        for line in Path(ctx.shard.inputs[0]).read_text(encoding="utf-8").split("\n"):
            if not line:
                continue
            row = json.loads(line)
            writer.write(Document(row["id"], row["text"], row["source"], row["meta"]))


def build_ingest(run_dir: Path, source: str, docs: list[Document], per_shard: int) -> None:
    """Run a real engine stage ``ingest/<source>`` that writes ``docs`` as document shards."""
    staging = run_dir.parent / f"{run_dir.name}-staging" / source
    staging.mkdir(parents=True, exist_ok=True)
    inputs = []
    for i in range(0, len(docs), per_shard):
        path = staging / f"{i // per_shard:05d}.jsonl"
        with open(path, "w", encoding="utf-8") as f:
            for doc in docs[i : i + per_shard]:
                row = {"id": doc.id, "text": doc.text, "source": doc.source, "meta": doc.meta}
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        inputs.append(str(path))
    spec = StageSpec(
        name=f"ingest/{source}",
        config={"test": True},
        plan=lambda: [ShardSpec(index=i, inputs=(p,)) for i, p in enumerate(inputs)],
        process=write_source_docs,
    )
    run_stage(spec, run_dir, executor="inprocess")


#: Documents read per source: enough for every stage to have several shards, small enough to
#: keep the whole area under its time budget.
LIMITS = {
    "commoncrawl": 240,
    "c4": 300,
    "github": 160,
    "wikipedia": 40,
    "books": 120,
    "arxiv": 40,
    "stackexchange": 240,
}
SEED = 7


def small_tokenizer_config(**overrides) -> TokenizerConfig:
    values = {"vocab_size": 4000, "sample_bytes": 1_200_000, "num_threads": 2}
    values.update(overrides)
    return TokenizerConfig(**values)


def small_mix_config(**overrides) -> MixConfig:
    values = {"valid_fraction": 0.05, "valid_min_documents": 2, "tokens_per_train_shard": 150_000}
    values.update(overrides)
    return MixConfig(**values)


def make_ingest(run_dir: Path, realdata: Path, per_shard: int = 50) -> dict:
    docs = {name: reader(realdata, LIMITS[name]) for name, reader in READERS.items()}
    # C4 and CommonCrawl come from the same crawl: give one C4 page the URL of a CommonCrawl
    # page (http vs https, trailing slash) so cross-source dedup has a real case to find.
    cc_url = docs["commoncrawl"][3].meta["url"]
    twin = docs["c4"][5]
    twin.meta["url"] = cc_url.replace("http://", "https://").rstrip("/") + "/"
    for name, source_docs in docs.items():
        build_ingest(run_dir, name, source_docs, per_shard)
    return docs
