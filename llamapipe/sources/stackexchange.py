"""The StackExchange source: the N largest sites -> one document per question.

Two stages, because choosing "the 28 largest sites" needs every site's size before any site is
processed, and counting is cheap next to processing:

1. ``ingest/stackexchange/sites`` (a shard per input): the site name and its size, written to
   ``sites/<index>.json``; posts are counted only when there are more sites than ``max_sites``.
2. ``ingest/stackexchange`` (a shard per selected site): its plan reads those sizes, keeps the
   ``max_sites`` largest, and each shard writes the site's documents.

A document is ``Q: <title>\\n<question>`` then ``A: <answer>`` per answer, answers ordered by
numeric score, highest first (ties by id), HTML turned into text with code blocks kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from llamapipe.config.removed import write_removed_for
from llamapipe.engine import ShardContext, ShardSpec, StageSpec
from llamapipe.engine.stage_config import StageConfig, added_key
from llamapipe.errors import InputError
from llamapipe.filters import Filter
from llamapipe.formats.documents import Document
from llamapipe.formats.inputs import expand_globs
from llamapipe.formats.stackexchange import (
    POSTS_FILE,
    Post,
    Thread,
    archive_posts_size,
    count_rows,
    find_posts_file,
    iter_posts,
    iter_threads,
    open_posts,
    site_name,
)
from llamapipe.io import is_remote, size_of
from llamapipe.text.html_to_text import html_to_text

if TYPE_CHECKING:
    from llamapipe.config import PipelineConfig

SITES_STAGE = "ingest/stackexchange/sites"
STAGE_NAME = "ingest/stackexchange"
SOURCE = "stackexchange"


@dataclass(frozen=True)
class SitesStageConfig(StageConfig):
    """What ``ingest/stackexchange/sites`` reads: how sites are sized."""

    rank_by: str
    max_extract_bytes: int
    work_dir: str
    max_sites: int


@dataclass(frozen=True)
class ThreadsStageConfig(StageConfig):
    """What ``ingest/stackexchange`` reads (``rank_by``/``max_sites`` pick its shards)."""

    max_sites: int
    rank_by: str
    include_unanswered: bool
    work_dir: str
    max_extract_bytes: int
    write_removed: bool = added_key()


class Unanswered:
    """A question nobody answered (kept unless ``include_unanswered = false``)."""

    name = "unanswered"

    def check(self, doc: Document) -> str | None:
        return "unanswered" if not doc.meta["answer_scores"] else None


class EmptyQuestion:
    """A question with neither title nor body (``thread_document`` wrote only "Q:")."""

    name = "empty"

    def check(self, doc: Document) -> str | None:
        return "empty" if doc.text.partition("\n\n")[0] == "Q:" else None


def thread_filters(cfg: ThreadsStageConfig) -> list[Filter]:
    """The rules a thread passes, in order (add a rule here: README "Add a filter")."""
    filters: list[Filter] = [] if cfg.include_unanswered else [Unanswered()]
    return [*filters, EmptyQuestion()]


def list_site_inputs(inputs: list[str]) -> list[str]:
    """Expand inputs into one entry per site: a .7z, a Posts.xml file, or a site folder."""
    found: dict[str, None] = {}
    for match in expand_globs(inputs):
        if is_remote(match):  # an object: a .7z or a Posts.xml (remote folders: use a glob)
            found.setdefault(match, None)
            continue
        path = Path(match)
        if not path.is_dir() or (path / POSTS_FILE).is_file():
            found.setdefault(str(path), None)
            continue
        for child in sorted(path.iterdir()):
            is_site_dir = child.is_dir() and (child / POSTS_FILE).is_file()
            is_posts = child.is_file() and child.name.lower().endswith(("posts.xml", ".7z"))
            if is_site_dir or is_posts:
                found.setdefault(str(child), None)
    return list(found)


def measure_site(ctx: ShardContext) -> None:
    """Stage 1 shard: how big is this site (posts, or bytes of Posts.xml)."""
    path = ctx.shard.inputs[0]
    record = {"input": path, "site": site_name(path), "posts": None, "bytes": None}
    try:
        if path.lower().endswith(".7z"):
            record["bytes"] = archive_posts_size(path)
        else:
            record["bytes"] = size_of(find_posts_file(path))
        if ctx.shard.params["count_posts"]:
            with open_posts(path, _work_dir(ctx), ctx.config.max_extract_bytes) as xml:
                record["posts"] = count_rows(xml)
    except InputError as exc:
        ctx.counters.error(path, None, str(exc).removeprefix(f"{path}: "))
        return
    ctx.counters.add("sites")
    ctx.output(f"sites/{ctx.shard.name}.json").write_text(json.dumps(record), encoding="utf-8")


def select_sites(records: list[dict[str, object]], max_sites: int, rank_by: str) -> list[dict]:
    """The ``max_sites`` largest sites, one entry per site name, largest first (ties by name)."""
    by_site: dict[str, dict] = {}
    for record in records:
        by_site.setdefault(str(record["site"]), record)  # records come in input order

    def size(record: dict) -> int:
        value = record["posts"] if rank_by == "posts" else record["bytes"]
        return int(value if value is not None else record["bytes"] or 0)

    ranked = sorted(by_site.values(), key=lambda r: (-size(r), str(r["site"])))
    return ranked[:max_sites]


def process_site(ctx: ShardContext) -> None:
    """Stage 2 shard: every question thread of one site as a document."""
    path = ctx.shard.inputs[0]
    site = ctx.shard.params["site"]

    def on_error(record: str | None, message: str) -> None:
        ctx.counters.error(path, record, message)

    try:
        with (
            ctx.filter_runner(thread_filters(ctx.config)) as runner,
            open_posts(path, _work_dir(ctx), ctx.config.max_extract_bytes) as xml,
        ):

            def on_orphan(post: Post) -> None:
                orphan = Document(
                    f"{SOURCE}/{site}/{post.id}",
                    post.body,
                    SOURCE,
                    {"site": site, "post_id": post.id, "parent_id": post.parent_id},
                )
                runner.reject(orphan, "thread", "answer_without_question")

            ctx.counters.add("bytes_in", size_of(xml))
            posts = _counted(iter_posts(xml, on_error=on_error), ctx)
            with ctx.document_writer() as writer:
                for thread in iter_threads(posts, _work_dir(ctx), on_orphan=on_orphan):
                    ctx.counters.add("docs_in")
                    doc = thread_document(site, thread)
                    if runner.keep(doc):
                        writer.write(doc)
    except InputError as exc:
        if ctx.strict:  # already a one-line error naming the file (and record)
            raise
        ctx.counters.error(path, None, str(exc).removeprefix(f"{path}: "))


def _counted(posts: Iterable[Post], ctx: ShardContext) -> Iterator[Post]:
    for post in posts:
        ctx.counters.add("posts_in")
        yield post


def thread_document(site: str, thread: Thread) -> Document:
    """``Q: title\\nbody`` then ``A: answer`` per answer (already sorted by score); a question
    with neither title nor body gives ``Q:`` alone (the ``empty`` rule drops it)."""
    question = thread.question
    body = html_to_text(question.body)
    title = question.title.strip()
    parts = [f"Q: {title}\n{body}".rstrip()]
    for answer in thread.answers:
        text = html_to_text(answer.body)
        if text:
            parts.append(f"A: {text}")
    meta: dict[str, object] = {
        "site": site,
        "question_id": question.id,
        "url": f"https://{site}/questions/{question.id}",
        "score": question.score,
        "answer_scores": [a.score for a in thread.answers],
        "tags": question.tags,
        "created": question.creation_date,
    }
    if question.content_license:
        meta["license"] = question.content_license
    return Document(
        id=f"{SOURCE}/{site}/{question.id}",
        text="\n\n".join(parts),
        source=SOURCE,
        meta=meta,
    )


def _work_dir(ctx: ShardContext) -> str:
    """Where archives are copied and extracted: the configured folder, else beside the shard's
    temp folder in the run dir (never $TMPDIR, which may be small or node-local)."""
    folder = Path(ctx.config.work_dir or ctx.tmp_dir.parent / f"{ctx.tmp_dir.name}.work")
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder)


def build_stages(cfg: PipelineConfig) -> list[StageSpec]:
    section = cfg.sources.stackexchange
    config = ThreadsStageConfig.from_section(
        section, write_removed=write_removed_for(cfg, "stackexchange")
    )
    inputs = list(section.inputs)
    sites_dir = cfg.run_dir / SITES_STAGE / "sites"

    def plan_sizes() -> list[ShardSpec]:
        sites = list_site_inputs(inputs)
        count = section.rank_by == "posts" and len(sites) > section.max_sites
        return [
            ShardSpec(index=i, inputs=(path,), params={"count_posts": count})
            for i, path in enumerate(sites)
        ]

    def plan_sites() -> list[ShardSpec]:
        records = [
            json.loads(p.read_text(encoding="utf-8")) for p in sorted(sites_dir.glob("*.json"))
        ]
        chosen = select_sites(records, section.max_sites, section.rank_by)
        chosen.sort(key=lambda r: str(r["site"]))  # stable shard numbering by site name
        return [
            ShardSpec(index=i, inputs=(str(r["input"]),), params={"site": r["site"]})
            for i, r in enumerate(chosen)
        ]

    return [
        StageSpec(
            name=SITES_STAGE,
            config=SitesStageConfig.from_section(section),
            plan=plan_sizes,
            process=measure_site,
            description="size of each StackExchange site (to pick the largest)",
        ),
        StageSpec(
            name=STAGE_NAME,
            config=config,
            plan=plan_sites,
            process=process_site,
            upstream=[SITES_STAGE],
            description="StackExchange questions with answers by score -> documents",
        ),
    ]
