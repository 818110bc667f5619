"""Benchmarks del capítulo de atención, con `torch.nn.MultiheadAttention` medido en la misma ejecución.

Uso: python bench/attention.py

1. `MultiHeadAttention` hacia delante + hacia atrás frente a `torch.nn.MultiheadAttention` (autoatención, d_model 256,
   4 cabezas) con varias longitudes y lotes, sin máscara, con máscara causal y con relleno, por las dos rutas:
   sin pedir los pesos (las dos acaban en `F.scaled_dot_product_attention`) y pidiéndolos (la nuestra, desde cero,
   frente a la de PyTorch con `average_attn_weights=False`). Objetivo: ≤ 1,25× en la ruta por defecto.
2. Memoria de la atención frente a T: pico de memoria residente de un proceso nuevo por cada T (hacia delante y hacia
   atrás) y bytes guardados para la pasada atrás, junto a la predicción 4·B·H·T² bytes de la matriz de pesos.
Sale con código 1 si el objetivo de velocidad no se cumple.
"""
import subprocess
import sys

import torch
from torch import nn

from transformer_course.attention import MultiHeadAttention, causal_mask, copy_weights_from_torch_mha, saved_bytes
from transformer_course.core import time_call

D_MODEL, HEADS = 256, 4


def speed() -> float:
    worst = 0.0
    print("fwd+bwd, mediana de 7 | B T máscara | ruta | curso | PyTorch | cociente")
    for B, T in ((32, 64), (16, 128), (8, 256), (4, 512)):
        torch.manual_seed(0)
        theirs = nn.MultiheadAttention(D_MODEL, HEADS, batch_first=True)
        ours = copy_weights_from_torch_mha(MultiHeadAttention(D_MODEL, HEADS), theirs)
        x = torch.randn(B, T, D_MODEL, requires_grad=True)
        keep = torch.arange(T) < torch.randint(T // 2, T + 1, (B,))[:, None]
        masks = {"ninguna": (None, {}), "causal": (causal_mask(T), {"attn_mask": ~causal_mask(T)}),
                 "relleno": (keep[:, None, :], {"key_padding_mask": ~keep})}
        for mask_name, (our_mask, their_masks) in masks.items():
            for need_weights in (False, True):
                t_ours = time_call(lambda: ours(x, mask=our_mask, need_weights=need_weights)[0].sum().backward(), repeats=7)["seconds"]
                t_theirs = time_call(lambda: theirs(x, x, x, need_weights=need_weights, average_attn_weights=False,
                                                    **their_masks)[0].sum().backward(), repeats=7)["seconds"]
                ratio = t_ours / t_theirs
                if not need_weights: worst = max(worst, ratio)
                route = "con pesos" if need_weights else "sin pesos"
                print(f"{B} {T} {mask_name} | {route} | {1000 * t_ours:.1f} ms | {1000 * t_theirs:.1f} ms | {ratio:.2f}×")
    return worst


# El pico se lee de VmHWM (/proc/self/status), que empieza de cero en cada proceso nuevo; ru_maxrss no sirve aquí
# porque en Linux el hijo lo hereda del padre al hacer fork.
CHILD = """
import sys, torch
from transformer_course.attention import MultiHeadAttention, causal_mask
T, need_weights = int(sys.argv[1]), sys.argv[2] == "1"
torch.manual_seed(0)
mha = MultiHeadAttention(256, 4)
x = torch.randn(8, T, 256, requires_grad=True)
mask = causal_mask(T)
hwm = lambda: int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) * 1024
mha(x[:, :8], mask=causal_mask(8), need_weights=need_weights)[0].sum().backward()  # calentamiento
before = hwm()
mha(x, mask=mask, need_weights=need_weights)[0].sum().backward()
print(hwm() - before)
"""


def memory() -> None:
    print("Memoria (B = 8, d_model 256, 4 cabezas, máscara causal), MiB")
    print("T | predicción 4·B·H·T² | guardado, con pesos | pico, con pesos | guardado, ruta rápida | pico, ruta rápida")
    mha = MultiHeadAttention(D_MODEL, HEADS)
    for T in (128, 256, 512, 1024, 2048):
        x = torch.randn(8, T, D_MODEL, requires_grad=True)
        row = [4 * 8 * HEADS * T**2]
        for need_weights in (True, False):
            row.append(saved_bytes(lambda: mha(x, mask=causal_mask(T), need_weights=need_weights)))
            peak = subprocess.run([sys.executable, "-c", CHILD, str(T), str(int(need_weights))],
                                  capture_output=True, text=True, check=True)
            row.append(int(peak.stdout))
        print(f"{T} | " + " | ".join(f"{b / 2**20:.0f}" for b in row))


def main() -> int:
    memory()
    worst = speed()
    print(f"\nPeor cociente en la ruta por defecto (sin pesos): {worst:.2f}× (objetivo ≤ 1,25×)")
    return 0 if worst <= 1.25 else 1


if __name__ == "__main__":
    sys.exit(main())
