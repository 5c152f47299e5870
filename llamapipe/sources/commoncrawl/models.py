"""The `ccnet-models` stage: per-language SentencePiece + 5-gram KenLM and perplexity cutoffs.

Models are trained on the Wikipedia source's articles of that language, normalized line by line
as CCNet does (or taken from a folder of cc_net's own `<lang>.sp.model` / `<lang>.arpa.bin`).
Cutoffs are given in the config or computed as percentiles (CCNet: p30, p60) of the perplexity
of a sample of crawl pages that went through the same dedup and language id as the filter stage.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llamapipe.engine import ShardContext
from llamapipe.formats.documents import read_documents
from llamapipe.sources.commoncrawl.documents import dedup_and_identify, iter_pages
from llamapipe.sources.commoncrawl.groups import HASHES_STAGE, cache_path, load_group, wet_plan
from llamapipe.sources.commoncrawl.stage_configs import ModelsConfig, ModelsLMConfig
from llamapipe.text.ccnet_normalize import normalize_lines_for_lm
from llamapipe.text.kenlm_tools import build_binary, train_arpa
from llamapipe.text.langid import LanguageIdentifier
from llamapipe.text.perplexity import PerplexityScorer, percentile_cutoffs

MODELS_STAGE = "ccnet-models"
WIKIPEDIA_STAGE = "ingest/wikipedia"


@dataclass
class LanguageModel:
    """What the filter stage needs for one language."""

    language: str
    scorer: PerplexityScorer
    cutoffs: tuple[float, float]


def model_info_path(models_dir: Path, language: str) -> Path:
    return models_dir / f"{language}.json"


_loaded: dict[tuple[str, tuple[str, ...]], dict[str, LanguageModel]] = {}


def load_language_models(models_dir: Path, languages: list[str]) -> dict[str, LanguageModel]:
    """The models and cutoffs the `ccnet-models` stage recorded, loaded once per process."""
    key = (str(models_dir), tuple(languages))
    if key in _loaded:
        return _loaded[key]
    models = {}
    for lang in languages:
        info_path = model_info_path(models_dir, lang)
        if not info_path.is_file():
            raise FileNotFoundError(f"{info_path}: no LM for language '{lang}' in {models_dir}")
        info = json.loads(info_path.read_text(encoding="utf-8"))
        sp = Path(info["sp_model"])
        lm = Path(info["lm_model"])
        models[lang] = LanguageModel(
            language=lang,
            scorer=PerplexityScorer(
                sp if sp.is_absolute() else models_dir / sp,
                lm if lm.is_absolute() else models_dir / lm,
                # recorded by the stage; model dirs from before the option scored by line
                unit=info.get("perplexity_unit", "line"),
            ),
            cutoffs=(float(info["cutoffs"][0]), float(info["cutoffs"][1])),
        )
    _loaded[key] = models
    return models


def wikipedia_texts(wiki_dir: Path, language: str, limit: int | None) -> Iterator[str]:
    """Texts of the Wikipedia stage's articles in `language`, in shard order."""
    n = 0
    for shard in sorted((wiki_dir / "shards").glob("*.parquet")):
        for doc in read_documents(shard):
            if doc.meta.get("language") != language:
                continue
            yield doc.text
            n += 1
            if limit is not None and n >= limit:
                return


def write_training_corpus(texts: Iterator[str], path: Path) -> int:
    """CCNet-normalized non-empty lines, one per line; returns the line count."""
    count = 0
    with open(path, "w", encoding="utf-8") as fh:
        for text in texts:
            for normalized in normalize_lines_for_lm(text.split("\n")):
                if normalized:
                    fh.write(normalized + "\n")
                    count += 1
    return count


def train_sentencepiece(corpus: Path, model_prefix: Path, vocab_size: int, seed: int) -> Path:
    """Unigram SentencePiece on the normalized corpus; the vocabulary shrinks to what a small
    corpus supports instead of failing (hard_vocab_limit=False)."""
    import sentencepiece as spm

    spm.set_random_generator_seed(seed)
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(model_prefix),
        vocab_size=vocab_size,
        model_type="unigram",
        character_coverage=0.9999,
        hard_vocab_limit=False,
        input_sentence_size=2_000_000,
        shuffle_input_sentence=True,
        num_threads=1,
        minloglevel=2,
    )
    return Path(f"{model_prefix}.model")


def _tokenized_corpus(corpus: Path, sp_model: Path) -> Iterator[str]:
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(sp_model))
    with open(corpus, encoding="utf-8") as fh:
        batch: list[str] = []
        for line in fh:
            batch.append(line.rstrip("\n"))
            if len(batch) >= 4096:
                for pieces in sp.encode(batch, out_type=str):
                    yield " ".join(pieces)
                batch = []
        for pieces in sp.encode(batch, out_type=str):
            yield " ".join(pieces)


def train_language_model(
    ctx: ShardContext, language: str, lm_cfg: ModelsLMConfig
) -> tuple[Path, Path, int]:
    """SentencePiece + KenLM for `language` from the Wikipedia stage; paths in the shard output."""
    wiki_dir = ctx.upstream_dir(WIKIPEDIA_STAGE)
    work = ctx.output(f"_work_{language}/corpus.txt")
    n_lines = write_training_corpus(
        wikipedia_texts(wiki_dir, language, lm_cfg.max_train_docs), work
    )
    if n_lines == 0:
        raise ValueError(
            f"{wiki_dir}: no Wikipedia article in language '{language}' to train its LM on; "
            f"add a {language} dump to sources.wikipedia or set sources.commoncrawl.lm.models_dir"
        )
    sp_model = train_sentencepiece(
        work, ctx.output(f"{language}.sp"), lm_cfg.sp_vocab_size, ctx.seed
    )
    arpa = work.parent / f"{language}.arpa"
    train_arpa(
        _tokenized_corpus(work, sp_model),
        arpa,
        order=lm_cfg.order,
        memory=lm_cfg.lmplz_memory,
        tmp_dir=work.parent,
    )
    binary = build_binary(arpa, ctx.output(f"{language}.arpa.bin"))
    shutil.rmtree(work.parent)
    return sp_model, binary, n_lines


def sample_perplexities(
    ctx: ShardContext, language: str, scorer: PerplexityScorer, limit: int
) -> list[float]:
    """Perplexities of the first `limit` crawl pages identified as `language` after dedup, with
    an LID score of at least the config's `lid_threshold` (`lm.cutoff_lid_threshold`)."""
    cfg: ModelsConfig = ctx.config
    lid = LanguageIdentifier(cfg.lid_model)
    hashes_dir = ctx.upstream_dir(HASHES_STAGE)
    values: list[float] = []

    def ignore(*_args: object) -> None:
        return None

    for shard in wet_plan(cfg):
        group = load_group(hashes_dir, shard.params["group"])
        for page in iter_pages(
            shard.inputs[0], cfg.min_length, ignore, ignore, cache_path(cfg), cfg.retries
        ):
            kept = dedup_and_identify(page, group, lid, {language}, cfg.lid_threshold)
            if kept is None:
                continue
            values.append(scorer.perplexity(kept.text))
            if len(values) >= limit:
                return values
    return values


def process_models(ctx: ShardContext) -> None:
    """One shard per language: models (trained or supplied) and cutoffs -> `<lang>.json`."""
    language = ctx.shard.params["language"]
    lm_cfg: ModelsLMConfig = ctx.config.lm
    unit = lm_cfg.perplexity_unit
    info: dict[str, Any] = {"language": language, "perplexity_unit": unit}
    if lm_cfg.models_dir:
        supplied = Path(lm_cfg.models_dir)
        sp_model = supplied / f"{language}.sp.model"
        lm_model = supplied / f"{language}.arpa.bin"
        for path in (sp_model, lm_model):
            if not path.is_file():
                raise FileNotFoundError(f"{path}: supplied cc_net model missing for '{language}'")
        info.update(
            sp_model=str(sp_model.resolve()), lm_model=str(lm_model.resolve()), trained=False
        )
        scorer = PerplexityScorer(sp_model, lm_model, unit)
    else:
        sp_model, lm_model, n_lines = train_language_model(ctx, language, lm_cfg)
        info.update(
            sp_model=sp_model.name, lm_model=lm_model.name, trained=True, train_lines=n_lines
        )
        ctx.counters.add(f"train_lines_{language}", n_lines)
        scorer = PerplexityScorer(sp_model, lm_model, unit)

    given = (lm_cfg.cutoffs or {}).get(language)
    if given is not None:
        info.update(cutoffs=[float(given[0]), float(given[1])], cutoffs_from="config")
    else:
        values = sample_perplexities(ctx, language, scorer, lm_cfg.cutoff_sample_docs)
        if not values:
            raise ValueError(
                f"no crawl page identified as '{language}' to compute perplexity cutoffs from; "
                f"set sources.commoncrawl.lm.cutoffs.{language}"
            )
        cutoffs = percentile_cutoffs(values, tuple(lm_cfg.percentiles))
        info.update(
            cutoffs=list(cutoffs),
            cutoffs_from="sample",
            sample_docs=len(values),
            percentiles=list(lm_cfg.percentiles),
        )
        ctx.counters.add(f"cutoff_sample_docs_{language}", len(values))
    model_info_path(ctx.output("."), language).write_text(
        json.dumps(info, indent=2, sort_keys=True), encoding="utf-8"
    )
