#!/usr/bin/env bash
# Crea (o pone al día) el entorno del curso en .venv: PyTorch, el paquete y sus herramientas.
# Lo llaman `make web` y `make test`; no hace falta ejecutarlo a mano.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}   # la versión de CPU que hay en estas máquinas
stamp="$VENV/.instalado"

if [ ! -x "$VENV/bin/python" ]; then
  echo "→ Creando el entorno virtual $VENV"
  python3 -m venv "$VENV"
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "→ Instalando PyTorch ($TORCH_SPEC) y el paquete con sus herramientas"
  "$VENV/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
  # PyTorch primero: así el rango de pyproject.toml queda satisfecho y pip no busca otra versión.
  "$VENV/bin/python" -c "import torch" 2>/dev/null || "$VENV/bin/python" -m pip install -q "$TORCH_SPEC" 2>&1 | grep -v '^WARNING: Location' || true
  "$VENV/bin/python" -m pip install -q -e ".[dev]" 2>&1 | grep -v '^WARNING: Location' || true
  "$VENV/bin/python" -c "import torch, transformer_course, nbdev, jupyter_book, nbval" \
    || { echo "✗ La instalación del entorno falló (mira los mensajes de pip de arriba)." >&2; exit 1; }
  touch "$stamp"
fi

# MathJax se sirve desde la propia web, para que las fórmulas se vean sin conexión: se instala desde el
# registro de npm al construir (no se guarda en el repositorio).
if [ ! -f book/_static/mathjax/tex-chtml.js ]; then
  command -v npm >/dev/null || { echo "✗ Falta npm (Node.js) para instalar MathJax: instálalo, p. ej. 'apt-get install -y npm'." >&2; exit 1; }
  echo "→ Instalando MathJax 3 desde npm"
  npm install --silent --no-audit --no-fund --prefix _build/npm mathjax@3 >/dev/null
  mkdir -p book/_static/mathjax
  cp -r _build/npm/node_modules/mathjax/es5/. book/_static/mathjax/
fi
