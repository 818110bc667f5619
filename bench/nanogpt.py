"""Benchmark frente a nanoGPT: su receta de CPU para Tiny Shakespeare y la nuestra, en la misma ejecución.

Uso: NANOGPT_DIR=/ruta/a/nanoGPT python bench/nanogpt.py [--nanogpt RUTA] [--text tinyshakespeare.txt]
     [--parts nanogpt,nuestro,nuestro_con_sesgos,comparacion] [--iters 2000] [--repeat 1]

Datos: Tiny Shakespeare (`--text`, por defecto $TRANSFORMER_COURSE_DATA/tinyshakespeare.txt), el primer 90 % para
entrenar y el último 10 % para validar, codificado como `data/shakespeare_char/prepare.py` de nanoGPT (un id por
carácter, por orden de código). Todo se escribe en una carpeta temporal; la copia de nanoGPT solo se lee.

- nanogpt: `train.py config/train_shakespeare_char.py --device=cpu --compile=False --block_size=64 --batch_size=12
  --n_layer=4 --n_head=4 --n_embd=128 --max_iters=N --lr_decay_iters=N --dropout=0.0`, su receta para CPU, lanzado
  con la carpeta temporal como directorio de trabajo (allí están data/shakespeare_char y un enlace a configurator.py).
  ms por paso: la mediana de los tiempos que imprime en cada iteración (--log_interval=1), sin la primera ni la
  última (esas incluyen su evaluación). Segundos de entrenamiento: la suma de esos tiempos para los pasos 1…N−1 más la
  mediana por el paso 0. Bits por carácter: los pesos de su checkpoint final (tras N pasos) con su `model.py` sobre
  el 10 % de validación, con las mismas ventanas que nuestro `sequence_bits`: 64 caracteres que avanzan 32, cada
  carácter puntuado una sola vez con ≥ 32 de contexto (salvo los de la primera ventana). Su «val loss» impresa no
  es la misma cantidad (ventanas al azar, contexto medio de 32) y se guarda solo como referencia, en bits.
- nuestro: `transformer-course train gpt` con el mismo 90 % y la misma receta hasta donde llegan sus opciones
  (contexto 64, lotes de 12, 4 capas, 4 cabezas, d_model 128, sin sesgos como nanoGPT, lr 1e-3, calentamiento de 100
  pasos, coseno, weight decay 0,1, N pasos, dropout 0) y `transformer-course eval CARPETA --text val.txt` para los bits por carácter. ms
  por paso: sus segundos de entrenamiento (log.json, sin la validación) / N (la orden no registra cada paso).
- nuestro_con_sesgos: lo mismo con sesgos en las Linear y las LayerNorm (los de GPT-2, nuestro valor por defecto):
  cuánto cuestan.
- comparacion: cociente nuestro/nanoGPT de los segundos de entrenamiento de los N pasos (los ms por paso medios de
  cada uno, la misma cuenta a los dos lados: la mediana de nanoGPT deja fuera sus pasos lentos y nuestra media no) y
  diferencia de bits por carácter, con las diferencias de receta que quedan; lo mismo para la fila con sesgos, como
  referencia. Objetivo (issue 27), con la misma receta (sin sesgos): cociente ≤ 1,0 y bits por carácter ≤ los de
  nanoGPT + 0,05.

`--repeat K` mide el trío K veces, alternando (nanoGPT, nuestro, nuestro con sesgos, nanoGPT, …): en una máquina cuyo
ritmo varía de un minuto a otro, cada cociente es la mediana de los K de cada trío, no el de una sola medida. `--iters N` acorta
las dos (para probar el script); el calentamiento pasa a 100·N/2000 pasos en las dos. Sin la
ruta de nanoGPT (`--nanogpt` o NANOGPT_DIR) su fila se omite con un aviso. Cada parte es un proceso aparte, uno
detrás de otro (no a la vez): en una máquina compartida los ms por paso dependen de la carga del momento.

Todo se guarda (nunca pesos) en nbs/bench_nanogpt.json; cada parte actualiza solo lo suyo. Sale con código 1 si el
objetivo no se cumple.
"""
import argparse
import contextlib
import importlib.util
import io
import json
import math
import os
import pickle
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from _parts import run_parts

OUT = Path(__file__).parents[1] / "nbs" / "bench_nanogpt.json"
ITERS, WARMUP, LR, WEIGHT_DECAY = 2000, 100, 1e-3, 0.1
SHAPE = dict(context_len=64, d_model=128, n_heads=4, n_layers=4)              # nuestra config (la de nanoGPT abajo)
TARGET_RATIO, TARGET_BPC_MARGIN = 1.0, 0.05        # al menos igual de rápido por paso, a igual calidad
STRIDE = SHAPE["context_len"] // 2


def nanogpt_args(iters: int, warmup: int) -> list[str]:
    "Los argumentos de train.py: su receta de CPU, más lo necesario para medir sin escribir en la copia."
    recipe = ["--device=cpu", "--compile=False", "--block_size=64", "--batch_size=12", "--n_layer=4", "--n_head=4",
              "--n_embd=128", f"--max_iters={iters}", f"--lr_decay_iters={iters}", "--dropout=0.0"]
    measure = ["--out_dir=out", f"--eval_interval={iters}", "--eval_iters=20", "--log_interval=1",
               "--always_save_checkpoint=True"]                          # evalúa en 0 y en N; checkpoint tras N pasos
    return recipe + measure + ([f"--warmup_iters={warmup}"] if warmup != WARMUP else [])


def prepare(text: str, root: Path) -> dict:
    "Lo que hace prepare.py de nanoGPT, con el texto local: train.bin, val.bin y meta.pkl; y los dos textos."
    n = len(text)
    train_text, val_text = text[:int(n * 0.9)], text[int(n * 0.9):]
    chars = sorted(set(text))
    stoi, itos = {c: i for i, c in enumerate(chars)}, dict(enumerate(chars))
    data = root / "data" / "shakespeare_char"
    data.mkdir(parents=True)
    for name, part in (("train", train_text), ("val", val_text)):
        np.array([stoi[c] for c in part], dtype=np.uint16).tofile(data / f"{name}.bin")
        (root / f"{name}.txt").write_text(part, encoding="utf-8")
    with open(data / "meta.pkl", "wb") as f: pickle.dump({"vocab_size": len(chars), "itos": itos, "stoi": stoi}, f)
    return {"caracteres": n, "entrenamiento": len(train_text), "validacion": len(val_text), "vocabulario": len(chars),
            "stoi": stoi}


def strided_bits(logits_fn, ids: torch.Tensor, L: int = 64, stride: int = STRIDE, batch: int = 64) -> float:
    """Bits totales de ids[1:] con ventanas de L que avanzan `stride`; cada posición se puntúa una vez, en la
    primera ventana que la predice con ≥ L − stride de contexto (las de la primera ventana, con el que haya)."""
    N = len(ids) - 1                                                    # posiciones que predecir
    starts = list(range(0, N - L + 1, stride))
    if starts[-1] != N - L: starts.append(N - L)
    first_new = [0] + [prev + L - s for prev, s in zip(starts, starts[1:])]
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(starts), batch):
            chunk = starts[i:i + batch]
            x = torch.stack([ids[s:s + L] for s in chunk])
            y = torch.stack([ids[s + 1:s + L + 1] for s in chunk])
            nll = -logits_fn(x, y).float().log_softmax(-1).gather(-1, y[..., None])[..., 0]
            total += sum(nll[j, first_new[i + j]:].sum().item() for j in range(len(chunk)))
    return total / math.log(2)


def run(cmd: list[str], cwd: Path, log: Path) -> tuple[float, str]:
    "Ejecuta `cmd` en `cwd` (mismo entorno: hilos y núcleos de numerics.sh); devuelve (segundos, salida)."
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seconds = time.perf_counter() - start
    log.write_text(proc.stdout, encoding="utf-8")
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd[:3])} … terminó con código {proc.returncode}:\n{proc.stdout[-3000:]}")
    return seconds, proc.stdout


def nanogpt(checkout: Path, text: str, iters: int, warmup: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench_nanogpt_") as tmp:
        root = Path(tmp)
        data = prepare(text, root)
        (root / "configurator.py").symlink_to(checkout / "configurator.py")
        cmd = [sys.executable, str(checkout / "train.py"), str(checkout / "config" / "train_shakespeare_char.py"),
               *nanogpt_args(iters, warmup)]
        wall, out = run(cmd, root, root / "train.log")
        times = {int(i): float(ms) for i, ms in re.findall(r"^iter (\d+): loss \S+, time ([\d.]+)ms", out, re.M)}
        vals = {int(i): float(v) for i, v in re.findall(r"^step (\d+): train loss \S+, val loss ([\d.]+)", out, re.M)}
        steady = [times[i] for i in range(1, iters)]                   # sin el paso 0 ni el N (con evaluación)
        ms = statistics.median(steady)
        # sus bits por carácter, de su checkpoint, con su model.py y nuestras ventanas
        spec = importlib.util.spec_from_file_location("nanogpt_model", checkout / "model.py")
        module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
        ckpt = torch.load(root / "out" / "ckpt.pt", map_location="cpu", weights_only=False)
        with contextlib.redirect_stdout(io.StringIO()):                 # su constructor imprime los parámetros
            model = module.GPT(module.GPTConfig(**ckpt["model_args"]))
        model.load_state_dict(ckpt["model"]); model.eval()
        val_ids = torch.from_numpy(np.fromfile(root / "data" / "shakespeare_char" / "val.bin", dtype=np.uint16).astype(np.int64))
        start = time.perf_counter()
        bits = strided_bits(lambda x, y: model(x, y)[0], val_ids)
        return {"orden": "python train.py config/train_shakespeare_char.py " + " ".join(nanogpt_args(iters, warmup)),
                "commit": _git_head(checkout), "iteraciones": iters, "pasos_ejecutados": max(times) + 1,
                "checkpoint_tras_pasos": ckpt["iter_num"], "parametros": sum(p.numel() for p in model.parameters()),
                "ms_por_paso": round(ms, 2), "ms_por_paso_p10_p90": [round(q, 2) for q in _deciles(steady)],
                "segundos_entrenamiento": round((sum(steady) + ms) / 1000, 1), "segundos_proceso": round(wall, 1),
                "bpc_validacion": round(bits / (len(val_ids) - 1), 4), "segundos_bpc": round(time.perf_counter() - start, 1),
                "val_loss_impresa_en_bits": {str(k): round(v / math.log(2), 4) for k, v in vals.items()},
                "datos": {k: v for k, v in data.items() if k != "stoi"}}


def ours(text: str, iters: int, warmup: int, bias: bool) -> dict:
    from transformer_course.data import split_text
    exe = Path(sys.executable).with_name("transformer-course")
    with tempfile.TemporaryDirectory(prefix="bench_nuestro_") as tmp:
        root = Path(tmp)
        data = prepare(text, root)
        options = ["--steps", str(iters), "--batch-size", "12", "--lr", str(LR), "--warmup", str(warmup),
                   "--schedule", "cosine", "--weight-decay", str(WEIGHT_DECAY), "--eval-every", str(iters),
                   "--config", json.dumps({**SHAPE, "dropout": 0.0, "bias": bias}), "--tokenizer", "char", "--device", "cpu", "--quiet"]
        wall, _ = run([str(exe), "train", "gpt", "--text", "train.txt", "--out", "run", *options], root, root / "train.log")
        log = json.loads((root / "run" / "log.json").read_text(encoding="utf-8"))
        start = time.perf_counter()
        _, out = run([str(exe), "eval", "run", "--text", "val.txt"], root, root / "eval.log")
        bpc = float(re.search(r"bits_per_char: ([\d.]+)", out).group(1))
        vocab = json.loads((root / "run" / "run.json").read_text(encoding="utf-8"))["config"]["vocab_size"]
        used = split_text((root / "train.txt").read_text(encoding="utf-8"), seed=0)   # lo que hace la orden por dentro
        return {"orden": "transformer-course train gpt --text train.txt " + shlex.join(options),
                "iteraciones": iters, "pasos_ejecutados": log["step"], "parametros": log["parameters"],
                "ms_por_paso": round(log["train_seconds"] / log["step"] * 1000, 2),
                "segundos_entrenamiento": round(log["train_seconds"], 1), "segundos_proceso": round(wall, 1),
                "bpc_validacion": round(bpc, 4), "segundos_bpc": round(time.perf_counter() - start, 1),
                "bpc_validacion_interna": round(log["validation"]["bits_per_char"], 4),
                "vocabulario": vocab, "caracteres_entrenamiento_usados": len(used.train),
                "caracteres_entrenamiento_dados": data["entrenamiento"]}


def _deciles(xs):
    qs = statistics.quantiles(xs, n=10)
    return qs[0], qs[-1]


def _git_head(path: Path):
    try: return subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip() or None
    except OSError: return None


DIFFERENCES = [  # lo que la orden no deja igualar (o iguala de otra manera)
    "β2 de AdamW: nanoGPT 0,99; nosotros 0,999 (el de PyTorch: la orden no tiene opción)",
    "sesgos: ninguno en los dos (nanoGPT bias=False, nosotros \"bias\": false), ni en las Linear ni en las LayerNorm; "
    "nuestro_con_sesgos los lleva en todas, como GPT-2",
    "q, k, v: nanoGPT una sola Linear c_attn de C → 3C; nosotros tres Linear de C → C",
    "máscara causal: nanoGPT is_causal=True en SDPA; nosotros una máscara booleana (T, T) explícita",
    "datos: nanoGPT entrena con todo el 90 %; la orden lo parte otra vez en bloques 80/10/10 (split_text) y entrena "
    "con el 80 % de él (caracteres_entrenamiento_usados)",
    "vocabulario: nanoGPT 65 caracteres; nosotros los caracteres de nuestro entrenamiento + 7 especiales",
    "inicialización: las posiciones N(0; 0,02) en nanoGPT y N(0; 0,01) en la nuestra; el resto igual (0,02 y "
    "0,02/√(2L) en las proyecciones de salida)",
    "AdamW: nanoGPT el de PyTorch tensor a tensor (en CPU no usa fused); nosotros fused=True, un núcleo para todos "
    "los tensores (el apéndice de entrenamiento)",
    "calentamiento: nanoGPT lr·(i+1)/(w+1); nosotros lr·(i+1)/w. Iguales: coseno hasta lr/10 = 1e-4 en N pasos, "
    "weight decay 0,1 en los tensores de ≥ 2 dimensiones (embeddings y posiciones incluidos), recorte del gradiente "
    "a norma 1, salida atada a los embeddings, GELU exacta, ε de LayerNorm 1e-5",
    "pasos: nanoGPT hace N + 1 (su bucle sigue hasta iter_num > max_iters), pero su checkpoint es de tras N",
    "semillas: nanoGPT 1337 (torch.manual_seed, lotes con el generador global); nosotros 0",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", default="nanogpt,nuestro,nuestro_con_sesgos,comparacion")
    parser.add_argument("--nanogpt", type=Path, default=os.environ.get("NANOGPT_DIR"), metavar="RUTA",
                        help="copia de karpathy/nanoGPT (o la variable NANOGPT_DIR)")
    parser.add_argument("--text", type=Path, metavar="ARCHIVO", help="Tiny Shakespeare (por defecto, "
                        "$TRANSFORMER_COURSE_DATA/tinyshakespeare.txt)")
    parser.add_argument("--iters", type=int, default=ITERS, help=f"pasos de cada entrenamiento ({ITERS})")
    parser.add_argument("--repeat", type=int, default=1, help="veces que se mide el trío nanoGPT/nuestro/con sesgos, "
                        "alternos; cada cociente es la mediana de los de cada trío (1)")
    args = parser.parse_args()
    if args.iters < 2: parser.error("--iters debe ser ≥ 2")
    if args.repeat < 1: parser.error("--repeat debe ser ≥ 1")
    path = args.text or Path(os.environ.get("TRANSFORMER_COURSE_DATA", Path(__file__).parents[2] / "shared" / "data")) / "tinyshakespeare.txt"
    if not path.is_file():
        print(f"No encuentro Tiny Shakespeare en {path}: dalo con --text ARCHIVO.", file=sys.stderr)
        return 2
    text = path.read_text(encoding="utf-8")
    warmup = round(WARMUP * args.iters / ITERS)
    measured, times = {}, {"nanogpt": [], "nuestro": [], "nuestro_con_sesgos": []}   # segundos de cada repetición

    def nanogpt_part():
        if args.nanogpt is None or not (Path(args.nanogpt) / "train.py").is_file():
            why = "no se dio su ruta (--nanogpt RUTA o NANOGPT_DIR)" if args.nanogpt is None else \
                f"{args.nanogpt} no tiene train.py"
            print(f"nanoGPT: fila omitida, {why}.")
            return "nanogpt", {"omitido": why}, True
        r = measured["nanogpt"] = nanogpt(Path(args.nanogpt).resolve(), text, args.iters, warmup)
        times["nanogpt"].append(r["segundos_entrenamiento"])
        print(f"nanoGPT: {r['ms_por_paso']} ms por paso, {r['segundos_entrenamiento']} s, {r['bpc_validacion']} bits por carácter")
        return "nanogpt", r, True

    def ours_part(name: str, bias: bool):
        r = measured[name] = ours(text, args.iters, warmup, bias)
        times[name].append(r["segundos_entrenamiento"])
        print(f"{name}: {r['ms_por_paso']} ms por paso, {r['segundos_entrenamiento']} s, {r['bpc_validacion']} bits por carácter")
        return name, r, True

    def comparison_part():
        stored = json.loads(OUT.read_text(encoding="utf-8")) if OUT.exists() else {}
        a, b = (measured.get(k) or stored.get(k) or {} for k in ("nuestro", "nanogpt"))
        if "ms_por_paso" not in a or "ms_por_paso" not in b:
            print("comparación omitida: falta la fila de nanoGPT o la nuestra.")
            return "comparacion", {"omitida": "falta una de las dos filas"}, True
        if a["iteraciones"] != b["iteraciones"]:
            print("comparación omitida: las dos filas son de distinto número de pasos.")
            return "comparacion", {"omitida": "filas con distinto número de pasos"}, True
        per_turn = lambda name: [x / y for x, y in zip(times[name], times["nanogpt"])]   # frente a nanoGPT, turno a turno
        ratios = per_turn("nuestro") or [a["segundos_entrenamiento"] / b["segundos_entrenamiento"]]
        ratio, gap = statistics.median(ratios), a["bpc_validacion"] - b["bpc_validacion"]
        r = {"iteraciones": a["iteraciones"], "misma_ejecucion": "nuestro" in measured and "nanogpt" in measured,
             "cociente_ms_por_paso": round(ratio, 3), "cocientes_por_repeticion": [round(x, 3) for x in ratios],
             "segundos_entrenamiento_por_repeticion": times, "diferencia_bpc": round(gap, 4),
             "objetivo": f"cociente ≤ {TARGET_RATIO} y diferencia de bits por carácter ≤ {TARGET_BPC_MARGIN}, sin sesgos",
             "diferencias_de_receta": DIFFERENCES}
        print(f"nuestro/nanoGPT: ×{ratio:.3f} en ms por paso medios (mediana de {len(ratios)}); {gap:+.4f} bits por carácter")
        if times["nuestro_con_sesgos"] and times["nanogpt"]:               # la referencia: con los sesgos de GPT-2 (medida ahora)
            with_bias = per_turn("nuestro_con_sesgos")
            r |= {"cociente_con_sesgos": round(statistics.median(with_bias), 3),
                  "cocientes_con_sesgos_por_repeticion": [round(x, 3) for x in with_bias],
                  "diferencia_bpc_con_sesgos": round(measured["nuestro_con_sesgos"]["bpc_validacion"] - b["bpc_validacion"], 4)}
            print(f"con sesgos/nanoGPT: ×{r['cociente_con_sesgos']:.3f}; {r['diferencia_bpc_con_sesgos']:+.4f} bits por carácter")
        return "comparacion", r, ratio <= TARGET_RATIO and gap <= TARGET_BPC_MARGIN

    parts = {"nanogpt": nanogpt_part, "nuestro": lambda: ours_part("nuestro", False),
             "nuestro_con_sesgos": lambda: ours_part("nuestro_con_sesgos", True), "comparacion": comparison_part}
    selected = args.parts.split(",")
    training = ",".join(p for p in selected if p != "comparacion")
    for _ in range(args.repeat - 1):                        # las repeticiones de más: solo los entrenamientos
        if training and (code := run_parts(OUT, parts, training)) == 2: return code
    return run_parts(OUT, parts, args.parts)


if __name__ == "__main__":
    sys.exit(main())
