"""Fixtures for the training tests: real offline weights, tiny data written by the tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# On a 2-core machine shared with other processes, OpenMP threads that spin-wait for a busy core
# made small CPU matmuls ~30x slower (measured: a 4-example SmolLM2 LoRA step took 30 s instead
# of 1 s). Passive waiting avoids it; it only takes effect if torch is not imported yet.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from tests.train.helpers import classification_table  # noqa: E402


@pytest.fixture(scope="session")
def cls_splits():
    """(train, validation, test): 60 / 18 / 18 texts of 3 labels."""
    return classification_table(60, seed=0), classification_table(18, seed=1), classification_table(18, seed=2)


@pytest.fixture(scope="session")
def smol_tokenizer():
    """SmolLM2's tokenizer (chat template included), from the converted cache (converting once if needed)."""
    from transformers import AutoTokenizer

    from pipeline.train.models import ensure_smollm2

    return AutoTokenizer.from_pretrained(ensure_smollm2())


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory, smol_tokenizer) -> Path:
    """A randomly initialised 2-layer Llama with SmolLM2's tokenizer, saved as a local model folder."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(smol_tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         tie_word_embeddings=True, bos_token_id=smol_tokenizer.bos_token_id,
                         eos_token_id=smol_tokenizer.eos_token_id, pad_token_id=smol_tokenizer.pad_token_id)
    path = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(config).save_pretrained(path)
    smol_tokenizer.save_pretrained(path)
    return path
