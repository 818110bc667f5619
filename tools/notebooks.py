"""Ejecuta y normaliza los cuadernos del curso, y comprueba que llevan sus resultados.

Uso:
    python tools/notebooks.py run [CUADERNO ...]   # ejecuta en su sitio y normaliza (todos si no se nombra ninguno)
    python tools/notebooks.py check                # falla si algún cuaderno del índice no está ejecutado o normalizado

La web muestra los resultados guardados en los cuadernos y nbval comprueba que son los que produce el
código; por eso los cuadernos se guardan *ejecutados*, con su `execution_count`, y en una forma
normalizada (sin metadatos de la sesión) para que los diffs de git muestren solo cambios reales.
El índice también enlaza páginas de texto en MyST Markdown (`.md`: notación, glosario, bibliografía),
que no tienen código: de ellas solo se comprueba que existen.
"""
import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CELL_KEYS = {"tags", "mystnb"}  # metadatos de celda que se conservan (los mismos que admite nbdev)
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python", "pygments_lexer": "ipython3"}


PAGE_SUFFIXES = (".ipynb", ".md")  # lo que puede ser una página del índice: un cuaderno o texto en MyST


def _page_path(entry: str) -> Path:
    "El archivo de una entrada de `_toc.yml` (que puede llevar extensión o no); si no existe, el `.ipynb`."
    path = ROOT/entry
    if path.suffix in PAGE_SUFFIXES: return path
    for suffix in PAGE_SUFFIXES:
        if path.with_name(path.name + suffix).exists(): return path.with_name(path.name + suffix)
    return path.with_name(path.name + ".ipynb")


def toc_pages() -> list[Path]:
    "Las páginas que enlaza `_toc.yml`, en orden: cuadernos (`.ipynb`) y páginas de texto (`.md`)."
    import yaml
    toc = yaml.safe_load((ROOT/"_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]
    def walk(entries):
        for entry in entries or []:
            if "file" in entry: files.append(entry["file"])
            walk(entry.get("sections"))
    for part in toc.get("parts", []): walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return [_page_path(f) for f in files]


def toc_notebooks() -> list[Path]:
    "Los cuadernos que enlaza `_toc.yml`, en orden (sin las páginas de texto)."
    return [p for p in toc_pages() if p.suffix == ".ipynb"]


_OVERWRITTEN = re.compile(r"^.*\r(?=[^\n])", re.MULTILINE)   # lo que un \r manda sobrescribir (como nbval)


def tidy_streams(outputs: list) -> list:
    """Junta las salidas de texto seguidas del mismo flujo y aplica los retornos de carro, como Jupyter en
    pantalla: de una barra de progreso queda su último estado, no cien líneas en la web."""
    tidy = []
    for out in outputs:
        if out.get("output_type") == "stream":
            text = "".join(out["text"]) if isinstance(out["text"], list) else out["text"]
            if tidy and tidy[-1].get("output_type") == "stream" and tidy[-1]["name"] == out["name"]:
                text = "".join(tidy.pop()["text"]) + text
            out = {**out, "text": _OVERWRITTEN.sub("", text).splitlines(keepends=True)}
        tidy.append(out)
    return tidy


def normalize(nb: dict) -> dict:
    "El cuaderno sin metadatos de sesión, con ids estables, el núcleo de Python 3 y las barras de progreso en su estado final."
    nb["metadata"] = {"kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO}
    for i, cell in enumerate(nb["cells"]):
        cell["id"] = f"c{i:03d}"
        cell["metadata"] = {k: v for k, v in cell.get("metadata", {}).items() if k in CELL_KEYS}
        if cell["cell_type"] == "code":
            cell["outputs"] = tidy_streams(cell.get("outputs", []))
            for out in cell["outputs"]:
                if out.get("output_type") == "execute_result": out["execution_count"] = cell["execution_count"]
    nb["nbformat"], nb["nbformat_minor"] = 4, 5
    return nb


def dump(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def run(paths: list[Path]) -> None:
    if os.environ.get("ATEN_CPU_CAPABILITY") != "avx2" or os.environ.get("MKL_CBWR") != "AVX2":
        sys.exit("✗ Los resultados que se guardan deben salir de los caminos numéricos fijados en tools/numerics.sh "
                 "(si no, otra CPU no los reproduce): ejecuta `make notebooks` o `source tools/numerics.sh` antes.")
    amd = "AuthenticAMD" in Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else False
    preloaded = [Path(p) for p in os.environ.get("LD_PRELOAD", "").split(":") if p.endswith("mkl_intel_cpu.so")]
    if amd and not any(p.is_file() for p in preloaded):
        sys.exit("✗ En esta CPU de AMD, MKL no respeta MKL_CBWR sin tools/mkl_intel_cpu.c precargado: carga tools/numerics.sh "
                 "desde la raíz del curso (sus avisos dicen si falta un compilador de C o si la ruta tiene espacios).")
    import nbformat
    from nbclient import NotebookClient
    for path in paths:
        print(f"Ejecutando {path.relative_to(ROOT)} …", flush=True)
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=900, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        path.write_text(dump(normalize(json.loads(nbformat.writes(nb)))), encoding="utf-8")


def problems(path: Path) -> list[str]:
    "Lo que le falta a un cuaderno para que la web muestre sus resultados y nbval los compruebe."
    if not path.exists(): return [f"{path.relative_to(ROOT)}: está en _toc.yml pero no existe."]
    text = path.read_text(encoding="utf-8")
    nb = json.loads(text)
    name = path.relative_to(ROOT)
    found = []
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    counts = [c.get("execution_count") for c in code]
    if any(n is None for n in counts):
        found.append(f"{name}: {counts.count(None)} de {len(code)} celdas de código no están ejecutadas.")
    elif counts != list(range(1, len(code) + 1)):
        found.append(f"{name}: las celdas no se ejecutaron en orden de principio a fin ({counts}).")
    for c in code:
        if any(o.get("output_type") == "error" for o in c.get("outputs", [])):
            found.append(f"{name}: la celda {c.get('id')} guarda un error.")
    if text != dump(normalize(json.loads(text))):
        found.append(f"{name}: no está normalizado; ejecútalo con `python tools/notebooks.py run {name}`.")
    return found


def check() -> int:
    pages = toc_pages()
    listed = [p for p in pages if p.suffix == ".ipynb"]
    texts = [p for p in pages if p.suffix != ".ipynb"]
    extra = sorted((set((ROOT/"nbs").glob("*.ipynb")) | set((ROOT/"nbs").glob("*.md"))) - set(pages))
    found = [f"{p.relative_to(ROOT)}: no está en _toc.yml (la web no lo mostraría)." for p in extra]
    for path in listed: found += problems(path)
    found += [f"{p.relative_to(ROOT)}: está en _toc.yml pero no existe." for p in texts if not p.exists()]
    for line in found: print("✗", line)
    if not found:
        print(f"✓ {len(listed)} cuadernos del índice ejecutados en orden, sin errores y normalizados; "
              f"{len(texts)} páginas de texto presentes.")
    return 1 if found else 0


if __name__ == "__main__":
    command, *names = sys.argv[1:] or ["check"]
    if command == "run":
        run([Path(n).resolve() for n in names] or toc_notebooks())
    elif command == "check":
        sys.exit(check())
    else:
        sys.exit(__doc__)
