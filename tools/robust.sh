#!/usr/bin/env bash
# Prueba de robustez (make test-robust): vuelve a ejecutar los cuadernos con otros caminos numéricos
# (núcleos de PyTorch sin vectorizar, MKL genérico, un hilo), como en otra CPU. Las cifras pueden moverse
# en las últimas cifras, así que nbval solo compara las celdas marcadas (--nbval-lax); pero cada `assert`
# de los cuadernos —las afirmaciones del texto— tiene que seguir cumpliéndose. No forma parte de make test:
# la ejecutan los autores antes de dar por bueno un capítulo. Uso: make test-robust [NB="nbs/04_rnn.ipynb"]
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONHASHSEED=0
bash tools/env.sh
NUMERICS=perturbed source tools/numerics.sh
echo "→ Números perturbados: ATEN_CPU_CAPABILITY=$ATEN_CPU_CAPABILITY, MKL_CBWR=$MKL_CBWR, $OMP_NUM_THREADS hilo"
[ -n "${TRANSFORMER_COURSE_DATA:-}" ] || { [ -d ../shared/data ] && export TRANSFORMER_COURSE_DATA="$(cd .. && pwd)/shared/data"; } || true
# La tabla comparativa solo la escriben las ejecuciones fijadas: se guarda y se restaura tal cual estaba.
saved=$(mktemp); cp nbs/resultados.json "$saved"; trap 'cp "$saved" nbs/resultados.json; rm -f "$saved"' EXIT
notebooks=("$@")
[ ${#notebooks[@]} -gt 0 ] || notebooks=(nbs)
.venv/bin/python -m pytest -p no:cacheprovider "${notebooks[@]}" --nbval-lax --nbval-current-env \
  --nbval-sanitize-with tools/nbval_sanitize.cfg
echo "✓ Las aserciones de los cuadernos se cumplen también con números perturbados"
