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
