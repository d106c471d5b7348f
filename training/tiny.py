"""A tiny causal LM + tokenizer built locally, for tests, the bench and the demo (nothing is downloaded).

    .venv/bin/python -m training.tiny var/tiny-model

A 2-layer Qwen2 (hidden size 64, ~100k parameters) with a byte-level BPE tokenizer trained on a
small built-in corpus, wrapped in ``PreTrainedTokenizerFast`` with the ChatML chat template (with
``{% generation %}`` blocks, so TRL's ``assistant_only_loss`` works too). Byte-level BPE covers any
input text, so release rows never hit an unknown token. Deterministic for a given seed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from training.config import CHATML_TEMPLATE

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

# Enough varied text for the BPE trainer to learn merges for chat roles, JSON punctuation and the
# vocabulary of the factory releases; the exact words do not matter beyond that.
_CORPUS = [
    "system user assistant tool",
    "You are a helpful support assistant. Answer briefly and return JSON when asked.",
    '{"order_id": "A-1001", "status": "shipped", "items": 2, "refund": false}',
    '{"intent": "refund", "priority": "high", "language": "en"}',
    "I'm sorry, but I can't help with that request. I cannot share personal data.",
    "Where is my order? It was supposed to arrive yesterday. Please check the status.",
    "Extract the order id and status from the message and answer in JSON.",
    "Summarise the customer's problem in one sentence.",
    "What is the capital of France? Paris is the capital of France.",
    "Translate 'good morning' into German: Guten Morgen.",
    "The quick brown fox jumps over the lazy dog 0123456789 times.",
    "Please reset my password, my account email is user@example.com.",
    "Refund requests are accepted within 30 days of delivery.",
]


def build_tiny_model(out_dir: Path | str, *, seed: int = 0, vocab_size: int = 512, chat: bool = True) -> Path:
    """Write a tiny Qwen2 model and its tokenizer to ``out_dir`` (created) and return the path.

    ``chat=False`` gives a "base model" tokenizer: no chat template and no ChatML markers, the case
    where training sets the configured template and adds the markers as new tokens.
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    special = SPECIAL_TOKENS if chat else SPECIAL_TOKENS[:1]
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(_CORPUS * 4, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token="<|im_end|>" if chat else "<|endoftext|>",
        pad_token="<|endoftext|>",  # noqa: S106 (a token, not a password)
        bos_token=None,
        additional_special_tokens=["<|im_start|>"] if chat else [],
    )
    if chat:
        tokenizer.chat_template = CHATML_TEMPLATE
    tokenizer.save_pretrained(out)

    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
    )
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out)
    return out


if __name__ == "__main__":
    print(build_tiny_model(sys.argv[1] if len(sys.argv) > 1 else "var/tiny-model"))
