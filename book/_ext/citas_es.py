"""Las citas y la bibliografía del libro, en español.

sphinxcontrib-bibtex escribe por defecto «[Hochreiter and Schmidhuber, 1997]» y, en la lista de
referencias, «In Proceedings of…». Esta extensión registra dos estilos:

- `autor_año` (para `bibtex_reference_style`): «(Hochreiter y Schmidhuber, 1997)» con {cite:p},
  «Hochreiter y Schmidhuber (1997)» con {cite:t}; varias referencias se separan con «;».
- `curso` (para `bibtex_default_style`): el estilo `plain` de pybtex (ordenado por autor y año) con
  «y» entre autores, «En» delante de las actas y «vol.» en los volúmenes.

Los títulos, revistas y actas se dejan en su idioma original, como es costumbre.
"""
from dataclasses import dataclass, field

import pybtex.plugin
from pybtex.style.formatting import toplevel
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.formatting.unsrt import pages
from pybtex.richtext import Text
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

    bracket_textual: BracketStyle = field(default_factory=_round)
    bracket_parenthetical: BracketStyle = field(default_factory=_round)
    bracket_author: BracketStyle = field(default_factory=_round)
    bracket_label: BracketStyle = field(default_factory=_round)
    bracket_year: BracketStyle = field(default_factory=_round)
    person: PersonStyle = field(default_factory=_person)


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


class Curso(PlainStyle):
    "El estilo `plain` de pybtex con las palabras de enlace en español."

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
    pybtex.plugin.register_plugin("pybtex.style.formatting", "curso", Curso)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
