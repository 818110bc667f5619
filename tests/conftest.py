import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def shared_data() -> Path:
    "La carpeta con los archivos de datos del curso (la de TRANSFORMER_COURSE_DATA o ../shared/data)."
    folder = Path(os.environ.get("TRANSFORMER_COURSE_DATA") or ROOT.parent/"shared"/"data")
    if not (folder/"pg49836.txt").is_file():
        pytest.skip(f"No hay archivos de datos en {folder}: define TRANSFORMER_COURSE_DATA.")
    return folder


@pytest.fixture
def empty_cache(tmp_path, monkeypatch) -> Path:
    "Una caché vacía y ninguna carpeta local: `fetch` tendrá que descargar."
    cache = tmp_path/"cache"
    monkeypatch.setenv("TRANSFORMER_COURSE_CACHE", str(cache))
    monkeypatch.delenv("TRANSFORMER_COURSE_DATA", raising=False)
    monkeypatch.delenv("TRANSFORMER_COURSE_MIRROR", raising=False)
    return cache
