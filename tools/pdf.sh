#!/usr/bin/env bash
# Versión imprimible del curso (make pdf): jupyter-book construye el libro entero en una sola página HTML
# (constructor singlehtml) y Chromium sin interfaz la imprime a PDF, sin conexión: fórmulas (MathJax), figuras y
# resultados salen de la propia carpeta. No usa LaTeX, que no hace falta instalar.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/env.sh
if ! command -v chromium >/dev/null; then
  echo "✗ Falta Chromium, que imprime el PDF: instálalo (p. ej. 'sudo apt-get install chromium')." >&2
  exit 1
fi
out=_build/pdf
rm -rf "$out"
.venv/bin/jupyter-book build . --toc _toc.yml --config book/_config.yml --builder singlehtml \
  --path-output "$out" -W --keep-going --quiet
page="$out/_build/singlehtml"
cp "$page/nbs/index.html" "$page/curso.html"      # las rutas de la página única son relativas a su raíz
profile=$(mktemp -d); trap 'rm -rf "$profile"' EXIT
# --virtual-time-budget: deja a MathJax componer todas las fórmulas antes de imprimir.
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$profile" --run-all-compositor-stages-before-draw \
  --virtual-time-budget=180000 --no-pdf-header-footer --print-to-pdf="_build/curso.pdf" \
  "file://$(pwd)/$page/curso.html" 2>/dev/null
echo
echo "✓ El curso en PDF: $(pwd)/_build/curso.pdf"
