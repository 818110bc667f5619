"""Benchmark del capítulo 9 (avances): cada cifra con la afirmación del método delante, medida en una ejecución.

Uso: TRANSFORMER_COURSE_DATA=../shared/data python bench/advances.py [--parts cache,decode,attention,quant,moe,scaling]

- cache: «MQA divide la caché KV por n_heads»: bytes de `KVCache` con 8 cabezas y 8, 2 y 1 grupos.
- decode: «con menos grupos, generar con contextos largos es más rápido»: ms por paso de generación (4 capas,
  d_model 512, 8 cabezas, 16 secuencias, caché llena hasta 1008 de 1024) con MHA, GQA-2 y MQA, medidos como en el
  capítulo (`decode_step`: por turnos, el mínimo de 11 rondas); y la atención de un
  token sola, leyendo las claves por grupos (la rama `T == 1` del curso) o copiándolas con `repeat_interleave`.
- attention: «SDPA y la atención por bloques no guardan la matriz T × T»: tiempo y memoria extra (VmHWM de un proceso
  nuevo) de la atención de libro, por bloques y `F.scaled_dot_product_attention`, 8 cabezas de 64, T de 512 a 4096.
- quant: «int8 divide la memoria de los pesos por 4 sin perder calidad»: el GPT «RoPE, MHA» del capítulo (300
  pasos) en float32 e int8 dinámico (`torch.ao`): bytes, ms por pasada (lotes de 1 y 32) y bits por carácter.
- moe: «una mezcla de expertos aprovecha sus parámetros con entrenamientos largos»: red densa frente a 8 expertos
  con 2 activos, con los 300 pasos del capítulo y con 5 veces más (1500), semillas 0 y 1 (inicialización y
  lotes), bits por carácter en la validación. Se informa sin exigir nada.
- scaling: «con cálculo fijo, conviene un modelo más pequeño entrenado más tiempo (Chinchilla)»: d_model 32, 64 y
  128 con el cálculo del GPT del capítulo (300 pasos de d_model 128), semillas 0 y 1; se cumple si el mejor en
  media es más pequeño que el de 128. Se informa también del N de Chinchilla, √(C / 120), frente al mejor medido.

Todo se guarda (nunca pesos) en nbs/bench_advances.json; cada parte actualiza solo lo suyo; el capítulo 9 lo lee.
Sale con código 1 si alguna afirmación no se cumple.
"""
import argparse
import io
import subprocess
import sys
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from transformer_course.advances import AdvancedGPT, AdvancedGPTConfig, KVCache, decode_step
from transformer_course.core import set_seed, time_call
from transformer_course.data import load_splits
from transformer_course.tokenization import CharTokenizer
from transformer_course.training import bits_per_char, lm_loss, random_windows, train

from _parts import run_parts

OUT = Path(__file__).parents[1] / "nbs" / "bench_advances.json"
RECIPE = dict(lr=6e-3, weight_decay=0.1)                  # la receta del capítulo 9 (y del 8)
BASE = dict(context_len=64, d_model=128, n_heads=4, n_layers=2, positional="rope")


def data():
    quijote = load_splits("quijote")
    chars = CharTokenizer.train(quijote.train)
    ids = torch.tensor(chars.encode(quijote.train))
    return chars, (lambda g: random_windows(ids, 32, 64, g)), quijote.validation[:20_000]


def trained(chars, batches, steps, seed=0, aux=None, **options):
    set_seed(seed)
    model = AdvancedGPT(AdvancedGPTConfig(vocab_size=chars.vocab_size, **{**BASE, **options}))
    loss = lm_loss if aux is None else (lambda m, b: lm_loss(m, b) + aux * m.aux_loss())
    history = train(model, batches, steps=steps, warmup=steps // 10, loss_fn=loss, seed=seed, progress=False, **RECIPE)
    return model, history


def cache() -> dict:
    sizes = {}
    for groups in (8, 2, 1):
        config = AdvancedGPTConfig(vocab_size=256, context_len=1024, d_model=512, n_heads=8, n_layers=4, n_kv_heads=groups)
        sizes[groups] = KVCache(config, batch_size=8).nbytes
    ratio = sizes[8] / sizes[1]
    print(f"caché KV: MHA {sizes[8] / 1e6:.1f} MB, GQA-2 {sizes[2] / 1e6:.1f} MB, MQA {sizes[1] / 1e6:.1f} MB → ×{ratio:.1f} (n_heads = 8)")
    return {"bytes_por_grupos": sizes, "mha_entre_mqa": ratio, "ok": ratio == 8}


def decode() -> dict:
    configs = {name: AdvancedGPTConfig(vocab_size=256, context_len=1024, d_model=512, n_heads=8, n_layers=4,
                                       positional="rope", n_kv_heads=groups) for name, groups in (("MHA", 8), ("GQA-2", 2), ("MQA", 1))}
    steps = {name: round(1e3 * r["seconds"], 2) for name, r in decode_step(configs, batch_size=16, filled=1008, rounds=11).items()}
    attention = {}
    q = torch.randn(8, 8, 1, 64)
    for groups in (8, 1):
        k, v = torch.randn(8, groups, 1009, 64), torch.randn(8, groups, 1009, 64)
        grouped = lambda: F.scaled_dot_product_attention(q.reshape(8, groups, 8 // groups, 64), k, v)
        copied = lambda: F.scaled_dot_product_attention(q, k.repeat_interleave(8 // groups, 1), v.repeat_interleave(8 // groups, 1))
        attention["MHA (8 grupos)" if groups == 8 else "MQA (1 grupo)"] = {"por grupos_ms": round(1e3 * time_call(grouped, repeats=21)["seconds"], 3),
                                         "copiando_ms": round(1e3 * time_call(copied, repeats=21)["seconds"], 3)}
    speedup = steps["MHA"] / steps["MQA"]
    print(f"generar (ms por paso de 16 tokens): {steps} → MQA ×{speedup:.2f} más rápido que MHA; atención de un token: {attention}")
    return {"ms_por_paso": steps, "mqa_aceleracion": round(speedup, 2), "atencion_un_token": attention, "ok": speedup > 1.3}


PEAK = """
import re, sys, torch, torch.nn.functional as F
from transformer_course.advances import naive_attention, blockwise_attention
peak = lambda: 1024 * int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))
f = {"naive": naive_attention, "blockwise": blockwise_attention,
     "sdpa": lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True)}[sys.argv[1]]
q, k, v = (torch.randn(1, 8, int(sys.argv[2]), 64) for _ in range(3))
f(q[:, :, :8], k[:, :, :8], v[:, :, :8])
before = peak()
f(q, k, v)
print(peak() - before)
"""


def attention() -> dict:
    from transformer_course.advances import blockwise_attention, naive_attention
    methods = {"naive": naive_attention, "blockwise": blockwise_attention,
               "sdpa": lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True)}
    rows = []
    for T in (512, 1024, 2048, 4096):
        q, k, v = (torch.randn(1, 8, T, 64) for _ in range(3))
        row = {"T": T, "matriz_MB": round(8 * T * T * 4 / 1e6, 1)}
        for name, f in methods.items():
            row[f"{name}_ms"] = round(1e3 * time_call(lambda: f(q, k, v), repeats=3)["seconds"], 1)
            extra = subprocess.run([sys.executable, "-c", PEAK, name, str(T)], capture_output=True, text=True, check=True)
            row[f"{name}_MB"] = round(int(extra.stdout) / 1e6, 1)
        rows.append(row)
        print(row)
    at_2048 = next(r for r in rows if r["T"] == 2048)
    ok = at_2048["naive_MB"] > at_2048["matriz_MB"] > 10 * max(at_2048["blockwise_MB"], at_2048["sdpa_MB"])
    return {"filas": rows, "ok": ok}


def quant() -> dict:
    chars, batches, validation = data()
    fp32, _ = trained(chars, batches, 300)
    fp32.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        int8 = torch.ao.quantization.quantize_dynamic(
            fp32, {nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig}, dtype=torch.qint8)
    out = {}
    for name, model in (("float32", fp32), ("int8", int8)):
        buffer = io.BytesIO()
        torch.save(model.state_dict(), buffer)
        row = {"bytes": buffer.tell(), "bpc": round(bits_per_char(model, validation, chars), 4)}
        for batch in (1, 32):
            x = torch.randint(0, chars.vocab_size, (batch, 64))
            with torch.no_grad(): row[f"ms_lote_{batch}"] = round(1e3 * time_call(lambda: model(x), repeats=11)["seconds"], 2)
        out[name] = row
    out["tamaño_float32_entre_int8"] = round(out["float32"]["bytes"] / out["int8"]["bytes"], 2)
    print(out)
    out["ok"] = out["tamaño_float32_entre_int8"] > 2.5 and abs(out["int8"]["bpc"] - out["float32"]["bpc"]) < 0.01
    return out


def moe() -> dict:
    chars, batches, validation = data()
    out = {}
    for steps in (300, 1500):                      # la del capítulo y 5 veces más larga
        runs = {}
        for seed in (0, 1):
            row = {}
            for name, options in (("densa", {}), ("8 expertos, 2 activos", {"n_experts": 8, "top_k": 2})):
                model, history = trained(chars, batches, steps, seed, aux=0.01 if options else None, **options)
                row[name] = {"bpc": round(bits_per_char(model, validation, chars), 4), "segundos": round(history.seconds)}
            runs[seed] = row
            print(steps, seed, row)
        gains = [r["densa"]["bpc"] - r["8 expertos, 2 activos"]["bpc"] for r in runs.values()]
        out[steps] = {"semillas": runs, "ganancia_media_bpc": round(sum(gains) / len(gains), 4)}
    out["ok"] = True                               # se informa, no se exige: es la pregunta que el capítulo deja abierta
    return out


def scaling() -> dict:
    chars, batches, validation = data()
    non_embedding = lambda m: sum(p.numel() for n, p in m.named_parameters() if not n.startswith("tok_embed"))
    reference = AdvancedGPT(AdvancedGPTConfig(vocab_size=chars.vocab_size, **BASE))
    budget = 6 * non_embedding(reference) * 300 * 32 * 64
    out = {"calculo": budget, "chinchilla_N": round((budget / 120) ** 0.5), "tamaños": {}}
    for d_model in (32, 64, 128):
        n = non_embedding(AdvancedGPT(AdvancedGPTConfig(vocab_size=chars.vocab_size, **{**BASE, "d_model": d_model})))
        steps = round(budget / (6 * n * 32 * 64))
        bpc = [round(bits_per_char(trained(chars, batches, steps, seed, d_model=d_model)[0], validation, chars), 4)
               for seed in (0, 1)]
        out["tamaños"][d_model] = {"N": n, "pasos": steps, "tokens_por_parametro": round(steps * 32 * 64 / n, 1),
                                   "bpc": bpc, "bpc_media": round(sum(bpc) / 2, 4)}
        print(d_model, out["tamaños"][d_model])
    best = min(out["tamaños"], key=lambda d: out["tamaños"][d]["bpc_media"])
    out["mejor_d_model"] = best
    out["ok"] = best < 128                         # mejor un modelo más pequeño que el del capítulo, entrenado más
    return out


PARTS = {"cache": cache, "decode": decode, "attention": attention, "quant": quant, "moe": moe, "scaling": scaling}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", default=",".join(PARTS))
    args = parser.parse_args()
    def checked(part):                                  # cada parte dice en su resultado si se cumple ("ok")
        def run():
            result = PARTS[part]()
            return part, result, result["ok"]
        return run
    return run_parts(OUT, {part: checked(part) for part in PARTS}, args.parts)


if __name__ == "__main__":
    sys.exit(main())
