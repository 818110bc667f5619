"""Las citas y la bibliografía del libro, en español.

sphinxcontrib-bibtex escribe por defecto «[Hochreiter and Schmidhuber, 1997]» y, en la lista de
referencias, «In Proceedings of…». Esta extensión registra dos estilos:

- `autor_año` (para `bibtex_reference_style`): «(Hochreiter y Schmidhuber, 1997)» con {cite:p},
  «Hochreiter y Schmidhuber (1997)» con {cite:t}; varias referencias se separan con «;».
- `curso` (para `bibtex_default_style`): el estilo `plain` de pybtex (ordenado por autor y año) con
  «y» entre autores, «En» delante de las actas y «vol.» en los volúmenes, y con etiquetas autor-año
  («Vaswani et al., 2017») en lugar de números: la bibliografía tiene una lista por tema, y con
  números cada lista empezaría en 1 (sphinxcontrib-bibtex exige etiquetas distintas en todo el libro).

Los títulos, revistas y actas se dejan en su idioma original, como es costumbre.
"""
from collections import Counter
from dataclasses import dataclass
from dataclasses import field as dataclass_field

import pybtex.plugin
from pybtex.style.formatting import toplevel
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.formatting.unsrt import pages
from pybtex.richtext import Text
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.template import (FieldIsMissing, field, first_of, join, node, optional,
                                   optional_field, sentence, together, words)
from sphinxcontrib.bibtex.plugin import register_plugin
from sphinxcontrib.bibtex.style.referencing import BracketStyle, PersonStyle
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle

AND = " y "


def _round() -> BracketStyle:
    return BracketStyle(left="(", right=")", sep="; ")


def _person() -> PersonStyle:
    return PersonStyle(sep=", ", sep2=AND, last_sep=AND)


@dataclass
class AutorAño(AuthorYearReferenceStyle):
    "Citas autor-año con paréntesis y conjunciones en español."

    bracket_textual: BracketStyle = dataclass_field(default_factory=_round)
    bracket_parenthetical: BracketStyle = dataclass_field(default_factory=_round)
    bracket_author: BracketStyle = dataclass_field(default_factory=_round)
    bracket_label: BracketStyle = dataclass_field(default_factory=_round)
    bracket_year: BracketStyle = dataclass_field(default_factory=_round)
    person: PersonStyle = dataclass_field(default_factory=_person)


@node
def nombres(children, context, role):
    "Los nombres de `role` unidos con «,» e «y»; un `and others` final del .bib se escribe «et al.»."
    try:
        persons = context["entry"].persons[role]
    except KeyError:
        raise FieldIsMissing(role, context["entry"]) from None
    style = context["style"]
    etal = bool(persons) and str(persons[-1]) == "others"
    formatted = [style.format_name(p, style.abbreviate_names) for p in persons[:-1 if etal else None]]
    if etal: return join(sep=", ")[formatted].format_data(context) + Text(" et al.")
    return join(sep=", ", sep2=AND, last_sep=AND)[formatted].format_data(context)


def _apellidos(person) -> str:
    return " ".join(person.last_names).replace("{", "").replace("}", "")


class EtiquetaAutorAño(BaseLabelStyle):
    "Etiquetas «Apellido, año», «A y B, año» o «A et al., año»; si dos coinciden, «2013a», «2013b»."

    def _label(self, entry) -> str:
        persons = entry.persons.get("author") or entry.persons.get("editor") or []
        etal = len(persons) > 2 or (persons and str(persons[-1]) == "others")
        if not persons: names = entry.key
        elif etal: names = _apellidos(persons[0]) + " et al."
        else: names = AND.join(_apellidos(p) for p in persons)
        return f"{names}, {entry.fields.get('year', 's. f.')}"

    def format_labels(self, sorted_entries):
        labels = [self._label(e) for e in sorted_entries]
        repeated, seen = Counter(labels), Counter()
        for label in labels:
            if repeated[label] > 1:
                seen[label] += 1
                label += "abcdefghij"[seen[label] - 1]
            yield label


class Curso(PlainStyle):
    "El estilo `plain` de pybtex con las palabras de enlace en español y etiquetas autor-año."

    default_label_style = "autor_año"

    def format_names(self, role, as_sentence=True):
        formatted = nombres(role)
        return sentence[formatted] if as_sentence else formatted

    def format_volume_and_series(self, e, as_sentence=True):
        result = first_of[
            optional[words[together["vol.", field("volume")], optional[words["de", field("series")]]]],
            optional_field("series"),
        ]
        return sentence(capfirst=True)[result] if as_sentence else result

    def get_inproceedings_template(self, e):
        return toplevel[
            sentence[self.format_names("author")],
            self.format_title(e, "title"),
            words[
                "En",
                sentence[
                    optional[self.format_editor(e, as_sentence=False)],
                    self.format_btitle(e, "booktitle", as_sentence=False),
                    self.format_volume_and_series(e, as_sentence=False),
                    optional[pages],
                ],
                self.format_address_organization_publisher_date(e),
            ],
            sentence[optional_field("note")],
            self.format_web_refs(e),
        ]


def setup(app):
    register_plugin("sphinxcontrib.bibtex.style.referencing", "autor_año", AutorAño)
    pybtex.plugin.register_plugin("pybtex.style.labels", "autor_año", EtiquetaAutorAño)
    pybtex.plugin.register_plugin("pybtex.style.formatting", "curso", Curso)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
