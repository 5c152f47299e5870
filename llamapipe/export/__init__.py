"""Hugging Face interoperability: ``export_hf`` / ``write_hf_model`` write a LlamaForCausalLM
directory (config, safetensors, tokenizer, generation config) from our checkpoints;
``import_hf`` turns such a directory back into a llamapipe checkpoint; ``run_export(cfg)`` is the
idempotent step ``llamapipe run`` calls.
"""
