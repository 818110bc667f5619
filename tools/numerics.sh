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
if grep -qm1 AuthenticAMD /proc/cpuinfo 2>/dev/null && [ -f tools/mkl_intel_cpu.c ]; then   # desde la raíz del curso
  _tools="$PWD/tools"
  _lib="$PWD/_build/mkl_intel_cpu.so"
  if [ ! -f "$_lib" ] || [ "$_tools/mkl_intel_cpu.c" -nt "$_lib" ]; then
    mkdir -p "$PWD/_build"
    cc -O2 -shared -fPIC -o "$_lib.tmp" "$_tools/mkl_intel_cpu.c" 2>/dev/null && mv "$_lib.tmp" "$_lib" \
      || echo "⚠ No pude compilar tools/mkl_intel_cpu.c (¿falta un compilador de C, p. ej. 'apt-get install gcc'?): en esta CPU de AMD, MKL no fija su camino numérico y alguna cifra guardada puede no reproducirse." >&2
  fi
  case ":${LD_PRELOAD:-}:" in *":$_lib:"*) ;; *) [ -f "$_lib" ] && export LD_PRELOAD="$_lib${LD_PRELOAD:+:$LD_PRELOAD}" ;; esac
  unset _tools _lib
fi
