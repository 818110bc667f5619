"""Benchmark del capítulo 10 (el asistente): la receta del capítulo con más pasos, medida como en el capítulo.

Uso: TRANSFORMER_COURSE_DATA=../shared/data python bench/assistant.py [--pretrain-steps 2000] [--sft-steps 2000]
     [--n-test 300] [--dpo-seeds 5] [--parts long,dpo]

Preentrena el GPT del capítulo (BPE 2000, 4 capas, d_model 128, contexto 256) `--pretrain-steps` pasos en vez de
250 y lo afina con las instrucciones `--sft-steps` pasos en vez de 800 (`Assistant.fit` con otros pasos, la misma
receta). Mide, con `evaluate` del capítulo:

- las seis tareas en `--n-test` instrucciones de prueba por tarea (entradas que no están en el entrenamiento),
  con las formulaciones vistas y con las reservadas;
- la traducción español → inglés en **toda** la prueba de Tatoeba (BLEU y chrF), al lado del Transformer del
  capítulo 6 con el mismo tiempo de entrenamiento (su curva de validación en nbs/bench_transformer.json).

Con `--dpo-seeds N` (parte «dpo») repite además la receta **del capítulo** entera (preentrenamiento de 250 pasos, SFT
de 800, los pares de preferencias y 40 pasos de DPO) con las semillas 0…N−1 (la 0 es la del cuaderno) y compara
DPO con SFT instrucción a instrucción (`head_to_head`) en las 600 instrucciones vistas de prueba del capítulo: el
capítulo afirma lo que se cumple en el conjunto de semillas, no en una sola ejecución.

Objetivo (issue 26): BLEU ≥ 0,8 veces el del traductor con el mismo tiempo; tildes por encima de la forma más
frecuente; DPO gana a SFT en más instrucciones de las que pierde, en cada semilla. Sale con código 1 si no
se cumplen. Todo se guarda (nunca pesos) en nbs/bench_assistant.json, bajo la clave de cada parte («long», «dpo»);
cada parte actualiza solo lo suyo.
"""
import argparse
import copy
import json
import sys
import time
from pathlib import Path

import sacrebleu

from transformer_course.assistant import (Assistant, build_instructions, dpo_finetune, evaluate, head_to_head,
                                          preference_pairs, score, task_items)
from transformer_course.data import load_splits, tokenize, word_sentences
from transformer_course.ngram import AccentRestorer

from _parts import run_parts

OUT = Path(__file__).parents[1] / "nbs" / "bench_assistant.json"


def unseen_test_items() -> dict:
    "Las entradas de prueba de cada tarea que no están en el entrenamiento (como el capítulo)."
    train_items, items = task_items("train"), task_items("test")
    seen_sources = {key: {x for x, _ in pairs} for key, pairs in train_items.items()}
    return {key: [(x, y) for x, y in pairs if x not in seen_sources[key]] for key, pairs in items.items()}


def restorer() -> AccentRestorer:
    return AccentRestorer(3).fit(word_sentences(load_splits("quijote").train) + word_sentences(load_splits("niebla").train))


def long_run(args) -> tuple[dict, bool]:
    "La receta del capítulo con más pasos: las seis tareas y la traducción en toda la prueba."
    start = time.perf_counter()
    assistant = Assistant.fit(seed=0, pretrain_steps=args.pretrain_steps, sft_steps=args.sft_steps)
    train_seconds = time.perf_counter() - start
    test = unseen_test_items()
    accents_model = restorer()
    instructions = build_instructions(test, args.n_test, seed=1)
    seen, _ = evaluate(assistant, instructions, accents_model)
    unseen, _ = evaluate(assistant, build_instructions(test, args.n_test, held_out=True, seed=1), accents_model)
    accents = [e for e in instructions if e.task == "tildes"]                     # las mismas frases que el asistente
    unigram = score("tildes", [e.answer for e in accents],
                    [" ".join(accents_model.candidates(w)[0] for w in tokenize(e.source)) for e in accents], accents_model)
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
                                       "validation_bleu_greedy": same_time["validation_bleu_greedy"]}}
    ok = full["bleu"] >= 0.8 * same_time["validation_bleu_greedy"] and seen["tildes"] > unigram
    print(f"Receta larga: BLEU {full['bleu']} frente a {same_time['validation_bleu_greedy']} del traductor con el mismo "
          f"tiempo; tildes {seen['tildes']:.3f} frente a {unigram:.3f} de la forma más frecuente.")
    return result, ok


def dpo_seeds(args) -> tuple[dict, bool]:
    "La receta del capítulo (SFT y DPO) con varias semillas: DPO frente a SFT, instrucción a instrucción."
    test, accents_model = unseen_test_items(), restorer()
    seen = build_instructions(test, 100, seed=1)                   # las instrucciones vistas del capítulo
    prompts = build_instructions(task_items("train"), 150, seed=3)  # de ellas salen los pares, como en el capítulo
    runs = []
    for seed in range(args.dpo_seeds):
        start = time.perf_counter()
        sft = Assistant.fit(seed=seed, pretrain_steps=250, sft_steps=800, progress=False)
        reference = copy.deepcopy(sft.model).requires_grad_(False)
        policy = copy.deepcopy(sft.model)
        dpo_finetune(policy, reference, preference_pairs(sft, prompts), sft.template, 40, seed=seed, progress=False)
        sft_scores, sft_answers = evaluate(sft, seen, accents_model)
        dpo_scores, dpo_answers = evaluate(Assistant(policy, sft.tokenizer), seen, accents_model)
        outcome = head_to_head(seen, dpo_answers, sft_answers, accents_model)
        wins, losses = (sum(o[i] for o in outcome.values()) for i in (0, 1))
        runs.append({"semilla": seed, "gana": wins, "pierde": losses, "por_tarea": outcome, "sft": sft_scores,
                     "dpo": dpo_scores, "segundos": round(time.perf_counter() - start)})
        print(f"semilla {seed}: DPO gana {wins}, pierde {losses}; por tarea {outcome} ({runs[-1]['segundos']} s)", flush=True)
    wins, losses = sum(r["gana"] for r in runs), sum(r["pierde"] for r in runs)
    result = {"semillas": args.dpo_seeds, "instrucciones": len(seen), "gana": wins, "pierde": losses, "runs": runs}
    return result, all(r["gana"] > r["pierde"] for r in runs)     # el capítulo: DPO gana en cada semilla


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pretrain-steps", type=int, default=2000)
    parser.add_argument("--sft-steps", type=int, default=2000)
    parser.add_argument("--n-test", type=int, default=300)
    parser.add_argument("--dpo-seeds", type=int, default=5)
    parser.add_argument("--parts", default="long,dpo", help="partes a medir, separadas por comas: long, dpo")
    args = parser.parse_args()
    if args.dpo_seeds < 1: parser.error(f"--dpo-seeds debe ser al menos 1; recibí {args.dpo_seeds}.")
    return run_parts(OUT, {"long": lambda: ("long", *long_run(args)), "dpo": lambda: ("dpo", *dpo_seeds(args))},
                     args.parts)


if __name__ == "__main__":
    sys.exit(main())
