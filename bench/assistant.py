"""Benchmark del capítulo 10 (el asistente): la receta del capítulo con más pasos, medida como en el capítulo.

Uso: TRANSFORMER_COURSE_DATA=../shared/data python bench/assistant.py [--pretrain-steps 2000] [--sft-steps 2000]
     [--n-test 300]

Preentrena el GPT del capítulo (BPE 2000, 4 capas, d_model 128, contexto 256) `--pretrain-steps` pasos en vez de
250 y lo afina con las instrucciones `--sft-steps` pasos en vez de 400 (`Assistant.fit` con otros pasos, la misma
receta). Mide, con `evaluate` del capítulo:

- las seis tareas en `--n-test` instrucciones de prueba por tarea (entradas que no están en el entrenamiento),
  con las formulaciones vistas y con las reservadas;
- la traducción español → inglés en **toda** la prueba de Tatoeba (BLEU y chrF), al lado del Transformer del
  capítulo 6 con el mismo tiempo de entrenamiento (su curva de validación en nbs/bench_transformer.json).

Objetivo (issue 26): BLEU ≥ 0,8 veces el del traductor con el mismo tiempo; tildes por encima de la forma más
frecuente. Sale con código 1 si no se cumplen. Todo se guarda (nunca pesos) en nbs/bench_assistant.json.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import sacrebleu
import torch

from transformer_course.assistant import Assistant, build_instructions, evaluate, score, task_items
from transformer_course.core import atomic_write
from transformer_course.data import load_splits, tokenize, word_sentences
from transformer_course.ngram import AccentRestorer

OUT = Path(__file__).parents[1] / "nbs" / "bench_assistant.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pretrain-steps", type=int, default=2000)
    parser.add_argument("--sft-steps", type=int, default=2000)
    parser.add_argument("--n-test", type=int, default=300)
    args = parser.parse_args()
    start = time.perf_counter()
    assistant = Assistant.fit(seed=0, pretrain_steps=args.pretrain_steps, sft_steps=args.sft_steps)
    train_seconds = time.perf_counter() - start
    train_items, test_items = task_items("train"), task_items("test")
    seen_sources = {key: {x for x, _ in pairs} for key, pairs in train_items.items()}
    test_items = {key: [(x, y) for x, y in pairs if x not in seen_sources[key]] for key, pairs in test_items.items()}
    restorer = AccentRestorer(3).fit(word_sentences(load_splits("quijote").train) + word_sentences(load_splits("niebla").train))
    instructions = build_instructions(test_items, args.n_test, seed=1)
    seen, _ = evaluate(assistant, instructions, restorer)
    unseen, _ = evaluate(assistant, build_instructions(test_items, args.n_test, held_out=True, seed=1), restorer)
    accents = [e for e in instructions if e.task == "tildes"]                     # las mismas frases que el asistente
    unigram = score("tildes", [e.answer for e in accents],
                    [" ".join(restorer.candidates(w)[0] for w in tokenize(e.source)) for e in accents], restorer)
    pairs = load_splits("tatoeba-spa-eng").test                    # toda la prueba, como el capítulo 6
    answers = assistant.ask([f"Traduce al inglés: {p.es}" for p in pairs])
    full = {"bleu": round(sacrebleu.corpus_bleu(answers, [[p.en for p in pairs]]).score, 2),
            "chrf": round(sacrebleu.corpus_chrf(answers, [[p.en for p in pairs]]).score, 2), "frases": len(pairs)}
    curve = json.loads((OUT.parent / "bench_transformer.json").read_text(encoding="utf-8"))["curve"]
    same_time = max((p for p in curve if p["seconds"] <= train_seconds), key=lambda p: p["seconds"], default=curve[0])
    result = {"pretrain_steps": args.pretrain_steps, "sft_steps": args.sft_steps, "train_seconds": round(train_seconds),
              "n_test": args.n_test, "seen": seen, "held_out": unseen, "unigram_accent": unigram,
              "es_en_full_test": full,
              "translator_same_time": {"seconds": same_time["seconds"], "step": same_time["steps"],
                                       "validation_bleu_greedy": same_time["validation_bleu_greedy"]},
              "maquina": {"hilos": torch.get_num_threads(), "torch": torch.__version__},
              "segundos": round(time.perf_counter() - start)}
    with atomic_write(OUT, "w") as f: f.write(json.dumps(result, ensure_ascii=False, indent=1) + "\n")
    ok = full["bleu"] >= 0.8 * same_time["validation_bleu_greedy"] and seen["tildes"] > unigram
    print(json.dumps(result, ensure_ascii=False, indent=1))
    print(f"Guardado en {OUT}. Objetivos {'cumplidos' if ok else 'NO cumplidos'}: BLEU {full['bleu']} frente a "
          f"{same_time['validation_bleu_greedy']} del traductor con el mismo tiempo; tildes {seen['tildes']:.3f} frente "
          f"a {unigram:.3f} de la forma más frecuente.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
