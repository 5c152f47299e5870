"""Mixing the sources to the Table 1 proportions of training tokens.

- ``selection``: per-document keys, the held-out validation split and cross-source dedup;
- ``plan``: the token budget per source, epochs, which documents are drawn, the blended order;
- ``stats``: the ``llamapipe data stats`` table next to the paper's Table 1.
"""
