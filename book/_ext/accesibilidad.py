"""Las listas de referencias de la bibliografía, con los papeles ARIA que piden.

docutils escribe cada lista de citas como `<div role="list">` con sus entradas en
`<div role="doc-biblioentry">`: un papel que ARIA ya da por obsoleto y que no es un elemento de lista, de modo
que un lector de pantalla ve una lista vacía (reglas aria-required-children, crítica, y aria-deprecated-role de
axe-core). Esta extensión escribe las entradas con `role="listitem"`: la misma lista, bien formada.
"""
from docutils.nodes import citation
from docutils.writers import _html_base


def visit_citation(self, node):
    "Abre la lista de citas (si es la primera) y una entrada de la lista."
    if not isinstance(node.previous_sibling(), citation):
        self.body.append('<div role="list" class="citation-list">\n')
    self.body.append(self.starttag(node, "div", classes=[node.tagname], role="listitem"))


def setup(app):
    # El traductor HTML de Sphinx (y el de pydata-sphinx-theme) hereda visit_citation de docutils.
    _html_base.HTMLTranslator.visit_citation = visit_citation
    return {"parallel_read_safe": True, "parallel_write_safe": True}
