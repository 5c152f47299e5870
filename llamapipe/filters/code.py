"""The GitHub file rules as filters: one class per rule, in the order the source lists them.

The rules themselves (license expressions, the extension whitelist, vendored/generated files,
line statistics, header stripping) are text/code_filters.py; these classes give each one a
name and a reason. `CodeStats` and `StripHeader` never remove: they add the quality scores to
``meta`` (the attributes the decision step cuts on) and rewrite the text.
"""

from __future__ import annotations

from llamapipe.filters.base import ThresholdFilter
from llamapipe.formats.documents import Document
from llamapipe.text.code_filters import (
    code_stats,
    is_permissive_license,
    looks_binary,
    strip_license_header,
    vendored_or_generated,
)

#: The unrounded quality scores kept per file (the rounded ones in meta are for reading):
#: the decision step compares these, so a cut gives exactly what a comparison of the freshly
#: computed statistic gives. (meta key, CodeStats field)
EXACT_SCORES = (
    ("mean_line_length_exact", "mean_line_length"),
    ("alnum_fraction_exact", "alnum_fraction"),
    ("alpha_per_token_exact", "alpha_per_token"),
)


class PermissiveLicense:
    name = "license"

    def __init__(self, allowed: frozenset[str]) -> None:
        self.allowed = allowed

    def check(self, doc: Document) -> str | None:
        return None if is_permissive_license(doc.meta["license"], self.allowed) else "license"


class NotBinary:
    name = "binary"

    def check(self, doc: Document) -> str | None:
        return "binary" if looks_binary(doc.text) else None


class VendoredOrGenerated:
    """Dependencies, lock, minified and generated files (reason: which of them)."""

    name = "vendored"

    def check(self, doc: Document) -> str | None:
        return vendored_or_generated(doc.meta["path"], doc.text)


class KnownExtension:
    """Only files whose name is on the source-extension whitelist (``meta["language"]``)."""

    name = "extension"

    def check(self, doc: Document) -> str | None:
        return "extension" if doc.meta["language"] is None else None


class CodeStats:
    """Adds the line and character statistics of the file as read (never removes)."""

    name = "code_stats"

    def check(self, doc: Document) -> None:
        stats = code_stats(doc.text)
        doc.meta.update(stats.as_meta())
        for key, field in EXACT_SCORES:
            doc.meta[key] = getattr(stats, field)


class StripHeader:
    """Removes license/copyright comment blocks at the top (``meta["header_stripped"]``); a
    file that was only a header is left empty, for the ``only_header`` rule downstream."""

    name = "strip_header"

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def check(self, doc: Document) -> None:
        stripped = False
        if self.enabled:
            doc.text, stripped = strip_license_header(doc.text, doc.meta["language"])
        doc.meta["header_stripped"] = stripped


def quality_filters(
    max_line_length: float,
    max_mean_line_length: float,
    min_alnum_fraction: float,
    min_alpha_per_token: float,
) -> list[ThresholdFilter]:
    """The four quality cuts on the stored scores, in the order the rules always ran, each
    removing only beyond its limit (a file at exactly the limit is kept)."""
    return [
        ThresholdFilter(
            "max_line_length", "max_line_length", max_line_length, False, "max_line_length"
        ),
        ThresholdFilter(
            "mean_line_length",
            "mean_line_length_exact",
            max_mean_line_length,
            False,
            "mean_line_length",
        ),
        ThresholdFilter(
            "alnum_fraction", "alnum_fraction_exact", min_alnum_fraction, True, "alnum_fraction"
        ),
        ThresholdFilter(
            "alpha_per_token", "alpha_per_token_exact", min_alpha_per_token, True, "alpha_per_token"
        ),
    ]
