"""Propiedades de `transformer_course.ngram`: probabilidades que suman 1, ARPA fiel a KenLM, errores claros."""
import copy
import math
import re

import kenlm
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from transformer_course.data import strip_accents, tokenize
from transformer_course.ngram import BOS, EOS, SMOOTHINGS, UNK, AccentRestorer, EditChannel, NgramLM, SpellingCorrector, edit_operations

words = st.sampled_from(["el", "perro", "gato", "come", "duerme", "un", "sí", "año", "¿", "?"])
corpora = st.lists(st.lists(words, min_size=0, max_size=8), min_size=1, max_size=12).filter(lambda c: any(c))
contexts = st.lists(st.one_of(words, st.just("desconocida"), st.just(BOS)), max_size=4)


@settings(max_examples=60, deadline=None)
@given(corpora, contexts, st.integers(1, 4), st.sampled_from(SMOOTHINGS))
def test_probabilities_sum_to_one_for_every_context(corpus, context, n, smoothing):
    lm = NgramLM(n, smoothing, k=0.5).fit(corpus)
    assert math.isclose(sum(lm.prob(w, context) for w in lm.vocab), 1, rel_tol=1e-9)


@settings(max_examples=40, deadline=None)
@given(corpora, corpora, st.integers(1, 4), st.sampled_from(["laplace", "lidstone", "kneser-ney"]))
def test_smoothed_models_never_give_infinite_perplexity(train, test, n, smoothing):
    lm = NgramLM(n, smoothing, k=0.5).fit(train)
    test = test + [["palabra", "nunca", "vista"]]
    assert math.isfinite(lm.perplexity(test)) and lm.perplexity(test) > 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(corpora, corpora, st.integers(2, 4))  # KenLM solo carga modelos de orden 2 o más
def test_arpa_export_is_what_kenlm_reads(tmp_path, train, test, n):
    lm = NgramLM(n, "kneser-ney").fit(train)
    path = tmp_path/"modelo.arpa"
    lm.to_arpa(path)
    config = kenlm.Config()
    config.show_progress, config.arpa_complain = False, kenlm.ARPALoadComplain.NONE
    reference = kenlm.Model(str(path), config)
    for sentence in test:
        ours = lm.sentence_logprob(sentence) / math.log2(10)
        assert math.isclose(reference.score(" ".join(sentence), bos=True, eos=True), ours, abs_tol=1e-4)


def test_uniform_model_has_perplexity_of_the_vocabulary():
    lm = NgramLM(2, "lidstone", k=1e12).fit([["a", "b", "c"], ["b", "c", "d"]])
    assert math.isclose(lm.perplexity([["d", "a", "x"]]), len(lm.vocab), rel_tol=1e-6)


def test_mle_by_hand_and_unknown_words():
    lm = NgramLM(2, "mle").fit([["el", "perro"], ["el", "gato"]])
    assert lm.prob("perro", ["el"]) == 0.5 and lm.prob("el", [BOS]) == 1
    assert lm.prob("loro", ["el"]) == lm.prob(UNK, ["el"]) == 0 and math.isinf(lm.perplexity([["el", "loro"]]))
    assert lm.prob(BOS) == 0 and lm.prob(EOS, ["perro"]) == 1


def test_generation_is_seeded_and_stops_at_the_end_of_sentence():
    lm = NgramLM(3).fit([list("abracadabra"), list("cabra")])
    assert lm.generate(max_new_tokens=30, seed=1) == lm.generate(max_new_tokens=30, seed=1)
    assert all(t in lm.vocab - {UNK, EOS} for t in lm.generate(max_new_tokens=30, seed=2))
    assert len(lm.generate(max_new_tokens=5, seed=3, temperature=0.5)) <= 5
    greedy = lm.generate(max_new_tokens=8, temperature=0)        # temperatura 0: siempre el más probable, sin azar
    assert greedy == lm.generate(max_new_tokens=8, seed=99, temperature=0) == lm.generate(max_new_tokens=8, seed=5, top_k=1)


@pytest.mark.parametrize("call, error, words_in_message", [
    (lambda: NgramLM(0), ValueError, "al menos 1"),
    (lambda: NgramLM(2.0), TypeError, "entero"),
    (lambda: NgramLM(2, "witten-bell"), ValueError, "kneser-ney"),
    (lambda: NgramLM(2, "lidstone", k=0), ValueError, "positivo"),
    (lambda: NgramLM(2).fit([]), ValueError, "vacío"),
    (lambda: NgramLM(2).fit([[], []]), ValueError, "vacío"),
    (lambda: NgramLM(2).fit("un texto"), TypeError, "lista de frases"),
    (lambda: NgramLM(2).fit(["el perro come"]), TypeError, "tokenizada"),
    (lambda: NgramLM(2).fit([["el", 3]]), TypeError, "str"),
    (lambda: NgramLM(2).fit([["el", "<eos>"]]), ValueError, "reserva"),
    (lambda: NgramLM(2).prob("el"), ValueError, "fit"),
    (lambda: NgramLM(2).fit([["a"]]).prob("a", "texto"), TypeError, "tupla o lista"),
    (lambda: NgramLM(2).fit([["a"]]).prob(3), TypeError, "str"),
    (lambda: NgramLM(2, "laplace").fit([["a"]]).to_arpa("x.arpa"), ValueError, "kneser-ney"),
    (lambda: NgramLM(2).fit([["a", " "]]).to_arpa("x.arpa"), ValueError, "espacios"),
    (lambda: NgramLM(2).fit([["a"]]).generate(temperature=-1), ValueError, "temperatura"),
    (lambda: NgramLM(2).fit([["a"]]).text_bits("a", level="frase"), ValueError, "'char' o 'word'"),
    (lambda: NgramLM(2).fit([["a"]]).text_bits(""), ValueError, "vacío"),
])
def test_bad_input_gets_a_clear_spanish_error(call, error, words_in_message):
    with pytest.raises(error, match=words_in_message):
        call()


def test_failed_arpa_export_leaves_no_file(tmp_path):
    with pytest.raises(ValueError):
        NgramLM(2).fit([["a", " "]]).to_arpa(tmp_path/"m.arpa")
    assert list(tmp_path.iterdir()) == []


def dl_distance(a, b):
    "Distancia de Damerau–Levenshtein restringida, por fuerza bruta recursiva (la referencia)."
    if not a or not b: return len(a) + len(b)
    best = min(dl_distance(a[1:], b) + 1, dl_distance(a, b[1:]) + 1, dl_distance(a[1:], b[1:]) + (a[0] != b[0]))
    if len(a) > 1 and len(b) > 1 and a[0] == b[1] and a[1] == b[0] and a[0] != a[1]:
        best = min(best, dl_distance(a[2:], b[2:]) + 1)
    return best


@settings(max_examples=200)
@given(st.text("abcáñ", max_size=6), st.text("abcáñ", max_size=6))
def test_edit_operations_are_minimal_and_rebuild_the_misspelling(x, y):
    ops = edit_operations(x, y)
    assert len(ops) == dl_distance(x, y)
    kinds = {kind for kind, _ in ops}
    assert kinds <= {"sub", "del", "ins", "trans"}


CHANNEL = EditChannel().fit([("arbol", "árbol"), ("platano", "plátano"), ("vaca", "baca"), ("haber", "aver")])


@settings(max_examples=100, deadline=None)
@given(st.text("abcáñ ,.¿?—", max_size=30).filter(lambda t: any(len(w) > 1 and w.isalpha() for w in tokenize(t))),
       st.integers(0, 1000))
def test_add_error_changes_one_word_by_one_edit(text, seed):
    "add_error cambia exactamente una palabra, a una edición de la buena, y nada más del texto."
    import random
    noisy = CHANNEL.add_error(text, random.Random(seed))
    before, after = tokenize(text), tokenize(noisy)
    changed = [(a, b) for a, b in zip(before, after) if a != b]
    assert len(after) == len(before) and len(changed) == 1
    assert len(edit_operations(changed[0][1].lower(), changed[0][0].lower())) == 1
    assert re.split(r"\w+", noisy) == re.split(r"\w+", text)                 # espacios y signos, intactos


@settings(max_examples=200, deadline=None)
@given(st.text("abcáñll", min_size=1, max_size=7))
def test_error_options_carry_the_operation_edit_operations_finds(word):
    "Cada palabra a una edición viene con la única operación que encuentra edit_operations (p(x | y) = p(op))."
    from transformer_course.ngram import _edits1, _edits1_ops
    options = _edits1_ops(word)
    assert set(options) == _edits1(word) - {word}
    assert all(edit_operations(x, word) == [op] for x, op in options.items())


def test_add_error_needs_a_word():
    import random
    with pytest.raises(ValueError, match="ninguna palabra"): CHANNEL.add_error("y a ¿?", random.Random(0))


def test_spelling_corrector_prefers_the_learned_error():
    channel = EditChannel().fit([("arbol", "árbol"), ("platano", "plátano"), ("lapiz", "lápiz"),
                                 ("sabado", "sábado"), ("ultimo", "último"), ("camion", "camión")])
    lexicon = {"pagina": 2e-5, "página": 1e-5, "paginas": 3e-5}
    corrector = SpellingCorrector(lexicon, channel)
    assert corrector.correct("pagina") == "pagina"          # está en el léxico y p(x | x) = 0,99: se queda
    corrector.keep = 0.01                                   # si casi nunca se escribe bien…
    assert corrector.correct("pagina") == "página"          # …gana el error típico, la tilde olvidada
    assert corrector.correct("zzzz") == "zzzz"              # sin candidatos, la palabra tal cual
    with pytest.raises(TypeError, match="palabra"):
        corrector.correct("")
    with pytest.raises(TypeError, match="palabra"):
        corrector.correct(["pagina"])


def test_spelling_corrector_remembers_per_channel_and_matches_the_full_argmax():
    "correct guarda la mejor corrección de cada palabra: debe dar lo mismo que el máximo sobre todos los candidatos."
    channel = EditChannel().fit([("arbol", "árbol"), ("lapiz", "lápiz"), ("kasa", "casa"), ("cosa", "casa")])
    lexicon = {"casa": 3e-3, "cosa": 2e-3, "caso": 1e-3, "pagina": 2e-5, "página": 1e-5, "árbol": 1e-4}
    corrector = SpellingCorrector(lexicon, channel)

    def argmax(c, word):  # la definición: p(x | y) · p(y) sobre los candidatos, y p(x | x) · p(x) para la palabra
        scores = c.candidates(word)
        if word in c.prior: scores[word] = c.keep * c.prior[word]
        return max(scores, key=lambda y: (scores[y], y)) if scores else word

    words = ["casa", "kasa", "cosa", "arbol", "pagina", "zzzz", "caza"]
    for keep in (1e-6, 0.01, 0.5, 0.99):
        corrector.keep = keep
        assert [corrector.correct(w) for w in words] == [argmax(corrector, w) for w in words]
    flat = copy.copy(corrector)             # comparte el léxico…
    flat.channel = EditChannel().fit([("pagina", "página")])  # …con otro canal: otras correcciones
    flat.keep = corrector.keep = 0.01
    assert corrector.correct("arbol") == "árbol" and flat.correct("arbol") == argmax(flat, "arbol")
    assert [flat.correct(w) for w in words] == [argmax(flat, w) for w in words]
    assert [corrector.correct(w) for w in words] == [argmax(corrector, w) for w in words]  # el original, intacto


def test_correct_text_fixes_a_real_word_error_in_context_and_keeps_the_rest():
    channel = EditChannel().fit([("se", "si"), ("kasa", "casa"), ("aun", "aún"), ("cosa", "casa")])
    corrector = SpellingCorrector({"si": 3e-3, "se": 5e-3, "acaso": 1e-4, "llueve": 1e-5, "fue": 2e-3, "casa": 1e-3}, channel)
    lm = NgramLM(3).fit([["Si", "acaso", "llueve", "."], ["Se", "fue", "a", "casa", "."]] * 4)
    assert corrector.correct("se") == "se"                  # palabra a palabra, «se» es correcta
    text = "Se acaso llueve, ¿se fue a  kasa?"
    assert corrector.correct_text(text, lm) == "Si acaso llueve, ¿se fue a  casa?"
    with pytest.raises(TypeError, match="NgramLM"): corrector.correct_text(text, "trigrama")
    with pytest.raises(ValueError, match="entre 0 y 1"): SpellingCorrector({"a": 1.0}, channel, keep=1)


@settings(max_examples=60, deadline=None)
@given(st.text("sekaio ,.¿?—\n", max_size=30))
def test_correct_text_only_changes_letters(text):
    channel = EditChannel().fit([("se", "si"), ("kasa", "casa")])
    corrector = SpellingCorrector({"si": 3e-3, "se": 5e-3, "casa": 1e-3, "a": 1e-2}, channel)
    lm = NgramLM(3).fit([["si", "a", "casa"], ["se", "a", "casa", "."]])
    out = corrector.correct_text(text, lm)
    assert [c for c in out if not c.isalpha()] == [c for c in text if not c.isalpha()]
    assert len(out.split()) == len(text.split())           # ni une ni parte palabras


def test_accent_restorer_round_trip():
    sentences = [["él", "está", "aquí"], ["esta", "casa", "es", "mía"], ["él", "está", "en", "esta", "casa"]] * 3
    restorer = AccentRestorer(3).fit(sentences)
    assert restorer.restore_accents("EL esta en esta casa, aqui.") == "ÉL está en esta casa, aquí."
    assert strip_accents("Pingüino, ÁRBOL y año") == "Pinguino, ARBOL y año"


@settings(max_examples=40, deadline=None)
@given(corpora, st.integers(1, 4))
def test_sentence_ngrams_are_what_fit_counts(corpus, n):
    from collections import Counter
    from transformer_course.ngram import sentence_ngrams
    lm = NgramLM(n, "mle").fit(corpus)
    counted = Counter(g for s in corpus for g in sentence_ngrams(s, n))
    assert counted == Counter({g: c for m in range(1, n + 1) for g, c in lm.counts[m].items()})


def test_generate_has_the_arguments_of_the_lstm_and_gpt():
    "Una sola firma de generación en el curso: prompt, max_new_tokens, temperature, top_k, top_p, seed."
    import inspect
    from transformer_course.gpt import GPT
    from transformer_course.rnn import CharLM
    names = lambda f: list(inspect.signature(f).parameters)[1:]
    assert names(NgramLM.generate) == names(CharLM.generate) == names(GPT.generate)
    lm = NgramLM(2).fit([list("abcabc")])
    assert lm.generate(["a"], 2, temperature=0) == ["b", "c"]            # el prompt es el principio del texto
