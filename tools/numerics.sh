# Números reproducibles en cualquier CPU x86-64: se carga (source) donde se producen o se comprueban las
# salidas de los cuadernos (make notebooks, make test, .ci/run). Sin esto, PyTorch y MKL eligen los núcleos
# vectoriales de cada CPU (AVX-512 en unas, AVX2 en otras) y un entrenamiento cerca de un umbral amplifica la
# diferencia de la última cifra hasta cambiar el resultado. Con esto, toda CPU x86-64 con AVX2 (las de los
# últimos diez años) toma el mismo camino. NUMERICS=perturbed da otro camino a propósito (make test-robust).
if [ "${NUMERICS:-pinned}" = perturbed ]; then
  export ATEN_CPU_CAPABILITY=default   # los núcleos de PyTorch sin vectorizar
  export MKL_CBWR=COMPATIBLE           # MKL por su camino más genérico
  export ONEDNN_MAX_CPU_ISA=SSE41
  export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
else
  export ATEN_CPU_CAPABILITY=avx2      # núcleos de ATen (PyTorch): los de AVX2 también en CPU con AVX-512
  export MKL_CBWR=AVX2                 # reproducibilidad numérica condicional de MKL (multiplicación de matrices)
  export ONEDNN_MAX_CPU_ISA=AVX2       # oneDNN (convoluciones, algunas capas lineales)
  export OMP_NUM_THREADS=2 MKL_NUM_THREADS=2   # el reparto de las sumas depende del número de hilos
fi

# MKL ignora MKL_CBWR en las CPU de AMD (usa su rama AUTO, distinta según la generación): allí se precarga una
# función que le dice que la CPU es de Intel, para que tome el mismo camino fijado (ver tools/mkl_intel_cpu.c).
if grep -qm1 AuthenticAMD /proc/cpuinfo 2>/dev/null; then
  _lib="$PWD/_build/mkl_intel_cpu.so"
  if [ ! -f tools/mkl_intel_cpu.c ]; then
    echo "⚠ Carga tools/numerics.sh desde la raíz del curso: en esta CPU de AMD hace falta tools/mkl_intel_cpu.c para fijar los números de MKL." >&2
  elif case "$_lib" in *[[:space:]:]*) true ;; *) false ;; esac; then
    echo "⚠ La ruta del curso ($PWD) tiene espacios o «:», que LD_PRELOAD no admite: en esta CPU de AMD, MKL no fija su camino numérico y alguna cifra guardada puede no reproducirse. Mueve el curso a una ruta sin ellos." >&2
  else
    if [ ! -f "$_lib" ] || [ tools/mkl_intel_cpu.c -nt "$_lib" ]; then
      if command -v "${CC:-cc}" >/dev/null 2>&1; then
        mkdir -p _build && "${CC:-cc}" -O2 -shared -fPIC -o "$_lib.$$" tools/mkl_intel_cpu.c && mv "$_lib.$$" "$_lib" \
          || echo "⚠ No pude compilar tools/mkl_intel_cpu.c (arriba, el error del compilador)." >&2
      else
        echo "⚠ Falta un compilador de C (p. ej. 'apt-get install gcc'): en esta CPU de AMD, MKL no fija su camino numérico y alguna cifra guardada puede no reproducirse." >&2
      fi
    fi
    case ":${LD_PRELOAD:-}:" in *":$_lib:"*) ;; *) [ -f "$_lib" ] && export LD_PRELOAD="$_lib${LD_PRELOAD:+:$LD_PRELOAD}" ;; esac
  fi
  unset _lib
fi
