"""El camino de descarga de `transformer_course.data`, contra un servidor HTTP local en 127.0.0.1."""
import contextlib
import dataclasses
import hashlib
import io
import re
import urllib.parse
import warnings
import zipfile

import pytest
from hypothesis import given, settings, strategies as st

import transformer_course.data as data
from transformer_course.data import (DATASETS, MISSPELLINGS_COLUMNS, ChecksumError, DataNotFoundError, Dataset,
                                     UpstreamVersionWarning, clean_gutenberg, fetch, is_exact,
                                     load_pairs, load_table, load_text, misspellings_from_wikitext, split,
                                     split_text)

from serving import Server


@pytest.fixture(autouse=True)
def local_only(monkeypatch):
    "Ninguna prueba descarga de internet: solo de 127.0.0.1 (las direcciones reales no se tocan)."
    download = data._download
    def guarded(url, *args, **kwargs):
        assert urllib.parse.urlsplit(url).hostname == "127.0.0.1", f"una prueba intentó descargar {url}"
        return download(url, *args, **kwargs)
    monkeypatch.setattr(data, "_download", guarded)


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


def test_unreachable_listado_says_where_to_put_the_file(empty_cache):
    ds = dataclasses.replace(DATASETS["misspellings-es"], url="http://127.0.0.1:9/Listado")
    with pytest.raises(DataNotFoundError, match="misspellings-es.tsv") as error:
        fetch(ds, progress=False)
    message = str(error.value)
    assert "es.wikipedia.org" in message and "TRANSFORMER_COURSE_MIRROR" in message
    assert "Consigue la versión del curso" in message  # no «descarga el wikitexto y llámalo .tsv»
    with pytest.raises(DataNotFoundError, match="no ofrece un archivo"):
        fetch(dataclasses.replace(ds, url=None))
    assert listing(empty_cache) == {}


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


@given(st.lists(st.tuples(st.sampled_from("abcdef"), st.sampled_from("abcxyz")), max_size=40), st.integers(0, 5))
def test_grouped_pairs_never_share_a_sentence_across_partitions(pairs, seed):
    keys = data.group_keys(pairs)
    parts = split(pairs, key=keys.get, seed=seed)
    where = {}
    for i, part in enumerate(parts):
        for a, b in part:           # cada frase (con su columna) vive en una sola partición
            assert where.setdefault((0, a), i) == i and where.setdefault((1, b), i) == i
    # los grupos son las componentes conexas: dos pares con la misma clave están unidos por frases comunes
    for (a, b), key in keys.items():
        reached, frontier = {(0, a), (1, b)}, [(0, a), (1, b)]
        while frontier:
            side, s = frontier.pop()
            for x, y in pairs:
                for node in ((0, x), (1, y)) if (side, s) in ((0, x), (1, y)) else ():
                    if node not in reached: reached.add(node); frontier.append(node)
        assert {k for (x, y), k in keys.items() if (0, x) in reached} == {key}
        assert key == min(f"{x}\t{y}" for x, y in pairs if (0, x) in reached)
    assert data.group_keys(pairs[::-1]) == keys   # la clave no depende del orden de llegada


@settings(max_examples=50)
@given(st.lists(st.text(st.characters(blacklist_characters="\n\r"), min_size=1, max_size=80).map(str.strip)
                .filter(bool), min_size=1, max_size=40), st.integers(1, 300))
def test_split_text_keeps_every_paragraph_once(paragraphs, block_chars):
    parts = split_text("\n\n".join(paragraphs), block_chars=block_chars)
    pieces = [p for part in parts if part for p in part.split("\n\n")]
    assert sorted(pieces) == sorted(paragraphs)


def test_a_mirror_serves_the_exact_files(server, shared_data, empty_cache, monkeypatch):
    monkeypatch.setenv("TRANSFORMER_COURSE_MIRROR", server.url + "/")
    path = fetch("misspellings-es", progress=False)  # su origen no sirve la versión exacta; el espejo, sí
    assert path.read_bytes() == (shared_data/"misspellings-es.tsv").read_bytes()
    assert server.requests == ["/misspellings-es.tsv"]


def test_a_wrong_mirror_is_skipped_and_the_cache_stays_clean(tmp_path, empty_cache, monkeypatch):
    (tmp_path/"misspellings-es.tsv").write_text("otra cosa", encoding="utf-8")
    s = Server(tmp_path)
    try:
        monkeypatch.setenv("TRANSFORMER_COURSE_MIRROR", s.url)
        unreachable = dataclasses.replace(DATASETS["misspellings-es"], url="http://127.0.0.1:9/Listado")
        with pytest.raises(DataNotFoundError, match="TRANSFORMER_COURSE_MIRROR"):
            fetch(unreachable, progress=False)
    finally:
        s.close()
    assert listing(empty_cache) == {}


# Sin copia exacta de Tatoeba o de la lista de errores (Colab sin espejo): la versión actual del origen.

UPSTREAM_NAME = r"{stem}\.upstream-[0-9a-f]{{16}}{suffix}"
LISTADO_HEAD = """{{Atajo|WP:Lista}}
En esta lista se detallan los términos que el corrector ortográfico detecta como erróneos.

== Formato ==
La sintaxis básica es: <code>término potencialmente erróneo|parámetro|término sugerido</code>
* <code>actuo||actuó (verbo, 3.ª persona), actúo (verbo, 1.ª persona)</code>
{{Índice}}

== A ==
 # un comentario, que no es una entrada
"""


def listado_of(tsv: str) -> str:
    "El wikitexto del Listado cuyas entradas son las filas de la tabla `tsv` del curso."
    rows = [line.split("\t") for line in tsv.splitlines()[1:]]
    return LISTADO_HEAD + "".join(f" {w}|{'cs' if cs == '1' else ''}|{raw}\n" for w, cs, _, _, raw in rows)


def zip_of(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items(): archive.writestr(name, text)
    return buffer.getvalue()


def anki_zip(lines: list[str], about: str = "** Info **\n") -> bytes:
    "Un `spa-eng.zip` como el de manythings.org: `spa.txt` con tres columnas y `_about.txt`."
    attribution = "\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM) & #4986655 (x)\n"
    return zip_of({"spa.txt": "".join(line + attribution for line in lines), "_about.txt": about})


@contextlib.contextmanager
def serving(folder, files: dict[str, bytes]):
    "Un servidor local que sirve `files` (nombre → contenido) desde `folder`."
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items(): (folder/name).write_bytes(content)
    s = Server(folder)
    try: yield s
    finally: s.close()


@contextlib.contextmanager
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.fixture(scope="module")
def course_table(shared_data) -> str:
    return (shared_data/"misspellings-es.tsv").read_text(encoding="utf-8")


def test_listado_conversion_reproduces_the_course_table(course_table):
    "Las 10 585 filas del curso, escritas como el wikitexto de la página, dan el archivo exacto."
    table = misspellings_from_wikitext(listado_of(course_table))
    assert hashlib.sha256(table.encode()).hexdigest() == DATASETS["misspellings-es"].sha256


def test_a_listado_like_the_course_is_the_exact_version(tmp_path, course_table, empty_cache):
    with serving(tmp_path/"web", {"Listado": listado_of(course_table).encode()}) as s:
        ds = dataclasses.replace(DATASETS["misspellings-es"], url=f"{s.url}/Listado?action=raw")
        with no_warnings():
            path = fetch(ds, progress=False)
    assert path == empty_cache/"misspellings-es.tsv" and is_exact(ds)


def test_misspellings_fall_back_to_the_current_listado(tmp_path, course_table, empty_cache):
    new = (" aarón|cs|Aarón\n"
           " acapella||a&nbsp;capela (en español), ''a&nbsp;cappella'' (en italiano, para partituras)\n"
           " zurrio||zurrió (verbo, 3.ª persona), zurrío (verbo, 1.ª persona)  # nota de un editor\n"
           " a basto||abasto\n"                                  # mal formada: tiene un espacio
           " abaco||otra cosa\n")                                # repetida: vale la primera
    with serving(tmp_path/"web", {"Listado": (listado_of(course_table) + new).encode()}) as s:
        ds = dataclasses.replace(DATASETS["misspellings-es"], url=f"{s.url}/Listado?action=raw")
        with pytest.warns(UpstreamVersionWarning, match="NO coincidirán con las de la web") as caught:
            path = fetch(ds, progress=False)
        assert re.fullmatch(UPSTREAM_NAME.format(stem="misspellings-es", suffix=r"\.tsv"), path.name)
        assert path.name == f"misspellings-es.upstream-{data.sha256sum(path)[:16]}.tsv"
        assert str(path) in str(caught[0].message) and s.url in str(caught[0].message)
        assert sorted(p.name for p in empty_cache.iterdir()) == [path.name]  # ni exacta ni temporales
        with pytest.warns(UpstreamVersionWarning):
            rows = load_table(ds)
        assert s.requests == ["/Listado?action=raw"]             # la segunda vez, de la caché
    assert not is_exact(ds)
    assert len(rows) == 10_585 + 3 and all(tuple(r) == MISSPELLINGS_COLUMNS for r in rows)
    for r in rows:
        assert r["misspelling"].isalpha() and r["case_sensitive"] in {"0", "1"} and r["first_correction"]
        assert int(r["n_alternatives"]) >= 1 and r["suggestions_raw"]
    assert [tuple(r.values()) for r in rows[-3:]] == [
        ("aarón", "1", "Aarón", "1", "Aarón"),
        ("acapella", "0", "a capela", "2",
         "a&nbsp;capela (en español), ''a&nbsp;cappella'' (en italiano, para partituras)"),
        ("zurrio", "0", "zurrió", "2", "zurrió (verbo, 3.ª persona), zurrío (verbo, 1.ª persona)")]
    assert path.read_text(encoding="utf-8").startswith(course_table)


def test_tatoeba_falls_back_to_the_current_zip(tmp_path, shared_data, empty_cache):
    course = (shared_data/"tatoeba-spa-eng.tsv").read_text(encoding="utf-8")
    lines = course.splitlines() + ["Hello again.\tHola de nuevo."]
    with serving(tmp_path/"web", {"spa-eng.zip": anki_zip(lines, "** Info **\n2025-01-01\n")}) as s:
        pairs_ds, about_ds = (dataclasses.replace(DATASETS[n], url=f"{s.url}/spa-eng.zip")
                              for n in ["tatoeba-spa-eng", "tatoeba-spa-eng-about"])
        with pytest.warns(UpstreamVersionWarning, match="tatoeba-spa-eng.tsv"):
            path = fetch(pairs_ds, progress=False)
        assert re.fullmatch(UPSTREAM_NAME.format(stem="tatoeba-spa-eng", suffix=r"\.tsv"), path.name)
        assert path.read_text(encoding="utf-8") == course + "Hello again.\tHola de nuevo.\n"
        with pytest.warns(UpstreamVersionWarning):
            pairs = load_pairs(pairs_ds)
        assert len(pairs) == 116_300 and pairs[-1] == ("Hola de nuevo.", "Hello again.")
        with pytest.warns(UpstreamVersionWarning):
            about = fetch(about_ds, progress=False)
        assert about.read_text(encoding="utf-8") == "** Info **\n2025-01-01\n"
        assert re.fullmatch(UPSTREAM_NAME.format(stem="tatoeba-spa-eng-about", suffix=r"\.txt"), about.name)
        assert s.requests == ["/spa-eng.zip"] * 2                # una por corpus; luego, la caché
    assert "tatoeba-spa-eng.tsv" not in listing(empty_cache)


def test_a_zip_with_the_course_pairs_is_the_exact_version(tmp_path, shared_data, empty_cache):
    lines = (shared_data/"tatoeba-spa-eng.tsv").read_text(encoding="utf-8").splitlines()
    with serving(tmp_path/"web", {"spa-eng.zip": anki_zip(lines)}) as s:
        ds = dataclasses.replace(DATASETS["tatoeba-spa-eng"], url=f"{s.url}/spa-eng.zip")
        with no_warnings():
            assert fetch(ds, progress=False) == empty_cache/"tatoeba-spa-eng.tsv"


def test_fallback_only_when_the_exact_copy_is_unreachable(tmp_path, shared_data, course_table,
                                                           empty_cache, monkeypatch):
    with serving(tmp_path/"web", {"Listado": (listado_of(course_table) + " zzz||z\n").encode()}) as s:
        ds = dataclasses.replace(DATASETS["misspellings-es"], url=f"{s.url}/Listado?action=raw")
        with no_warnings():                                      # una carpeta local con la exacta
            assert fetch(ds, data_dir=shared_data) == shared_data/"misspellings-es.tsv"
        assert s.requests == []
        with pytest.warns(UpstreamVersionWarning):               # nada a mano: la versión actual
            upstream = fetch(ds, progress=False)
        with serving(tmp_path/"mirror", {"misspellings-es.tsv": course_table.encode()}) as mirror:
            monkeypatch.setenv("TRANSFORMER_COURSE_MIRROR", mirror.url)
            with no_warnings():                                  # aparece un espejo: gana la exacta
                exact = fetch(ds, progress=False)
            monkeypatch.delenv("TRANSFORMER_COURSE_MIRROR")
            with no_warnings():                                  # y queda en la caché
                assert fetch(ds, progress=False) == exact == empty_cache/"misspellings-es.tsv"
        assert exact.read_text(encoding="utf-8") == course_table and upstream.is_file()
        assert s.requests == ["/Listado?action=raw"]
        exact.unlink()
        with pytest.raises(ChecksumError, match="no es la versión"):   # fallback=False: estricto
            fetch(ds, progress=False, fallback=False)
    assert sorted(listing(empty_cache)) == [upstream.name]


@pytest.mark.parametrize("dataset, files, match", [
    ("misspellings-es", {"Listado": b"<!DOCTYPE html><html><body> <p>a|b|c</p></body></html>"},
     "no tiene el formato esperado.*¿es el wikitexto del Listado"),
    ("misspellings-es", {"Listado": " abaco||\xe1baco\n".encode("latin-1")}, "no tiene el formato esperado"),
    ("misspellings-es", {}, "no pude descargarlo.*404"),
    ("tatoeba-spa-eng", {"spa-eng.zip": b"<html>Not Acceptable</html>"}, "no tiene el formato esperado"),
    ("tatoeba-spa-eng", {"spa-eng.zip": anki_zip([])}, "spa.txt no trae ningún par"),
    ("tatoeba-spa-eng", {"spa-eng.zip": zip_of({"spa.txt": "Go.\tVe.\nHi. Hola.\n"})},
     "la línea 2 de spa.txt no es «inglés<TAB>español»"),
    ("tatoeba-spa-eng", {"spa-eng.zip": zip_of({"_about.txt": "sin pares"})}, "formato esperado.*spa.txt"),
    ("tatoeba-spa-eng-about", {"spa-eng.zip": b""}, "formato esperado"),
])
def test_a_broken_upstream_gives_a_clear_spanish_error(tmp_path, empty_cache, dataset, files, match):
    name = "Listado" if dataset == "misspellings-es" else "spa-eng.zip"
    with serving(tmp_path/"web", files) as s:
        ds = dataclasses.replace(DATASETS[dataset], url=f"{s.url}/{name}")
        with pytest.raises(DataNotFoundError, match=match) as error:
            fetch(ds, progress=False)
    message = str(error.value)
    assert message.startswith(f"No encuentro {ds.filename}") and "TRANSFORMER_COURSE_DATA" in message
    assert listing(empty_cache) == {}                            # no he guardado nada


def test_an_unreachable_upstream_gives_a_clear_spanish_error(empty_cache):
    ds = dataclasses.replace(DATASETS["tatoeba-spa-eng"], url="http://127.0.0.1:9/spa-eng.zip")
    with pytest.raises(DataNotFoundError, match="no pude descargarlo.*¿Hay conexión a internet?"):
        fetch(ds, progress=False)
    assert listing(empty_cache) == {}


def test_a_corrupt_upstream_copy_is_downloaded_again(tmp_path, course_table, empty_cache):
    with serving(tmp_path/"web", {"Listado": (listado_of(course_table) + " zzz||z\n").encode()}) as s:
        ds = dataclasses.replace(DATASETS["misspellings-es"], url=f"{s.url}/Listado")
        with pytest.warns(UpstreamVersionWarning):
            path = fetch(ds, progress=False)
        good = path.read_bytes()
        path.write_bytes(good[:1000])                            # una copia estropeada
        with pytest.warns(UpstreamVersionWarning):
            assert fetch(ds, progress=False) == path
        assert path.read_bytes() == good and len(s.requests) == 2


letters = st.text("abcdeñáéíóúüABCÑÁÉ", min_size=1, max_size=10)
suggestion = st.tuples(st.text("abcdefgñáéí ", min_size=1, max_size=12).filter(str.strip),
                       st.sampled_from(["", " (sustantivo)", " (verbo, 1.ª persona)", " (en español)"]))


@settings(max_examples=60)
@given(st.lists(st.tuples(letters, st.booleans(), st.lists(suggestion, min_size=1, max_size=4)), max_size=15))
def test_listado_keeps_each_entry_once_with_its_suggestions(entries):
    wikitext = "== A ==\n" + "".join(f" {w}|{'cs' if cs else ''}|{', '.join(a + b for a, b in s)}\n"
                                     for w, cs, s in entries)
    if not entries:
        with pytest.raises(ValueError, match="ninguna entrada"):
            misspellings_from_wikitext(wikitext)
        return
    table = misspellings_from_wikitext(wikitext).splitlines()
    expected = {}
    for w, cs, s in entries:
        raw = ", ".join(a + b for a, b in s).strip()
        expected.setdefault(w if cs else w.lower(), (str(int(cs)), s[0][0].strip(), str(len(s)), raw))
    assert table[0].split("\t") == list(MISSPELLINGS_COLUMNS)
    assert [tuple(row.split("\t")) for row in table[1:]] == [(k, *v) for k, v in expected.items()]


def test_one_reader_for_rows_with_tabs(tmp_path):
    "parse_rows lee load_pairs y la orden: columnas no vacías, error que dice la línea; read_pairs quita el BOM."
    from transformer_course.cli import read_pairs
    from transformer_course.data import parse_rows
    assert parse_rows("a\tb\n\nc\td\textra\n", "origen<TAB>destino", "x.tsv") == [("a", "b"), ("c", "d")]
    with pytest.raises(ValueError, match=r"línea 2 de x.tsv no tiene tres textos .*instrucción<TAB>elegida<TAB>rechazada"):
        parse_rows("a\tb\tc\na\t \tc\n", "instrucción<TAB>elegida<TAB>rechazada", "x.tsv")
    (tmp_path/"bom.tsv").write_text("\ufeffHello.\tHola.\n", encoding="utf-8")
    assert read_pairs(tmp_path/"bom.tsv", swap=True) == [("Hola.", "Hello.")]
