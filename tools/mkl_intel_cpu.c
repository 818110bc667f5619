/* MKL solo respeta MKL_CBWR (sus caminos numéricos fijos) en las CPU de Intel: en las de AMD toma su rama AUTO,
   que cambia de una generación a otra (en un EPYC con AVX-512, las cifras de un entrenamiento se mueven en la
   tercera cifra). El MKL que PyTorch lleva dentro (en libtorch_cpu.so) pregunta si la CPU es de Intel con esta
   función; como la exporta y se llama a sí mismo a través de la tabla de enlaces (PLT), una biblioteca precargada
   que la defina pasa por delante. tools/numerics.sh compila este archivo y lo precarga (LD_PRELOAD) en las CPU de
   AMD, para que MKL tome allí el mismo camino AVX2 que en las de Intel. Con MKL_VERBOSE=1 se ve: «CNR:AVX2» en vez de «CNR:AUTO». */
int mkl_serv_intel_cpu_true(void) { return 1; }
