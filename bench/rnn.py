"""Benchmarks del capítulo de redes recurrentes, con `torch.nn.LSTM`/`torch.nn.RNN` medidos en la misma ejecución.

Uso: TRANSFORMER_COURSE_DATA=../shared/data python bench/rnn.py [--parts velocidad,largo,memoria] [--steps 6000] [--seeds 10]

1. Hacia delante + hacia atrás de la LSTM (y la RNN) desde cero frente a las de PyTorch, con varias formas
   (objetivo: la LSTM desde cero a menos de 3× de `torch.nn.LSTM` con los lotes de entrenamiento del curso, B ≥ 32;
   con B = 8 se informa del cociente, que no cumple: ahí manda el coste fijo de cada operación pequeña).
2. Un entrenamiento más largo que el del capítulo (misma receta, `--steps` pasos) de la LSTM y la RNN de
   caracteres: bits por carácter en la prueba del Quijote frente al tiempo, y en qué momento bajan del
   mejor n-grama de caracteres de la tabla del curso.
3. La tarea de memoria del capítulo (RNN, LSTM y LSTM con sesgo de olvido 3; distancias 5, 10, 20 y 50) con
   `--seeds` semillas cada una: el capítulo lee esta tabla y ejecuta en vivo solo la semilla 0.
Todo se guarda en nbs/bench_rnn.json (lo que ya estaba de las partes no ejecutadas se conserva).
Sale con código 1 si el objetivo de velocidad o lo que el capítulo afirma de la memoria no se cumplen.
"""
import argparse
import json
import statistics
import sys
from pathlib import Path

import torch
from torch import nn

from _parts import run_parts
from transformer_course.core import time_call
from transformer_course.data import load_splits
from transformer_course.rnn import (LSTM, MEMORY_DISTANCES, MEMORY_NETWORKS, RNN, CharLM, copy_weights_from_torch,
                                    memory_accuracy)
from transformer_course.training import random_windows, stream_bits, train
from transformer_course.tokenization import CharTokenizer

OUT = Path(__file__).parents[1] / "nbs" / "bench_rnn.json"
SHAPES = [(32, 128, 64, 256), (32, 64, 64, 256), (8, 256, 64, 128), (64, 32, 128, 512)]  # B, T, C, hidden_size


def speed() -> tuple[str, dict, bool]:
    worst, rows = 0.0, []
    print("fwd+bwd, mediana de 7 | B T C hidden_size | desde cero | PyTorch | cociente")
    for kind, ours_class, torch_class in (("LSTM", LSTM, nn.LSTM), ("RNN", RNN, nn.RNN)):
        for B, T, C, hidden in SHAPES:
            torch.manual_seed(0)
            theirs = torch_class(C, hidden, batch_first=True)
            ours = copy_weights_from_torch(ours_class(C, hidden), theirs)
            x = torch.randn(B, T, C)
            t_ours = time_call(lambda: ours(x)[0].sum().backward(), repeats=7)["seconds"]
            t_theirs = time_call(lambda: theirs(x)[0].sum().backward(), repeats=7)["seconds"]
            ratio = t_ours / t_theirs
            if kind == "LSTM" and B >= 32: worst = max(worst, ratio)
            rows.append({"red": kind, "forma": [B, T, C, hidden], "desde_cero_s": t_ours, "pytorch_s": t_theirs})
            print(f"{kind} | {B} {T} {C} {hidden} | {1000 * t_ours:.1f} ms | {1000 * t_theirs:.1f} ms | {ratio:.2f}×")
    print(f"\nPeor cociente de la LSTM desde cero frente a torch.nn.LSTM con B ≥ 32: {worst:.2f}× (objetivo < 3×)")
    return "velocidad", {"filas": rows, "peor_cociente_lstm": worst}, worst < 3


def long_training(steps: int) -> tuple[str, dict, bool]:
    train_text, validation_text, test_text = load_splits("quijote")
    tokenizer = CharTokenizer.train(train_text)
    train_ids, test_ids = (torch.tensor(tokenizer.encode(t)) for t in (train_text, test_text))
    table = json.loads((Path(__file__).parents[1]/"nbs"/"resultados.json").read_text(encoding="utf-8"))
    best_ngram = min(r["bpc"] for r in table["2. n-gramas"] if "caracteres" in r["modelo"])
    print(f"\nMejor n-grama de caracteres: {best_ngram:.3f} bpc. Entrenamiento de {steps} pasos (la receta del capítulo):")
    curves = {}
    for cell in ("rnn", "lstm"):
        model = CharLM(tokenizer.vocab_size, d_model=64, hidden_size=256, cell=cell)
        history = train(model, lambda g: random_windows(train_ids, 32, 64, g), steps, lr=1e-2, eval_every=max(100, steps // 8),
                        eval_fn=lambda m: stream_bits(m, test_ids, tokenizer.bos_id) / len(test_text), desc=cell.upper())
        for step, seconds, bpc in zip(history.val_steps, history.val_seconds, history.val_loss):
            print(f"  {cell.upper()} paso {step:5d} · {seconds:6.1f} s · prueba {bpc:.3f} bpc")
        crossed = next(((st, se) for st, se, b in zip(history.val_steps, history.val_seconds, history.val_loss) if b < best_ngram), None)
        print(f"  {cell.upper()}: " + (f"por debajo del n-grama desde el paso {crossed[0]} ({crossed[1]:.0f} s de entrenamiento)"
                                       if crossed else "no baja del n-grama") + "\n")
        curves[cell] = {"pasos": history.val_steps, "segundos": history.val_seconds, "bpc_prueba": history.val_loss}
    return "largo", {"pasos": steps, "mejor_ngrama_bpc": best_ngram, "curvas": curves}, True


def memory(seeds: int) -> tuple[str, dict, bool]:
    "La tabla de la tarea de memoria del capítulo, con `seeds` semillas por red y distancia."
    accuracy, solved = {name: {} for name in MEMORY_NETWORKS}, {}
    for name in MEMORY_NETWORKS:
        for d in MEMORY_DISTANCES:
            accuracy[name][str(d)] = [memory_accuracy(name, d, seed) for seed in range(seeds)]
            solved[name, d] = sum(a >= 0.9 for a in accuracy[name][str(d)])
            print(f"memoria · {name:24s} d = {d:2d}: {solved[name, d]}/{seeds} resueltas, mediana "
                  f"{statistics.median(accuracy[name][str(d)]):.0%}", flush=True)
    met = (all(min(accuracy[name]["5"]) > 0.85 for name in MEMORY_NETWORKS)     # lo que afirma el capítulo
           and solved["RNN", 20] == solved["LSTM", 10] == solved["LSTM", 20] == 0
           and solved["RNN", 10] >= 0.8 * seeds and solved["LSTM, sesgo de olvido 3", 20] == seeds
           and statistics.median(accuracy["LSTM, sesgo de olvido 3"]["50"]) > 0.7)
    return "memoria", {"semillas": list(range(seeds)), "distancias": list(MEMORY_DISTANCES), "acierto": accuracy}, met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="velocidad,largo,memoria")
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    return run_parts(OUT, {"velocidad": speed, "largo": lambda: long_training(args.steps),
                           "memoria": lambda: memory(args.seeds)}, args.parts)


if __name__ == "__main__":
    sys.exit(main())
