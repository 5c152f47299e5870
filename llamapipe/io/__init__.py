"""One I/O layer for every reader: local paths, globs, http(s)://, s3://, gs://, hf://.

- `open_input(ref)`: a binary stream (remote: streamed with retries, resume and length/digest
  checks; `decompress_by_name=True` for .gz/.bz2/.xz/.zst).
- `expand_inputs(refs)`: globs, folders and prefixes -> an ordered list of input references.
- `fetch_cached(ref, cache_dir)`: a verified local copy (for formats that must seek a lot).
- `local_copy(ref, folder)`: a remote input spooled to a temporary local file, deleted after.
"""

from llamapipe.io.cache import fetch_cached
from llamapipe.io.listing import expand_globs, expand_inputs
from llamapipe.io.open import decompress, open_input, open_raw, size_of
from llamapipe.io.refs import as_path, check_scheme, is_remote, normalize, ref_name
from llamapipe.io.retry import RetryPolicy
from llamapipe.io.spool import local_copy

__all__ = [
    "RetryPolicy",
    "as_path",
    "check_scheme",
    "decompress",
    "expand_globs",
    "expand_inputs",
    "fetch_cached",
    "is_remote",
    "local_copy",
    "normalize",
    "open_input",
    "open_raw",
    "ref_name",
    "size_of",
]
