"""Genera nbs/ejercicios.md, el índice de los ejercicios del curso por capítulo y dificultad, leyendo los cuadernos.

Uso: python tools/exercises.py          # escribe nbs/ejercicios.md
     python tools/exercises.py --check  # falla si nbs/ejercicios.md no es lo que generaría (lo usa make test)

Cada ejercicio de un cuaderno es una directiva de sphinx-exercise con título, etiqueta y dificultad:

    ````{exercise} Demostrar que RoPE solo depende de la diferencia de ángulos
    :label: adv-rope-norm
    :class: dificultad-1
    ````

La dificultad es 1 (básico), 2 (intermedio) o 3 (avanzado); la hoja de estilo del libro la muestra junto al título.
"""
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from notebooks import ROOT, toc_notebooks  # noqa: E402

OUT = ROOT / "nbs" / "ejercicios.md"
LEVELS = {1: "básico", 2: "intermedio", 3: "avanzado"}
EXERCISE = re.compile(r"^(`{3,})\{exercise\}[ \t]*(?P<title>[^\n]*)\n(?P<options>(?::[\w-]+:[^\n]*\n)*)", re.MULTILINE)


def exercises(notebook: Path) -> tuple[str, list[dict]]:
    "El título del capítulo y sus ejercicios (etiqueta, título, dificultad, si la solución ejecuta código)."
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    chapter, found, solutions = None, [], {}
    current = None                                          # la solución abierta: su etiqueta y si tiene código
    for cell in cells:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            if chapter is None and (heading := re.search(r"^# (.+)$", text, re.MULTILINE)): chapter = heading.group(1)
            for match in EXERCISE.finditer(text):
                options = dict(re.findall(r"^:([\w-]+):[ \t]*(.*)$", match.group("options"), re.MULTILINE))
                where = f"{notebook.name}, ejercicio {options.get('label', '(sin etiqueta)')}"
                if not match.group("title").strip() or "label" not in options:
                    raise SystemExit(f"✗ {where}: cada ejercicio necesita un título y una etiqueta (:label:).")
                level = re.fullmatch(r"dificultad-([123])", options.get("class", "").strip())
                if not level:
                    raise SystemExit(f"✗ {where}: falta la dificultad; añade «:class: dificultad-1» (básico), "
                                     "«dificultad-2» (intermedio) o «dificultad-3» (avanzado).")
                found.append({"label": options["label"], "title": match.group("title").strip(), "level": int(level.group(1))})
            if start := re.search(r"\{solution-start\}[ \t]*([\w-]+)", text): current = solutions[start.group(1)] = []
            if "{solution-end}" in text: current = None
        elif current is not None:
            current.append(cell)
    for exercise in found:
        code = solutions.get(exercise["label"])
        exercise["solution"] = "sin solución" if code is None else ("ejecutada" if code else "en el texto")
    return chapter or notebook.stem, found


def render() -> str:
    lines = ["# Índice de ejercicios", "",
             "Todos los ejercicios del curso, capítulo a capítulo, con su dificultad: **básico** (entender y",
             "comprobar con una cuenta o unas líneas de código), **intermedio** (una derivación, o un experimento",
             "que cambia algo del capítulo) y **avanzado** (una implementación nueva o un experimento que hay que",
             "diseñar). Cada ejercicio tiene su solución, plegada bajo el enunciado; las que llevan código se",
             "ejecutan con el capítulo, así que sus resultados son los que produce ese código. Esta página la",
             "genera `tools/exercises.py` a partir de los cuadernos: no la edites a mano.", ""]
    totals = {level: 0 for level in LEVELS}
    for notebook in toc_notebooks():
        chapter, found = exercises(notebook)
        if not found: continue
        lines += [f"## [{chapter}]({notebook.name})", "", "| ejercicio | dificultad | solución |", "|---|---|---|"]
        for e in found:
            totals[e["level"]] += 1
            lines.append(f"| {{ref}}`{e['title']} <{e['label']}>` | {LEVELS[e['level']]} | {e['solution']} |")
        lines.append("")
    summary = ", ".join(f"{n} de nivel {LEVELS[level]}" for level, n in totals.items())
    lines += [f"En total, {sum(totals.values())} ejercicios: {summary}.", ""]
    return "\n".join(lines)


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"✗ {OUT.relative_to(ROOT)} no está al día con los ejercicios de los cuadernos: ejecuta "
                  "python tools/exercises.py y guarda el resultado.", file=sys.stderr)
            return 1
        print(f"✓ {OUT.relative_to(ROOT)} recoge los ejercicios de los cuadernos")
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"✓ Escrito {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
