"""Abre la web construida en Chromium sin interfaz y comprueba lo que vería un lector.

Para cada página del índice: las fórmulas están compuestas por MathJax, las imágenes cargan y llevan un
texto alternativo que dice lo que muestran, la página no pide nada fuera de su propio origen (funciona sin
conexión) y pasa la auditoría de accesibilidad de axe-core sin ninguna infracción, de ningún nivel (contraste, regiones
desplazables que se alcanzan con el teclado, controles con nombre, todo dentro de una región…), y sus bloques
plegados (las soluciones) se abren con el teclado. Comprueba
además la búsqueda y los botones de lanzamiento, y guarda una captura de un capítulo en _build/capturas/.

axe-core se instala desde el registro de npm la primera vez, en _build/npm (como MathJax en
tools/env.sh): no se guarda en el repositorio.

Uso: python tools/check_site.py [_build/html]
"""
import functools
import http.server
import json
import shutil
import subprocess
import sys
import threading
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlparse

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/"tools"))
from notebooks import toc_pages  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOT_PAGE = "nbs/01_data.html"
AXE_DIR = ROOT/"_build"/"npm"/"node_modules"/"axe-core"
AXE_FAILING = ("critical", "serious", "moderate", "minor")   # todas: la web no tiene ninguna, y así sigue
IMPACT_ES = {"critical": "crítica", "serious": "grave", "moderate": "moderada", "minor": "menor"}
# Cómo se arregla en este libro cada infracción que ya ha aparecido (el resto: la ayuda de axe).
AXE_FIXES = {
    "color-contrast": "sube el contraste del color en book/_static/accesibilidad.css (al menos 4,5:1 con el fondo).",
    "scrollable-region-focusable": "la región que se desplaza ha de poder recibir el foco del teclado: "
                                   "book/_static/accesibilidad.js le pone tabindex=0, o haz que sus líneas se partan.",
    "image-alt": "da a la figura un texto alternativo (metadatos de la celda: \"mystnb\": {\"image\": {\"alt\": \"…\"}}).",
    "region": "lo señalado ha de quedar dentro de una región (main, nav, header…): book/_static/accesibilidad.js "
              "da ese papel a la barra lateral; si el tema añade otra pieza fuera, házlo igual con la suya.",
    "empty-table-header": "pon nombre a la primera columna de la tabla (p. ej. «modelo» en vez de «| |»).",
}


def axe_script() -> Path:
    "El axe.min.js de axe-core 4, instalado desde npm en _build/npm si aún no está."
    if not (AXE_DIR/"axe.min.js").exists():
        if not shutil.which("npm"):
            sys.exit("✗ Falta npm (Node.js) para instalar axe-core, que audita la accesibilidad de la web: "
                     "instálalo, p. ej. 'apt-get install -y npm'.")
        print("→ Instalando axe-core 4 desde npm (auditoría de accesibilidad)")
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix",
                        str(ROOT/"_build"/"npm"), "axe-core@4"], check=True, stdout=subprocess.DEVNULL)
    return AXE_DIR/"axe.min.js"


def audit(page, axe: Path) -> list[dict]:
    "Las infracciones de axe-core en la página (con sus textos en español), una por regla."
    page.add_script_tag(path=str(axe))
    locale = AXE_DIR/"locales"/"es.json"
    if locale.exists():
        page.evaluate("locale => axe.configure({locale})", json.loads(locale.read_text(encoding="utf-8")))
    return page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ["violations"]});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, url: v.helpUrl,
                                       targets: v.nodes.map(n => n.target.join(" "))}));
    }""")


def fold_opens_with_keyboard(page):
    """Si el primer bloque plegado de la página (una solución, una celda oculta) se abre con el teclado: con el
    foco en su botón, Intro lo despliega. None si la página no tiene ninguno; True, o lo que falla."""
    button = page.locator(".toggle.admonition button.toggle-button").first
    if not button.count():
        return None
    name = button.get_attribute("aria-label") or ""
    if "Toggle" in name or not name.strip():
        return (f"el botón de los bloques plegados se llama «{name}»: ha de tener un nombre en español "
                "(lo pone book/_static/accesibilidad.js).")
    block = button.locator("xpath=ancestor::*[contains(@class, 'toggle')][1]")
    button.focus()
    page.keyboard.press("Enter")
    page.wait_for_timeout(200)
    opened = button.get_attribute("aria-expanded") == "true" and "toggle-hidden" not in (block.get_attribute("class") or "")
    if not opened:
        return ("un bloque plegado (solución o celda oculta) no se abre con el teclado (Intro sobre su botón): "
                "ha de ser un <button> que el tabulador alcance.")
    page.keyboard.press("Enter")                                    # y se vuelve a plegar, como estaba
    return True


def image_without_alt(src: str | None, alt: str | None) -> bool:
    "Si un <img> no dice lo que muestra: sin alt, vacío, o con el nombre del archivo (lo que pone Sphinx si falta)."
    alt = (alt or "").strip()
    return not alt or alt == src or alt.rsplit("/", 1)[-1] == (src or "").rsplit("/", 1)[-1] \
        or alt.lower().endswith((".png", ".jpg", ".jpeg", ".svg", ".gif"))


def serve(site: Path):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args): pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def check_page(page, base: str, rel: str, failures: list, axe: Path, violations: dict) -> None:
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
    images = page.eval_on_selector_all("img", "els => els.map(e => [e.getAttribute('src'), e.complete && e.naturalWidth > 0, e.getAttribute('alt')])")
    failures += [f"{rel}: la imagen {src} no carga." for src, ok, _ in images if not ok]
    failures += [f"{rel}: la imagen {src} no tiene texto alternativo (alt={alt!r}): di en español lo que muestra la "
                 f"figura con los metadatos de su celda, \"mystnb\": {{\"image\": {{\"alt\": \"…\"}}}}."
                 for src, _, alt in images if image_without_alt(src, alt)]
    failures += [f"{rel}: pide un recurso fuera de la web: {url}" for url in outside]
    # Una tabla de resultados (Markdown en la salida de una celda) ha de verse como tabla, no como texto con barras.
    raw_tables = page.eval_on_selector_all(".cell_output p", "els => els.filter(e => /\\|\\s*:?[-–—]+:?\\s*\\|\\s*:?[-–—]+:?\\s*\\|/.test(e.innerText)).length")
    if raw_tables: failures.append(f"{rel}: {raw_tables} salidas con una tabla en Markdown que se ve como texto.")
    tables = page.eval_on_selector_all(".cell_output table", "els => els.length")
    failures += [f"{rel}: falla la petición de {url}" for url in broken]
    folded = fold_opens_with_keyboard(page)
    if folded is not None and folded is not True:
        failures.append(f"{rel}: {folded}")
    found = audit(page, axe)
    for v in found:
        violations[v["id"]]["impact"] = v["impact"]
        violations[v["id"]]["help"] = v["help"]
        violations[v["id"]]["url"] = v["url"]
        violations[v["id"]]["pages"][rel] = v["targets"]
        if v["impact"] in AXE_FAILING:
            fix = AXE_FIXES.get(v["id"], f"mira {v['url']}")
            failures.append(f"{rel}: accesibilidad, infracción {IMPACT_ES[v['impact']]} «{v['id']}» ({v['help']}) en "
                            f"{len(v['targets'])} elementos, p. ej. {', '.join(v['targets'][:2])}. Cómo arreglarlo: {fix}")
    print(f"  {rel}: {math} fórmulas ({typeset} compuestas), {len(images)} imágenes, {tables} tablas de resultados, "
          f"{len(outside)} peticiones externas, {sum(len(v['targets']) for v in found)} infracciones de accesibilidad")


def report_axe(violations: dict) -> None:
    "Las infracciones de axe-core por regla: cuántos elementos y en cuántas páginas."
    if not violations:
        print("  accesibilidad (axe-core): ninguna infracción en ninguna página")
        return
    print("  accesibilidad (axe-core), infracciones por regla:")
    order = ["critical", "serious", "moderate", "minor"]
    for rule, v in sorted(violations.items(), key=lambda kv: (order.index(kv[1]["impact"]), kv[0])):
        nodes = sum(len(t) for t in v["pages"].values())
        print(f"    {rule:32} {IMPACT_ES[v['impact']]:9} {nodes:5} elementos en {len(v['pages']):2} páginas  ({v['help']})")


def main(site: Path) -> int:
    pages = [str(p.relative_to(ROOT).with_suffix(".html")) for p in toc_pages()]
    failures = []
    axe = axe_script()
    violations = defaultdict(lambda: {"pages": {}})
    server = serve(site)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="es-ES")
        for rel in pages + ["index.html"]:
            page = context.new_page()
            check_page(page, base, rel, failures, axe, violations)
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
    report_axe(violations)
    for f in failures: print("✗", f)
    if not failures: print(f"✓ La web se ve bien en Chromium: {len(pages)} páginas, fórmulas, imágenes con texto alternativo, "
                           "tablas y búsqueda, sin conexión y sin infracciones de accesibilidad (axe-core).")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT/"_build"/"html"))
