#!/usr/bin/env bash
# Construye la web del curso en _build/html a partir de los cuadernos ejecutados de nbs/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/env.sh
rm -rf _build/html _build/.doctrees _build/jupyter_execute
# -W: un aviso de Sphinx (un enlace roto, una referencia que no existe) hace fallar la construcción.
.venv/bin/jupyter-book build . --toc _toc.yml --config book/_config.yml -W --keep-going --quiet
echo
echo "✓ La web está en $(pwd)/_build/html/index.html"
echo "  Ábrela en el navegador, o sírvela con: python3 -m http.server -d _build/html 8000  (y visita http://localhost:8000)"
