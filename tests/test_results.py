"""La tabla comparativa fuera del repositorio (Colab): un capítulo empieza por la tabla del repositorio,
para que sus comparaciones con los capítulos anteriores funcionen; sin conexión, avisa y empieza vacía."""
import json

import pytest

import transformer_course.core as core
from transformer_course.core import RESULTS_FILE, record_results

from serving import Server

EARLIER = {"2. n-gramas": [{"bpc": 2.0, "capítulo": "2. n-gramas", "modelo": "5-grama"}]}


@pytest.fixture
def repository(tmp_path, monkeypatch):
    "Un servidor local con la carpeta nbs/ del «repositorio», y el cuaderno en otra carpeta vacía."
    served, notebook = tmp_path/"nbs", tmp_path/"colab"
    served.mkdir(); notebook.mkdir()
    (served/RESULTS_FILE).write_text(json.dumps(EARLIER), encoding="utf-8")
    server = Server(served)
    monkeypatch.setattr(core, "BENCH_URL", f"{server.url}/")
    monkeypatch.chdir(notebook)
    yield notebook
    server.close()


def test_un_capitulo_fuera_del_repositorio_empieza_por_su_tabla(repository):
    table = record_results("4. Redes recurrentes", [{"modelo": "LSTM", "bpc": 1.9}])
    assert [row["modelo"] for row in table] == ["5-grama", "LSTM"]
    saved = json.loads((repository/RESULTS_FILE).read_text(encoding="utf-8"))
    assert set(saved) == {"2. n-gramas", "4. Redes recurrentes"}


def test_sin_conexion_avisa_y_empieza_vacia(repository, monkeypatch):
    monkeypatch.setattr(core, "BENCH_URL", "http://127.0.0.1:9/")     # nada escucha en el puerto 9
    with pytest.warns(UserWarning, match="empieza vacía"):
        table = record_results("4. Redes recurrentes", [{"modelo": "LSTM", "bpc": 1.9}])
    assert [row["modelo"] for row in table] == ["LSTM"]


def test_una_ruta_explicita_no_mira_el_repositorio(repository, tmp_path):
    table = record_results("4. Redes recurrentes", [{"modelo": "LSTM", "bpc": 1.9}], tmp_path/"propia.json")
    assert [row["modelo"] for row in table] == ["LSTM"]


def test_las_tolerancias_deciden_si_una_tabla_cambia(tmp_path):
    "Dentro de la tolerancia (relativa, o absoluta por columna) se guarda la cifra de antes; fuera, la nueva."
    from transformer_course.core import record_task
    path = tmp_path/"tareas.json"
    first = [{"sistema": "asistente", "es-en": 0.77, "autor": 0.72}]
    record_task("asistente", first, path, rtol=0.5)
    kept = record_task("asistente", [{"sistema": "asistente", "es-en": 0.25, "autor": 0.77}], path, rtol=0.01,
                       atol={"es-en": 2.0, "autor": 0.1})
    assert kept == first                                               # BLEU cerca de 0: ±2 puntos no es un cambio
    moved = [{"sistema": "asistente", "es-en": 3.5, "autor": 0.77}]
    assert record_task("asistente", moved, path, rtol=0.01, atol={"es-en": 2.0, "autor": 0.1}) == moved
    assert json.loads(path.read_text(encoding="utf-8"))["asistente"] == moved
    near = [{"modelo": "LSTM", "bpc": 1.9}]
    record_results("4. Redes recurrentes", near, tmp_path/"r.json", rtol=2e-2)
    table = record_results("4. Redes recurrentes", [{"modelo": "LSTM", "bpc": 1.91}], tmp_path/"r.json", rtol=2e-2)
    assert table[0]["bpc"] == 1.9                                      # 0,5 %: la de antes
