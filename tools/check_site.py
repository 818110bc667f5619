"""Abre la web construida en Chromium sin interfaz y comprueba lo que vería un lector.

Para cada página del índice: las fórmulas están compuestas por MathJax, las imágenes cargan, y la
página no pide nada fuera de su propio origen (funciona sin conexión). Comprueba además la búsqueda y
los botones de lanzamiento, y guarda una captura de un capítulo en _build/capturas/.

Uso: python tools/check_site.py [_build/html]
"""
import functools
import http.server
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/"tools"))
from notebooks import toc_pages  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOT_PAGE = "nbs/01_data.html"


def serve(site: Path):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args): pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def check_page(page, base: str, rel: str, failures: list) -> None:
    outside, broken = [], []
    page.on("request", lambda r: outside.append(r.url) if urlparse(r.url).hostname not in (None, "127.0.0.1") and not r.url.startswith("data:") else None)
    page.on("requestfailed", lambda r: broken.append(r.url))
    page.on("response", lambda r: broken.append(f"{r.url} ({r.status})")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    page.goto(f"{base}/{rel}", wait_until="networkidle")
    page.wait_for_function("() => !window.MathJax || !window.MathJax.startup || window.MathJax.startup.promise.then(() => true)")
    page.wait_for_timeout(300)
    math = page.eval_on_selector_all(".math", "els => els.length")
    typeset = page.eval_on_selector_all(".math mjx-container, mjx-container", "els => els.length")
    if math and not typeset:
        failures.append(f"{rel}: tiene {math} fórmulas pero MathJax no compuso ninguna.")
    raw = page.eval_on_selector_all(".math", "els => els.filter(e => !e.querySelector('mjx-container')).length")
    if raw: failures.append(f"{rel}: {raw} fórmulas se ven como LaTeX sin componer.")
    images = page.eval_on_selector_all("img", "els => els.map(e => [e.getAttribute('src'), e.complete && e.naturalWidth > 0])")
    failures += [f"{rel}: la imagen {src} no carga." for src, ok in images if not ok]
    failures += [f"{rel}: pide un recurso fuera de la web: {url}" for url in outside]
    # Una tabla de resultados (Markdown en la salida de una celda) ha de verse como tabla, no como texto con barras.
    raw_tables = page.eval_on_selector_all(".cell_output p", "els => els.filter(e => /\\|\\s*:?[-–—]+:?\\s*\\|\\s*:?[-–—]+:?\\s*\\|/.test(e.innerText)).length")
    if raw_tables: failures.append(f"{rel}: {raw_tables} salidas con una tabla en Markdown que se ve como texto.")
    tables = page.eval_on_selector_all(".cell_output table", "els => els.length")
    failures += [f"{rel}: falla la petición de {url}" for url in broken]
    print(f"  {rel}: {math} fórmulas ({typeset} compuestas), {len(images)} imágenes, {tables} tablas de resultados, "
          f"{len(outside)} peticiones externas")


def main(site: Path) -> int:
    pages = [str(p.relative_to(ROOT).with_suffix(".html")) for p in toc_pages()]
    failures = []
    server = serve(site)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="es-ES")
        for rel in pages + ["index.html"]:
            page = context.new_page()
            check_page(page, base, rel, failures)
            if rel == SCREENSHOT_PAGE:
                shot = ROOT/"_build"/"capturas"/"01_data.png"
                shot.parent.mkdir(parents=True, exist_ok=True)
                page.locator("section#la-ley-de-zipf").scroll_into_view_if_needed()
                page.screenshot(path=str(shot))
                print(f"  captura: {shot.relative_to(ROOT)}")
                links = page.eval_on_selector_all("a", "els => els.map(e => e.href)")
                if not any("colab.research.google.com" in h for h in links):
                    failures.append(f"{rel}: falta el botón para abrir el capítulo en Colab.")
                if not any("mybinder.org" in h for h in links):
                    failures.append(f"{rel}: falta el botón para abrir el capítulo en Binder.")
                if not any(h.endswith(".ipynb") for h in links):
                    failures.append(f"{rel}: falta el enlace para descargar el cuaderno .ipynb.")
            page.close()
        page = context.new_page()
        page.goto(f"{base}/search.html?q=Zipf", wait_until="networkidle")
        try:
            page.wait_for_selector("#search-results li", timeout=10_000)
            hits = page.eval_on_selector_all("#search-results li a", "els => els.map(e => e.textContent)")
            print(f"  búsqueda de «Zipf»: {len(hits)} resultados")
        except Exception:
            failures.append("search.html: la búsqueda de «Zipf» no devuelve resultados.")
        browser.close()
    server.shutdown()
    for f in failures: print("✗", f)
    if not failures: print(f"✓ La web se ve bien en Chromium: {len(pages)} páginas, fórmulas, imágenes, tablas y búsqueda, sin conexión.")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT/"_build"/"html"))
