"""La regla de las importaciones: solo cuesta abajo. Un capítulo importa capítulos anteriores y los
módulos comunes; los módulos comunes no importan ningún capítulo."""
import ast
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT/"transformer_course"
# Los módulos comunes (apéndices) y el orden de los capítulos del curso.
GENERIC = {"core", "training"}
CHAPTERS = ["data", "ngram", "tokenization", "rnn", "attention", "transformer", "bert", "gpt", "advances", "assistant",
            "cli", "distributed"]
RANK = {name: i for i, name in enumerate(CHAPTERS, start=1)} | {name: 0 for name in GENERIC}


def imported_modules(source: str) -> set[str]:
    "Los módulos del paquete que importa `source` (import relativo o absoluto)."
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module: found.add(node.module.split(".")[0])
            elif node.level == 0 and (node.module or "").startswith("transformer_course."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("transformer_course.")}
    return found


def check(name: str, imports: set[str]) -> list[str]:
    problems = []
    for other in imports:
        if other not in RANK:
            problems.append(f"{name} importa {other}, que no está en el orden del curso (añádelo a CHAPTERS o GENERIC)")
        elif name in GENERIC and other not in GENERIC:
            problems.append(f"{name} es un módulo común y no puede importar el capítulo {other}")
        elif RANK[other] > RANK[name]:
            problems.append(f"{name} importa {other}, un capítulo posterior")
    return problems


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.glob("*.py") if not p.name.startswith("_"))


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.stem)
def test_modules_import_only_downhill(path):
    assert path.stem in RANK, f"{path.stem} no está en el orden del curso (CHAPTERS o GENERIC de este archivo)"
    assert check(path.stem, imported_modules(path.read_text(encoding="utf-8"))) == []


def test_notebooks_import_only_downhill():
    "Las demostraciones de un cuaderno tampoco usan capítulos posteriores al suyo."
    problems = []
    for nb_path in sorted((ROOT/"nbs").glob("*.ipynb")):
        cells = json.loads(nb_path.read_text(encoding="utf-8"))["cells"]
        code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
        exp = [line.split()[-1] for src in code for line in src.splitlines() if line.startswith("#| default_exp")]
        if not exp: continue
        source = "\n".join(line.split("%")[0] + "pass" if line.lstrip().startswith(("%", "!")) else line
                           for src in code for line in src.splitlines())
        imports = imported_modules(source) - {exp[0]}
        # Los apéndices pueden usar en sus demostraciones los datos del curso (capítulo 1), nada más.
        if exp[0] in GENERIC: imports -= {"data"}
        problems += [f"{nb_path.name}: {p}" for p in check(exp[0], imports)]
    assert problems == []


def test_the_rule_would_catch_a_violation():
    assert check("core", {"rnn"}) and check("ngram", {"attention"}) and not check("attention", {"rnn", "core"})
