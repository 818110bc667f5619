"""Benchmarks del capítulo 6 (el Transformer), con `torch.nn.Transformer` medido en la misma ejecución.

Uso: TRANSFORMER_COURSE_DATA=../shared/data python bench/transformer.py [--minutes 25] [--no-long]
     [--parts transformer,rnn] [--rnn-minutes 5] [--rnn-points 8] [--rnn-lr 1e-3]

Por defecto se ejecuta la parte `transformer` (las medidas 1 a 5); `--parts rnn` ejecuta solo la 6.

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
6. (parte `rnn`) El Transformer del capítulo frente al traductor de 2015, una LSTM codificadora–decodificadora con
   atención de Luong (`RNNTranslator`): los mismos lotes de pares BPE, `--rnn-minutes` minutos de entrenamiento
   cada uno (sin contar las evaluaciones), cada uno con su receta; BLEU voraz en 1000 frases de validación en
   `--rnn-points` momentos y, al final, BLEU y chrF voraces en toda la prueba, tokens por segundo y parámetros.
Escribe los datos (nunca pesos) en nbs/bench_transformer.json, que el capítulo puede dibujar; cada parte
actualiza solo sus claves.
Sale con código 1 si un objetivo de velocidad no se cumple.
"""
import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import sacrebleu
import torch

from transformer_course.core import atomic_write, set_seed
from transformer_course.data import load_splits
from transformer_course.tokenization import BPETokenizer
from transformer_course.training import Recipe, make_schedule, param_groups, random_batch, train
from transformer_course.transformer import (RNN_TRANSLATOR_RECIPE, TRANSLATOR_RECIPE, RNNTranslator, RNNTranslatorConfig,
                                            TorchTransformer, Transformer, TransformerConfig, Translator, make_batches,
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


def timed_training(model, batches, recipe: Recipe, seconds: float, evaluate, points: int = 8, seed: int = 0) -> dict:
    """Entrena `model` con `recipe`, la pérdida del capítulo (suavizado 0,1) y recorte a 1, durante `seconds` segundos
    de entrenamiento; `evaluate(model)` en `points` momentos igualmente espaciados, sin contar su tiempo."""
    options = recipe.options()
    if options["schedule"] not in ("constant", "inverse_sqrt"):
        raise ValueError(f"Con un tiempo fijo, el calendario no puede depender del total de pasos: {options['schedule']!r}.")
    set_seed(seed)
    generator, get_batch, pad = torch.Generator().manual_seed(seed), random_batch(batches), model.config.pad_id
    optimizer = torch.optim.AdamW(param_groups(model, options["weight_decay"]), lr=options["lr"], betas=options["betas"],
                                  eps=options["eps"], fused=True)   # lo mismo que train()
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, make_schedule(options["schedule"], 0, options["warmup"]))
    marks = [seconds * (k + 1) / points for k in range(points)]
    trained, steps, tokens, losses, curve = 0.0, 0, 0, [], []
    while len(curve) < points:
        start = time.perf_counter()
        model.train()
        src, tgt = get_batch(generator)
        loss = translation_loss(model, (src, tgt))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0, foreach=True)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        scheduler.step()
        losses.append(loss.item())
        trained += time.perf_counter() - start
        steps += 1
        tokens += int((src != pad).sum() + (tgt != pad).sum()) - len(tgt)   # origen + destino con <bos> o <eos>
        if not math.isfinite(losses[-1]): raise FloatingPointError(f"La pérdida dejó de ser finita en el paso {steps}.")
        if trained >= marks[len(curve)]:
            recent = losses[curve[-1]["steps"] if curve else 0:]
            curve.append({"steps": steps, "seconds": round(trained, 1), "train_loss": round(sum(recent) / len(recent), 4),
                          "validation_bleu_greedy": round(evaluate(model), 2)})
            print(curve[-1], flush=True)
    return {"steps": steps, "seconds": round(trained, 1), "tokens_per_second": round(tokens / trained), "curve": curve}


def rnn_comparison(minutes: float, tok, batches, validation_pairs, test_pairs, points: int = 8,
                   rnn_lr: float = RNN_TRANSLATOR_RECIPE.lr) -> dict:
    """El Transformer del capítulo y el traductor LSTM con atención de 2015, los mismos minutos con los mismos lotes
    (en el mismo orden), cada uno con su receta: BLEU voraz a lo largo del tiempo y, al final, en toda la prueba."""
    probe = validation_pairs[::len(validation_pairs) // 1000][:1000]
    probe_src, probe_refs = [p.es for p in probe], [[p.en for p in probe]]
    test_src, test_refs = [p.es for p in test_pairs], [[p.en for p in test_pairs]]
    V, out = tok.vocab_size, {}
    models = {"transformer": (lambda: Transformer(TransformerConfig(V, V, pad_id=tok.pad_id)), TRANSLATOR_RECIPE),
              "rnn": (lambda: RNNTranslator(RNNTranslatorConfig(V, V, pad_id=tok.pad_id)),
                      dataclasses.replace(RNN_TRANSLATOR_RECIPE, lr=rnn_lr))}
    for name, (make, recipe) in models.items():
        set_seed(0)
        model = make()
        bleu = lambda m: sacrebleu.corpus_bleu(Translator(tok, m).translate(probe_src, beam=1), probe_refs).score
        print(f"{name}: {minutes} minutos de entrenamiento", flush=True)
        run = timed_training(model, batches, recipe, minutes * 60, bleu, points)
        t0 = time.perf_counter()
        hyps = Translator(tok, model).translate(test_src, beam=1)
        run["test"] = {"bleu": round(sacrebleu.corpus_bleu(hyps, test_refs).score, 2),
                       "chrf": round(sacrebleu.corpus_chrf(hyps, test_refs).score, 2),
                       "greedy_seconds": round(time.perf_counter() - t0, 1)}
        run.update(parameters=sum(p.numel() for p in model.parameters()), config=dataclasses.asdict(model.config),
                   recipe=dataclasses.asdict(recipe))
        print(f"{name}: {run['steps']} pasos, {run['tokens_per_second']:,} tokens/s, prueba entera {run['test']}", flush=True)
        out[name] = run
    return {"minutes": minutes, "threads": torch.get_num_threads(), "train_pairs": sum(len(src) for src, _ in batches),
            "validation_sentences": len(probe), "test_sentences": len(test_pairs), "label_smoothing": 0.1, "clip": 1.0,
            "models": out}


PARTS = ("transformer", "rnn")


def transformer_part(args, train_pairs, validation_pairs, test_pairs, tok, encoded, batches) -> tuple[dict | None, bool]:
    "Las medidas 1 a 5: lo que se guarda (None con --no-long) y si se cumplen los objetivos de velocidad."
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
    if long is not None: long.update(training_speed_ratio=round(ratio, 3), batched_beam_speedup=round(beam_ratio, 2))
    return long, ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="transformer", help=f"partes, separadas por comas: {', '.join(PARTS)}")
    parser.add_argument("--minutes", type=float, default=25.0)
    parser.add_argument("--no-long", action="store_true", help="solo las medidas de velocidad")
    parser.add_argument("--steps", type=int, default=600, help="pasos de cada variante")
    parser.add_argument("--seeds", type=int, default=3, help="semillas por variante")
    parser.add_argument("--rnn-minutes", type=float, default=5.0, help="minutos de entrenamiento de cada traductor (rnn)")
    parser.add_argument("--rnn-points", type=int, default=8, help="evaluaciones durante el entrenamiento (rnn)")
    parser.add_argument("--rnn-lr", type=float, default=RNN_TRANSLATOR_RECIPE.lr, help="tasa de Adam de la LSTM (rnn)")
    args = parser.parse_args()
    parts = args.parts.split(",")
    if unknown := [p for p in parts if p not in PARTS]:
        print(f"Partes desconocidas: {', '.join(unknown)}; las partes son {', '.join(PARTS)}.", file=sys.stderr)
        return 2
    torch.set_num_threads(torch.get_num_threads())
    train_pairs, validation_pairs, test_pairs, tok, encoded = data()
    batches = make_batches(encoded, TRANSLATOR_RECIPE.batch_size, tok.pad_id, tok.bos_id, tok.eos_id)   # los de la receta
    results, ok = {}, True
    if "transformer" in parts:
        long, ok = transformer_part(args, train_pairs, validation_pairs, test_pairs, tok, encoded, batches)
        results.update(long or {})
    if "rnn" in parts:
        results["rnn"] = rnn_comparison(args.rnn_minutes, tok, batches, validation_pairs, test_pairs, args.rnn_points,
                                        args.rnn_lr)
    if results:                                                          # las claves de las otras partes se quedan
        saved = json.loads(OUT.read_text(encoding="utf-8")) if OUT.exists() else {}
        with atomic_write(OUT, "w") as f: json.dump(saved | results, f, indent=1, ensure_ascii=False)
        print(f"→ {OUT}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
