"""Benchmarks del capítulo de tokenización, con Hugging Face `tokenizers` medido en la misma ejecución.

Uso: TRANSFORMER_COURSE_DATA=../shared/data python bench/tokenization.py

- Entrenar BPE a nivel de byte con 8000 tokens sobre el Quijote entero (objetivo ≤ 60 s en un núcleo).
- Codificar 1 MB de texto (objetivo ≤ 2 s), con la caché de trozos vacía.
Sale con código 1 si algún objetivo no se cumple.
"""
import os
import sys
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")  # tokenizers (Rust) en un solo hilo, como el nuestro

from tokenizers import Tokenizer as HFTokenizer, models, pre_tokenizers, trainers

from transformer_course.data import load_text
from transformer_course.tokenization import SPECIAL_TOKENS, BPETokenizer


def main() -> int:
    text = load_text("quijote")
    start = time.perf_counter()
    ours = BPETokenizer.train(text, vocab_size=8000)
    ours_train = time.perf_counter() - start

    hf = HFTokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=8000, special_tokens=list(SPECIAL_TOKENS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    start = time.perf_counter()
    hf.train_from_iterator([text], trainer)
    hf_train = time.perf_counter() - start

    megabyte = text.encode()[:1_000_000].decode("utf-8", "ignore")
    fresh = BPETokenizer(ours.merges)                   # caché vacía
    start = time.perf_counter()
    ids = fresh.encode(megabyte)
    ours_encode = time.perf_counter() - start
    start = time.perf_counter()
    hf_ids = hf.encode(megabyte).ids
    hf_encode = time.perf_counter() - start

    print(f"Entrenar BPE (8000 tokens, Quijote entero, {len(text.encode()):,} bytes): nosotros {ours_train:.1f} s, "
          f"tokenizers {hf_train:.1f} s → {ours_train / hf_train:.1f} veces más lento")
    print(f"Codificar 1 MB: nosotros {ours_encode:.2f} s ({len(ids):,} tokens), tokenizers {hf_encode:.2f} s "
          f"({len(hf_ids):,} tokens) → {ours_encode / hf_encode:.1f} veces más lento")
    goals = [("entrenar ≤ 60 s", ours_train <= 60), ("codificar 1 MB ≤ 2 s", ours_encode <= 2)]
    for name, ok in goals: print(("✓ " if ok else "✗ ") + name)
    return 0 if all(ok for _, ok in goals) else 1


if __name__ == "__main__":
    sys.exit(main())
