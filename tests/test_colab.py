"""Lo que promete la celda oculta de cada cuaderno en Colab y Binder: que `transformer_course[curso]`
instala todo lo que importan los capítulos (además de Jupyter, que Colab y Binder ya traen)."""
import ast
import json
import re
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT/"nbs").glob("*.ipynb"))
PROVIDED = {"IPython", "transformer_course"}   # Jupyter trae IPython; la celda oculta instala el paquete


def notebook_imports(path: Path) -> set[str]:
    "Los módulos de primer nivel que importa el código de un cuaderno (las líneas mágicas no cuentan)."
    modules = set()
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "code": continue
        source = re.sub(r"^(\s*)[%!].*$", r"\1pass", "".join(cell["source"]), flags=re.MULTILINE)
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import): modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0: modules.add(node.module.split(".")[0])
    return modules


def installed_with(extra: str) -> set[str]:
    "Las distribuciones que instala `pip install transformer_course[extra]`, con sus dependencias."
    project = tomllib.loads((ROOT/"pyproject.toml").read_text(encoding="utf-8"))["project"]
    pending = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"][extra]]
    found = set()
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in found or name == "transformer-course": continue
        found.add(name)
        try: children = requires(name) or []
        except PackageNotFoundError: continue
        for child in map(Requirement, children):
            if child.marker is None or child.marker.evaluate({"extra": ""}): pending.append(child)
    return found


def test_el_extra_curso_cubre_los_imports_de_los_cuadernos():
    assert len(NOTEBOOKS) >= 13
    available = installed_with("curso")
    distributions = packages_distributions()
    missing = {}
    for path in NOTEBOOKS:
        for module in notebook_imports(path) - PROVIDED - set(sys.stdlib_module_names):
            names = {canonicalize_name(d) for d in distributions.get(module, [module])}
            if not names & available: missing.setdefault(module, []).append(path.name)
    assert not missing, (f"Estos módulos los importa algún cuaderno pero `transformer_course[curso]` no los "
                         f"instala (en Colab fallaría la celda): {missing}. Añádelos al extra «curso» de pyproject.toml.")


def test_la_comprobacion_detecta_un_import_sin_declarar(tmp_path):
    notebook = tmp_path/"nuevo.ipynb"
    notebook.write_text(json.dumps({"cells": [{"cell_type": "code", "source": [
        "try:\n", "    import transformer_course\n", "except ImportError:\n", "    %pip install -q algo\n",
        "import pandas as pd\n", "from sklearn.linear_model import LogisticRegression\n", "from . import local\n"]}]}))
    assert notebook_imports(notebook) == {"transformer_course", "pandas", "sklearn"}
    assert "scikit-learn" in installed_with("curso") and "pandas" not in installed_with("curso")
