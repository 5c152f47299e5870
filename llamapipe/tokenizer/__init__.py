"""SentencePiece BPE tokenizer training and parallel encoding into token shards.

- ``model``: loading a trained model and the special-token ids every consumer relies on;
- ``train``: training on a sample of the mixture;
- ``encode``: documents -> token ids, in batches;
- ``layout``: where each artifact lives in the run directory;
- ``stages``: the engine stages (index, tokenizer, per-source encode, held-out copy, blend).
"""
