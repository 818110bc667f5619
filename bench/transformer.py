"""Benchmarks del capítulo 6 (el Transformer), con `torch.nn.Transformer` medido en la misma ejecución.

Uso: TRANSFORMER_COURSE_DATA=../shared/data python bench/transformer.py [--minutes 25] [--no-long]

1. Velocidad de entrenamiento (tokens por segundo, pasos hacia delante y hacia atrás con Adam) de nuestro
   Transformer frente al mismo modelo con `torch.nn.Transformer`, con la configuración del capítulo y los
   mismos lotes. Objetivo: cociente ≥ 1,0.
2. Búsqueda en haz de 300 frases de prueba, por lotes frente a frase a frase. Objetivo: ≥ 3× más rápida.
3. Variantes de la receta con varias semillas (`--seeds`), `--steps` pasos cada una: codificación posicional
   sinusoidal frente a aprendida, y pre-LN frente a post-LN con y sin calentamiento (¿diverge post-LN sin él?):
   pérdida y BLEU voraz en 1000 frases de validación, por semilla.
4. El mismo modelo con `torch.nn.Transformer` y con el nuestro, desde los mismos pesos y con los mismos lotes,
   1000 pasos de la receta del capítulo cada uno: BLEU y chrF voraces en toda la prueba, uno junto al otro.
5. La receta del capítulo (`Translator.fit` con sus valores por defecto) entrenada `--minutes` minutos: BLEU
   voraz en 2000 frases de validación a lo largo del entrenamiento y, al final, BLEU y chrF voraces y en haz en
   toda la prueba.
Escribe los datos (nunca pesos) en nbs/bench_transformer.json, que el capítulo puede dibujar.
Sale con código 1 si un objetivo de velocidad no se cumple.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import sacrebleu
import torch

from transformer_course.core import atomic_write, set_seed
from transformer_course.data import load_splits
from transformer_course.tokenization import BPETokenizer
from transformer_course.training import random_batch, train
from transformer_course.transformer import (TRANSLATOR_RECIPE, TorchTransformer, TransformerConfig, Translator, make_batches,
                                            transformer_from_torch, translation_loss)

OUT = Path(__file__).parents[1] / "nbs" / "bench_transformer.json"


def data():
    train_pairs, validation_pairs, test_pairs = load_splits("tatoeba-spa-eng")
    tok = BPETokenizer.train([p.es for p in train_pairs] + [p.en for p in train_pairs], TRANSLATOR_RECIPE.vocab_size)
    encoded = [(tok.encode(p.es), tok.encode(p.en)) for p in train_pairs]
    return train_pairs, validation_pairs, test_pairs, tok, encoded


def recipe_run(ours: bool, tok, batches, steps: int):
    "La receta del capítulo `steps` pasos, desde los pesos de un TorchTransformer sembrado: el nuestro o el de PyTorch."
    set_seed(0)
    theirs = TorchTransformer(TransformerConfig(tok.vocab_size, tok.vocab_size, pad_id=tok.pad_id))
    model = transformer_from_torch(theirs) if ours else theirs   # el mismo punto de partida
    h = train(model, random_batch(batches), steps, loss_fn=translation_loss, progress=False,
              **TRANSLATOR_RECIPE.options())
    return model, h


def training_speed(tok, encoded, batches, steps: int = 150) -> float:
    per_batch = sum(len(s) + len(t) + 1 for s, t in encoded) / len(batches)
    speeds = {}
    for name in ("nuestro", "nn.Transformer", "nuestro (repetido)"):
        _, h = recipe_run(name.startswith("nuestro"), tok, batches, steps)
        speeds[name] = steps * per_batch / h.seconds
        print(f"{name}: {speeds[name]:,.0f} tokens/s", flush=True)
    ours = (speeds["nuestro"] + speeds["nuestro (repetido)"]) / 2
    ratio = ours / speeds["nn.Transformer"]
    print(f"cociente nuestro / nn.Transformer: {ratio:.2f} (objetivo ≥ 1,0)")
    return ratio


def beam_speed(translator: Translator, test_pairs) -> float:
    sample = [p.es for p in test_pairs[::len(test_pairs) // 300][:300]]
    t0 = time.perf_counter(); translator.translate(sample, beam=4); batched = time.perf_counter() - t0
    t0 = time.perf_counter(); [translator.translate([s], beam=4) for s in sample]; single = time.perf_counter() - t0
    print(f"haz de 300 frases: {batched:.1f} s por lotes, {single:.1f} s frase a frase: {single / batched:.1f}× (objetivo ≥ 3)")
    return single / batched


def side_by_side(tok, batches, test_pairs, steps: int = 1000) -> dict:
    "La receta del capítulo con nn.Transformer y con el nuestro, desde los mismos pesos: BLEU/chrF voraces en la prueba."
    refs, out = [[p.en for p in test_pairs]], {}
    for name in ("nuestro", "nn.Transformer"):
        model, h = recipe_run(name == "nuestro", tok, batches, steps)
        ours = model if name == "nuestro" else transformer_from_torch(model)   # se traduce con el mismo código
        hyps = Translator(tok, ours.eval()).translate([p.es for p in test_pairs], beam=1)
        out[name] = {"bleu": round(sacrebleu.corpus_bleu(hyps, refs).score, 2),
                     "chrf": round(sacrebleu.corpus_chrf(hyps, refs).score, 2), "seconds": round(h.seconds, 1)}
        print(f"{name}, {steps} pasos: {out[name]}", flush=True)
    return out


VARIANTS = {"pre-LN, sinusoidal (la receta)": {}, "pre-LN, posiciones aprendidas": {"positional": "learned"},
            "post-LN, calentamiento 100": {"norm_first": False}, "post-LN, sin calentamiento": {"norm_first": False, "warmup": 1},
            "pre-LN, sin calentamiento": {"warmup": 1}}


def variants(train_pairs, validation_pairs, steps: int, seeds) -> dict:
    "Cada variante con cada semilla: pérdida de validación (nats) y BLEU voraz en 1000 frases de validación."
    probe = validation_pairs[::len(validation_pairs) // 1000][:1000]
    out = {}
    for name, change in VARIANTS.items():
        out[name] = []
        for seed in seeds:
            kw = dict(change)
            warmup = kw.pop("warmup", 100)
            try:
                t = Translator.fit(train_pairs, steps=steps, warmup=warmup, seed=seed, validation=probe, progress=False, **kw)
                hyps = t.translate([p.es for p in probe], beam=1)
                row = {"seed": seed, "val_loss": round(t.history.val_loss[-1], 4),
                       "bleu": round(sacrebleu.corpus_bleu(hyps, [[p.en for p in probe]]).score, 2)}
            except FloatingPointError as e:                            # la pérdida dejó de ser finita
                row = {"seed": seed, "val_loss": None, "bleu": None, "error": str(e)}
            out[name].append(row)
            print(name, row, flush=True)
    return out


def long_training(minutes: float, train_pairs, validation_pairs, test_pairs) -> tuple[dict, Translator]:
    "La receta del capítulo con más pasos (inverse_sqrt no depende del total): BLEU de validación por el camino."
    probe = validation_pairs[::len(validation_pairs) // 2000][:2000]
    probe_src, probe_refs = [p.es for p in probe], [[p.en for p in probe]]
    steps = int(minutes * 60 / 0.16)              # ~0,16 s por paso en 2 núcleos: solo fija cuántos pasos caben
    bleu = lambda t: sacrebleu.corpus_bleu(t.translate(probe_src, beam=1), probe_refs).score
    translator = Translator.fit(train_pairs, steps=steps, eval_fn=bleu, eval_every=max(1, steps // 10))
    h = translator.history
    curve = [{"steps": n, "seconds": round(sec, 1), "validation_bleu_greedy": round(b, 2)}
             for n, sec, b in zip(h.val_steps, h.val_seconds, h.val_loss)]
    for point in curve: print(point)
    refs, final = [[p.en for p in test_pairs]], {}
    for name, beam in (("greedy", 1), ("beam4", 4)):
        hyps = translator.translate([p.es for p in test_pairs], beam=beam)
        final[name] = {"bleu": round(sacrebleu.corpus_bleu(hyps, refs).score, 2),
                       "chrf": round(sacrebleu.corpus_chrf(hyps, refs).score, 2)}
        print(f"prueba entera, {name}: BLEU {final[name]['bleu']}, chrF {final[name]['chrf']}", flush=True)
    return {"steps": steps, "curve": curve, "test": final}, translator


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=25.0)
    parser.add_argument("--no-long", action="store_true", help="solo las medidas de velocidad")
    parser.add_argument("--steps", type=int, default=600, help="pasos de cada variante")
    parser.add_argument("--seeds", type=int, default=3, help="semillas por variante")
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    train_pairs, validation_pairs, test_pairs, tok, encoded = data()
    batches = make_batches(encoded, TRANSLATOR_RECIPE.batch_size, tok.pad_id, tok.bos_id, tok.eos_id)   # los de la receta
    ratio = training_speed(tok, encoded, batches)
    ok = ratio >= 1.0
    if args.no_long:
        translator = Translator.fit(train_pairs, steps=300, progress=False)
        long = None
    else:
        pair = side_by_side(tok, batches, test_pairs)
        found = variants(train_pairs, validation_pairs, args.steps, range(args.seeds))
        long, translator = long_training(args.minutes, train_pairs, validation_pairs, test_pairs)
        long["variants"] = {"steps": args.steps, "results": found}
        long["side_by_side"] = pair
    beam_ratio = beam_speed(translator, test_pairs)
    ok &= beam_ratio >= 3
    if long is not None:
        long.update(training_speed_ratio=round(ratio, 3), batched_beam_speedup=round(beam_ratio, 2))
        with atomic_write(OUT, "w") as f: json.dump(long, f, indent=1, ensure_ascii=False)
        print(f"→ {OUT}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
