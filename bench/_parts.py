"""Lo común a los benchmarks que se hacen por partes (bench/rnn.py, gpt.py, advances.py, assistant.py y
nanogpt.py): elegir las partes con --parts, medir lo que tarda cada una y guardar el JSON de forma atómica tras
cada parte, para que un corte no pierda lo ya medido ni deje el archivo a medias."""
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

from transformer_course.core import atomic_write


def run_parts(out: Path, parts: dict[str, Callable[[], tuple[str, dict, bool]]], selected: str) -> int:
    """Ejecuta las partes de `selected` (nombres separados por comas); cada una devuelve (clave del JSON,
    resultado, ¿se cumple su afirmación?). Actualiza solo lo suyo en `out`. Devuelve el código de salida."""
    names = selected.split(",")
    unknown = [name for name in names if name not in parts]
    if unknown:
        print(f"Partes desconocidas: {', '.join(unknown)}; las partes son {', '.join(parts)}.", file=sys.stderr)
        return 2
    results = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    results["maquina"] = {"hilos": torch.get_num_threads(), "torch": torch.__version__}
    ok = True
    for name in names:
        start = time.perf_counter()
        key, results[key], met = parts[name]()
        ok &= met
        results.setdefault("segundos", {})[name] = round(time.perf_counter() - start)
        with atomic_write(out, "w") as f: f.write(json.dumps(results, ensure_ascii=False, indent=1) + "\n")
    print(f"Guardado en {out}. Afirmaciones {'cumplidas' if ok else 'NO cumplidas'}.")
    return 0 if ok else 1
