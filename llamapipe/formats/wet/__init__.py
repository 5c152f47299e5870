"""Common Crawl WET reading: inputs (files, globs, wet.paths lists, URLs) -> CCNet records.

One job per module:

- `listing.py`: user inputs -> an ordered list of WET files or URLs (`expand_inputs`), and each
  file's `cc_segment` name.
- `download.py`: a remote WET file as a verified cached copy or a seekable stream.
- `records.py`: the `WetRecord` type, the skip reasons, and one WARC record's headers and
  payload -> a record cut into lines as CCNet cuts them (`payload_lines`).
- `parse.py`: one file -> its records (`read_wet`), gzip through fastwarc, plain text through a
  lenient line reader, with every bad record counted and skipped.

Headers are read BY NAME. cc_net read them by position, which broke when newer dumps inserted
`WARC-Identified-Content-Language` before Content-Type/Content-Length.

WARC files are read too, record by record (a directory may mix WET and WARC files): a
`conversion` record is WET text; an HTML `response` record is first turned into the same text
by formats/warc_html.py (main-content extraction); every other record type is counted by type
(`skipped_record_type:<type>`) and skipped. A file that yields no record at all is reported
(`no_usable_record`), so that a wrong input never ends as a silent zero-document shard.
Bad input never stops a file: it is reported through the `on_skip(reason, detail)` callback
and skipped.
"""

from llamapipe.formats.wet.download import download
from llamapipe.formats.wet.listing import expand_inputs, segment_name
from llamapipe.formats.wet.parse import read_wet
from llamapipe.formats.wet.records import (
    SKIP_EMPTY_FILE,
    SKIP_NO_URI,
    SKIP_NO_USABLE_RECORD,
    SKIP_NON_UTF8,
    SKIP_TRUNCATED,
    WetRecord,
    is_normal_skip,
    payload_lines,
)

__all__ = [
    "SKIP_EMPTY_FILE",
    "SKIP_NON_UTF8",
    "SKIP_NO_URI",
    "SKIP_NO_USABLE_RECORD",
    "SKIP_TRUNCATED",
    "WetRecord",
    "download",
    "expand_inputs",
    "is_normal_skip",
    "payload_lines",
    "read_wet",
    "segment_name",
]
