# Los dos comandos del curso (ver README.md). Cada uno crea su entorno en .venv si no existe.
.PHONY: web pdf test test-robust bench notebooks clean

web:        ## Construye la web del curso en _build/html
	@bash tools/web.sh

pdf:        ## La versión imprimible: _build/curso.pdf (el libro en una página, impreso por Chromium)
	@bash tools/pdf.sh

test:       ## Ejecuta todas las comprobaciones
	@bash tools/test.sh

test-robust: ## Para autores: los cuadernos con otros números (otra CPU, un hilo); sus aserciones deben seguir valiendo
	@bash tools/robust.sh $(NB)

bench:      ## Benchmarks (velocidad frente a las bibliotecas de referencia); no forman parte de `make test`
	@bash tools/env.sh
	-.venv/bin/python bench/ngram.py
	-.venv/bin/python bench/tokenization.py
	-.venv/bin/python bench/rnn.py
	-.venv/bin/python bench/attention.py
	-.venv/bin/python bench/transformer.py
	-.venv/bin/python bench/bert.py
	-.venv/bin/python bench/gpt.py
	-.venv/bin/python bench/advances.py
	-.venv/bin/python bench/assistant.py
	-.venv/bin/python bench/nanogpt.py   # con NANOGPT_DIR=/ruta/a/nanoGPT; sin ella, solo nuestra fila

notebooks:  ## Para autores: vuelve a ejecutar los cuadernos (todos, o los de NB="nbs/04_rnn.ipynb …") y exporta el paquete
	@bash tools/env.sh
	.venv/bin/nbdev-export
	. tools/numerics.sh && PYTHONHASHSEED=0 .venv/bin/python tools/notebooks.py run $(NB)
	.venv/bin/python tools/exercises.py
	.venv/bin/nbdev-export

clean:
	rm -rf _build book/_static/mathjax
