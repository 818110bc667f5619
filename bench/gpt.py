"""Benchmark del capítulo 8 (GPT): velocidad frente a `GPT2LMHeadModel`, la caché KV y la curva larga frente a la LSTM.

Uso: TRANSFORMER_COURSE_DATA=../shared/data python bench/gpt.py [--parts speed,cache,quality] [--minutes 8] [--repeat 3]

- speed: entrenamiento a la forma de la receta de nanoGPT para CPU (4 capas, 4 cabezas, d_model 128, contexto 64,
  lotes de 12) con caracteres del Quijote. Nuestro GPT y `GPT2LMHeadModel` de transformers parten de los mismos
  pesos (`to_hf`), reciben los mismos lotes y la misma pérdida, con AdamW; rondas alternas, mediana de tokens/s.
  Objetivo: ≥ 1,15× transformers. También la fracción del pico de multiplicación de matrices de esta máquina
  (medido en la misma ejecución con una matmul de 2048 × 2048 en fp32).
- cache: generación voraz a la forma de GPT-2 pequeño (12 capas, 12 cabezas, d_model 768, pesos al azar) tras un
  prompt de 8 tokens, con y sin caché, para 32, 64, 128 y 256 tokens nuevos: mismos tokens; cociente de tiempos
  (objetivo ≥ 5× a 256) y frente a `generate` de transformers con y sin su caché, mismos pesos. Con caché, los dos
  se turnan `--repeat` veces (3; primero uno y luego el otro, y al revés en el turno siguiente) y cuenta la mediana
  de cada uno, y la de los cocientes de cada turno (objetivo ≥ 1,0× transformers a 256): el ritmo de la máquina
  cambia de un minuto a otro. Sin caché, una vez.
- quality: los modelos del capítulo (la LSTM del capítulo 4 y los GPT de caracteres y de BPE) entrenados cada uno
  `--minutes` minutos de esta CPU (pasos calibrados al principio), con los bits por carácter en la prueba en 8
  puntos de la curva. Objetivo: algún GPT por debajo de la LSTM con el mismo tiempo de entrenamiento.

Todo se guarda (nunca pesos) en nbs/bench_gpt.json; cada parte actualiza solo lo suyo. Sale con código 1 si algún
objetivo no se cumple.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from transformer_course.core import set_seed
from transformer_course.data import load_splits
from transformer_course.gpt import GPT, GPTConfig, generate, n_params_formula, to_hf, train_flops_per_token
from transformer_course.rnn import CharLM
from transformer_course.tokenization import BPETokenizer, CharTokenizer
from transformer_course.training import bits_per_char, param_groups, random_windows, train

from _parts import run_parts

OUT = Path(__file__).parents[1] / "nbs" / "bench_gpt.json"
# la forma de los GPT del capítulo (y de la receta de nanoGPT para CPU)
CHAR_GPT = dict(context_len=64, d_model=128, n_heads=4, n_layers=4)


def matmul_peak(n: int = 2048, repeats: int = 10) -> float:
    "GFLOP/s de una matmul cuadrada en fp32 (el techo práctico de esta CPU para las capas lineales)."
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(2): a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter(); a @ b; times.append(time.perf_counter() - start)
    return 2 * n ** 3 / statistics.median(times) / 1e9


def speed(text: str, rounds: int = 5, steps: int = 20) -> dict:
    tok = CharTokenizer.train(text)
    ids = torch.tensor(tok.encode(text))
    config = GPTConfig(tok.vocab_size, **CHAR_GPT)
    set_seed(0)
    ours = GPT(config).train()
    hf = to_hf(ours).train()
    eager = to_hf(ours).train()
    eager.set_attn_implementation("eager")                             # la atención de transformers antes de SDPA
    g = torch.Generator().manual_seed(0)
    data = [random_windows(ids, 12, 64, g) for _ in range(steps)]
    runs = {}
    for name, model, logits in (("nuestro", ours, lambda x: ours(x)), ("transformers", hf, lambda x: hf(input_ids=x).logits),
                                ("transformers_eager", eager, lambda x: eager(input_ids=x).logits)):
        opt = torch.optim.AdamW(param_groups(model, 0.1), lr=1e-3)
        def step(x, y, model=model, logits=logits, opt=opt):
            loss = F.cross_entropy(logits(x).flatten(0, 1), y.flatten())
            loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
        runs[name] = step
    for step in runs.values():                                          # calentamiento
        for x, y in data[:3]: step(x, y)
    rates = {name: [] for name in runs}
    for _ in range(rounds):
        for name, step in runs.items():
            start = time.perf_counter()
            for x, y in data: step(x, y)
            rates[name].append(steps * 12 * 64 / (time.perf_counter() - start))
    peak = matmul_peak()
    ours_rate, hf_rate = statistics.median(rates["nuestro"]), statistics.median(rates["transformers"])
    flops = train_flops_per_token(config)
    return {"forma": "4 capas, 4 cabezas, d_model 128, contexto 64, lotes de 12, caracteres (V = %d)" % tok.vocab_size,
            "tokens_s": {name: round(statistics.median(r)) for name, r in rates.items()},
            "cociente": round(ours_rate / hf_rate, 3),
            "cociente_eager": round(ours_rate / statistics.median(rates["transformers_eager"]), 3),
            "flop_por_token": flops, "gflops_nuestro": round(flops * ours_rate / 1e9, 1),
            "pico_matmul_gflops": round(peak, 1), "fraccion_pico": round(flops * ours_rate / 1e9 / peak, 3),
            "hilos": torch.get_num_threads()}


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def cache(lengths=(32, 64, 128, 256), repeat: int = 3) -> dict:
    config = GPTConfig(50257, context_len=1024, d_model=768, n_heads=12, n_layers=12, activation="gelu_tanh")
    set_seed(0)
    model = GPT(config).eval()
    hf = to_hf(model).eval()
    prompt = torch.randint(0, config.vocab_size, (8,), generator=torch.Generator().manual_seed(0)).tolist()
    with torch.no_grad():                                               # calentamiento: la primera llamada paga de más
        generate(model, prompt, 4, temperature=0); generate(model, prompt, 4, temperature=0, use_cache=False)
        hf.generate(torch.tensor([prompt]), max_new_tokens=4, do_sample=False, pad_token_id=0)
    rows = []
    for n in lengths:
        row = {"nuevos": n}
        with torch.no_grad():
            theirs = lambda use: hf.generate(torch.tensor([prompt]), max_new_tokens=n, min_new_tokens=n,
                                             do_sample=False, use_cache=use, pad_token_id=0)[0, len(prompt):].tolist()
            ours_run = lambda: timed(lambda: generate(model, prompt, n, temperature=0))
            hf_run = lambda: timed(lambda: theirs(True))
            turns = []                                                  # (nuestro, transformers), en turnos
            for turn in range(repeat):                                  # y el orden, también por turnos
                if turn % 2: (hf_s, out), (ours_s, cached) = hf_run(), ours_run()
                else: (ours_s, cached), (hf_s, out) = ours_run(), hf_run()
                turns.append((ours_s, hf_s))
            row["s_con_cache"], row["s_hf_con_cache"] = (statistics.median(t[i] for t in turns) for i in (0, 1))
            row["iguales_hf"] = out == cached
            row["s_sin_cache"], uncached = timed(lambda: generate(model, prompt, n, temperature=0, use_cache=False))
            row["s_hf_sin_cache"], out = timed(lambda: theirs(False))
            row["iguales_hf_sin_cache"] = out == cached
        row["iguales"] = cached == uncached
        row["aceleracion"] = round(row["s_sin_cache"] / row["s_con_cache"], 2)
        row["frente_hf_con_cache"] = round(statistics.median(hf_s / ours_s for ours_s, hf_s in turns), 2)
        row["frente_hf_por_turno"] = [round(hf_s / ours_s, 3) for ours_s, hf_s in turns]
        row["aceleracion_hf"] = round(row["s_hf_sin_cache"] / row["s_hf_con_cache"], 2)
        for k in list(row):
            if k.startswith("s_"): row[k] = round(row[k], 3)
        print(row, flush=True)
        rows.append(row)
    return {"forma": "GPT-2 pequeño (12 capas, 12 cabezas, d_model 768, V 50257), pesos al azar, prompt de 8 tokens, voraz",
            "filas": rows, "parametros": n_params_formula(config), "turnos_con_cache": repeat}


def quality(minutes: float) -> dict:
    train_text, validation_text, test_text = load_splits("quijote")
    chars = CharTokenizer.train(train_text)
    bpe = BPETokenizer.train(train_text, 1000)
    models = {  # nombre: (tokenizador, constructor, lr, weight decay, fracción de calentamiento)
        "LSTM de caracteres": (chars, lambda: CharLM(chars.vocab_size, d_model=64, hidden_size=256, cell="lstm"),
                               1e-2, 0.0, 0.0),
        "GPT de caracteres": (chars, lambda: GPT(GPTConfig(chars.vocab_size, **CHAR_GPT)), 6e-3, 0.1, 0.05),
        "GPT de BPE": (bpe, lambda: GPT(GPTConfig(bpe.vocab_size, **CHAR_GPT)), 3e-3, 0.1, 0.05),
    }
    curves = {}
    for name, (tok, make, lr, wd, warmup) in models.items():
        ids = torch.tensor(tok.encode(train_text))
        batch = lambda g: random_windows(ids, 32, 64, g)
        set_seed(0)
        probe = make()
        train(probe, batch, 30, lr=lr, progress=False)                   # calibración: segundos por paso
        per_step = train(probe, batch, 60, lr=lr, progress=False).seconds / 60
        steps = int(minutes * 60 / per_step)
        set_seed(0)
        model = make()
        h = train(model, batch, steps, lr=lr, weight_decay=wd, warmup=int(warmup * steps),
                  eval_fn=lambda m: bits_per_char(m, test_text, tok), eval_every=max(steps // 8, 1), desc=name)
        curves[name] = {"pasos": steps, "segundos": [round(s, 1) for s in h.val_seconds],
                        "pasos_medidos": h.val_steps, "bpc_prueba": [round(v, 4) for v in h.val_loss]}
        print(name, curves[name], flush=True)
    lstm = curves["LSTM de caracteres"]["bpc_prueba"][-1]
    best = min((c["bpc_prueba"][-1], n) for n, c in curves.items() if n != "LSTM de caracteres")
    return {"minutos": minutes, "curvas": curves, "lstm_final": lstm, "mejor_gpt": {"modelo": best[1], "bpc": best[0]}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", default="speed,cache,quality")
    parser.add_argument("--minutes", type=float, default=8.0, help="minutos de entrenamiento de cada modelo")
    parser.add_argument("--repeat", type=int, default=3, help="turnos de la generación con caché (3)")
    args = parser.parse_args()

    def speed_part():
        r = speed(load_splits("quijote").train)
        print(f"entrenamiento: nuestro {r['tokens_s']['nuestro']} tokens/s, transformers {r['tokens_s']['transformers']}"
              f" → ×{r['cociente']} (×{r['cociente_eager']} frente a la atención eager); {r['gflops_nuestro']} GFLOP/s = {r['fraccion_pico']:.0%} del pico ({r['pico_matmul_gflops']})")
        return "velocidad", r, r["cociente"] >= 1.15

    def cache_part():
        r = cache(repeat=args.repeat)
        last = r["filas"][-1]
        return "cache", r, all(f["iguales"] for f in r["filas"]) and last["aceleracion"] >= 5 and last["frente_hf_con_cache"] >= 1

    def quality_part():
        r = quality(args.minutes)
        print(f"tras {args.minutes} min: LSTM {r['lstm_final']}, mejor GPT {r['mejor_gpt']}")
        return "calidad", r, r["mejor_gpt"]["bpc"] < r["lstm_final"]

    return run_parts(OUT, {"speed": speed_part, "cache": cache_part, "quality": quality_part}, args.parts)


if __name__ == "__main__":
    sys.exit(main())
