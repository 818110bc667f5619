#!/usr/bin/env bash
# Todas las comprobaciones del curso. Las llama `make test` (y .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONHASHSEED=0          # el orden de los conjuntos y diccionarios no cambia entre ejecuciones
source tools/numerics.sh         # los mismos caminos numéricos con que se guardaron los resultados
bash tools/env.sh
PY=.venv/bin/python

if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "→ Instalando Chromium (para comprobar la web como la vería un lector)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null
  else
    echo "✗ Falta Chromium, que hace falta para comprobar la web: instálalo (p. ej. 'sudo apt-get install chromium')." >&2
    exit 1
  fi
fi
[ -n "${TRANSFORMER_COURSE_DATA:-}" ] && echo "→ Datos desde la carpeta local $TRANSFORMER_COURSE_DATA" \
  || echo "→ Datos desde la caché o descargados (define TRANSFORMER_COURSE_DATA para usar una carpeta local)"

echo "== 1/5 El paquete es exactamente lo que exportan los cuadernos (nbdev-export)"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cp -r pyproject.toml nbs "$tmp"/
mkdir "$tmp/transformer_course" && cp transformer_course/__init__.py "$tmp/transformer_course/"
(cd "$tmp" && "$OLDPWD/.venv/bin/nbdev-export")
if ! diff -r -x __pycache__ "$tmp/transformer_course" transformer_course; then
  echo "✗ transformer_course/ no coincide con lo que exportan los cuadernos: ejecuta .venv/bin/nbdev-export y guarda el resultado." >&2
  exit 1
fi
echo "✓ transformer_course/ coincide con la exportación de nbs/"

echo "== 2/5 Cada cuaderno del índice guarda sus resultados, ejecutado en orden y normalizado"
$PY tools/notebooks.py check
$PY tools/exercises.py --check

echo "== 3/5 nbval (los resultados guardados y la tabla comparativa se reproducen) y las pruebas del paquete"
$PY -m pytest -p no:cacheprovider tests nbs --nbval --nbval-current-env \
  --nbval-sanitize-with tools/nbval_sanitize.cfg --durations=25

if git rev-parse --git-dir >/dev/null 2>&1 && ! git diff --quiet -- nbs/resultados.json; then
  git --no-pager diff -- nbs/resultados.json
  echo "✗ Al volver a ejecutar los cuadernos, la tabla comparativa (nbs/resultados.json) cambió: las cifras guardadas no se reproducen." >&2
  exit 1
fi
echo "✓ La tabla comparativa nbs/resultados.json se reproduce"

echo "== 4/5 La web se construye sin avisos"
bash tools/web.sh

echo "== 5/5 La web vista en Chromium: fórmulas, figuras, búsqueda, sin peticiones externas y accesible (axe-core)"
$PY tools/check_site.py
