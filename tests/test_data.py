"""El camino de descarga de `transformer_course.data`, contra un servidor HTTP local en 127.0.0.1."""
import contextlib
import dataclasses
import functools
import hashlib
import http.server
import io
import threading
import zipfile

import pytest
from hypothesis import given, settings, strategies as st

from transformer_course.data import (DATASETS, ChecksumError, DataNotFoundError, Dataset, clean_gutenberg,
                                     fetch, load_pairs, load_text, split, split_text)


class Server:
    "Un servidor HTTP en 127.0.0.1 que sirve una carpeta y cuenta las peticiones."
    def __init__(self, folder, truncate=None):
        self.requests = []
        owner = self
        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args): pass
            def do_GET(self):
                owner.requests.append(self.path)
                if truncate and self.path.endswith(truncate):  # anuncia el archivo entero y corta a la mitad
                    body = (folder/truncate).read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[:len(body) // 2])
                    self.close_connection = True
                    return
                super().do_GET()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(shared_data):
    s = Server(shared_data)
    yield s
    s.close()


def served(name, server, **changes):
    "El `Dataset` registrado, pero descargado del servidor local."
    ds = DATASETS[name]
    return dataclasses.replace(ds, url=f"{server.url}/{ds.filename}", **changes)


def listing(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()} if folder.exists() else {}


def test_download_verifies_and_caches(server, shared_data, empty_cache):
    ds = served("tinyshakespeare", server)
    path = fetch(ds, progress=False)
    assert path == empty_cache/"tinyshakespeare.txt"
    assert path.read_bytes() == (shared_data/"tinyshakespeare.txt").read_bytes()
    assert fetch(ds, progress=False) == path          # la segunda vez sale de la caché
    assert server.requests == ["/tinyshakespeare.txt"]
    assert [p.name for p in empty_cache.iterdir()] == ["tinyshakespeare.txt"]  # ningún temporal


def test_downloaded_gutenberg_book_cleans_like_the_local_copy(server, shared_data, empty_cache, monkeypatch):
    downloaded = load_text(served("niebla", server))
    monkeypatch.setenv("TRANSFORMER_COURSE_DATA", str(shared_data))
    assert downloaded == load_text("niebla")


def test_unicode_is_preserved_byte_for_byte(server, shared_data, empty_cache):
    path = fetch(served("quijote", server), progress=False)
    raw = (shared_data/"pg2000.txt").read_bytes()
    assert path.read_bytes() == raw
    text = load_text(served("quijote", server))
    for char in "ñáéíóúü¿¡ÑÁ":
        assert text.count(char) == raw.decode("utf-8").count(char) > 0, char


def test_checksum_mismatch_leaves_the_cache_untouched(server, empty_cache):
    empty_cache.mkdir()
    (empty_cache/"otro.txt").write_bytes("ya estaba aquí".encode())
    before = listing(empty_cache)
    with pytest.raises(ChecksumError, match="no es la versión") as error:
        fetch(served("tinyshakespeare", server, sha256="0" * 64), progress=False)
    assert "check=False" in str(error.value) and "No he guardado nada" in str(error.value)
    assert listing(empty_cache) == before


def test_check_false_accepts_a_new_upstream_version(server, shared_data, empty_cache):
    path = fetch(served("tinyshakespeare", server, sha256="0" * 64), check=False, progress=False)
    assert path.read_bytes() == (shared_data/"tinyshakespeare.txt").read_bytes()


def test_interrupted_download_leaves_nothing(shared_data, empty_cache):
    s = Server(shared_data, truncate="tinyshakespeare.txt")
    try:
        with pytest.raises(DataNotFoundError, match="no pude descargarlo"):
            fetch(served("tinyshakespeare", s), progress=False)
    finally:
        s.close()
    assert listing(empty_cache) == {}


def test_corrupt_cached_file_is_downloaded_again(server, shared_data, empty_cache):
    empty_cache.mkdir()
    (empty_cache/"tinyshakespeare.txt").write_bytes(b"corrupto")
    path = fetch(served("tinyshakespeare", server), progress=False)
    assert path.read_bytes() == (shared_data/"tinyshakespeare.txt").read_bytes()


def test_offline_and_absent_gives_a_clear_error(empty_cache):
    ds = dataclasses.replace(DATASETS["quijote"], url="http://127.0.0.1:9/pg2000.txt")
    with pytest.raises(DataNotFoundError) as error:
        fetch(ds, progress=False)
    message = str(error.value)
    for needed in ["pg2000.txt", "http://127.0.0.1:9/pg2000.txt", str(empty_cache/"pg2000.txt"), "TRANSFORMER_COURSE_DATA"]:
        assert needed in message
    assert listing(empty_cache) == {}


def test_no_download_origin_says_where_to_put_the_file(empty_cache):
    with pytest.raises(DataNotFoundError, match="misspellings-es.tsv") as error:
        fetch("misspellings-es")
    assert "es.wikipedia.org" in str(error.value)


def test_local_folder_wins_and_is_verified(tmp_path, shared_data, empty_cache):
    assert fetch("niebla", data_dir=shared_data) == shared_data/"pg49836.txt"
    wrong = tmp_path/"local"
    wrong.mkdir()
    (wrong/"pg49836.txt").write_text("otra edición", encoding="utf-8")
    with pytest.raises(ChecksumError, match="carpeta local"):
        fetch("niebla", data_dir=wrong)
    assert fetch("niebla", data_dir=wrong, check=False).read_text(encoding="utf-8") == "otra edición"


def test_zip_member_is_extracted_with_two_columns(tmp_path, empty_cache):
    rows = "Go.\tVe.\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272\nHi.\tHola.\tCC-BY 2.0 (France)\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("spa.txt", rows)
        archive.writestr("_about.txt", "acerca de")
    (tmp_path/"spa-eng.zip").write_bytes(buffer.getvalue())
    expected = b"Go.\tVe.\nHi.\tHola.\n"
    s = Server(tmp_path)
    try:
        ds = dataclasses.replace(DATASETS["tatoeba-spa-eng"], url=f"{s.url}/spa-eng.zip",
                                 sha256=hashlib.sha256(expected).hexdigest())
        assert fetch(ds, progress=False).read_bytes() == expected
        assert [tuple(p) for p in load_pairs(ds)] == [("Ve.", "Go."), ("Hola.", "Hi.")]
    finally:
        s.close()


def test_unknown_names_and_wrong_kinds_are_explained():
    with pytest.raises(KeyError, match="quijote, niebla"):
        fetch("quixote")
    with pytest.raises(ValueError, match="load_pairs"):
        load_text("tatoeba-spa-eng")
    with pytest.raises(ValueError, match="tres proporciones"):
        split([1, 2, 3], fractions=(0.5, 0.6, 0.1))


# Propiedades (hypothesis) de la limpieza y de las particiones.

body_text = st.text(st.characters(blacklist_characters="\r*\ufeff", blacklist_categories=("Cs",)), max_size=300)


@given(body_text)
def test_clean_gutenberg_keeps_the_work_exactly(body):
    book = ("\ufeffThe Project Gutenberg eBook\r\n*** START OF THE PROJECT GUTENBERG EBOOK X ***\r\n"
            + body.replace("\n", "\r\n") + "\r\n*** END OF THE PROJECT GUTENBERG EBOOK X ***\r\nlicense\r\n")
    assert clean_gutenberg(book) == body.strip("\n") + "\n"


@given(st.lists(st.text(max_size=8), max_size=60), st.integers(0, 5))
def test_split_is_a_deterministic_partition(items, seed):
    parts = split(items, seed=seed)
    assert sorted(sum(map(list, parts), [])) == sorted(items)
    # el orden de entrada no cambia el destino de cada elemento
    for part, again in zip(parts, split(list(reversed(items)), seed=seed)):
        assert sorted(part) == sorted(again)
    for item in items:  # los elementos con la misma clave caen en la misma partición
        assert sum(item in part for part in parts) == 1


@settings(max_examples=50)
@given(st.lists(st.text(st.characters(blacklist_characters="\n\r"), min_size=1, max_size=80).map(str.strip)
                .filter(bool), min_size=1, max_size=40), st.integers(1, 300))
def test_split_text_keeps_every_paragraph_once(paragraphs, block_chars):
    parts = split_text("\n\n".join(paragraphs), block_chars=block_chars)
    pieces = [p for part in parts if part for p in part.split("\n\n")]
    assert sorted(pieces) == sorted(paragraphs)


def test_a_mirror_serves_the_exact_files(server, shared_data, empty_cache, monkeypatch):
    monkeypatch.setenv("TRANSFORMER_COURSE_MIRROR", server.url + "/")
    path = fetch("misspellings-es", progress=False)  # su origen no ofrece descarga: solo el espejo la tiene
    assert path.read_bytes() == (shared_data/"misspellings-es.tsv").read_bytes()
    assert server.requests == ["/misspellings-es.tsv"]


def test_a_wrong_mirror_is_skipped_and_the_cache_stays_clean(tmp_path, empty_cache, monkeypatch):
    (tmp_path/"misspellings-es.tsv").write_text("otra cosa", encoding="utf-8")
    s = Server(tmp_path)
    try:
        monkeypatch.setenv("TRANSFORMER_COURSE_MIRROR", s.url)
        with pytest.raises(DataNotFoundError, match="TRANSFORMER_COURSE_MIRROR"):
            fetch("misspellings-es", progress=False)
    finally:
        s.close()
    assert listing(empty_cache) == {}
