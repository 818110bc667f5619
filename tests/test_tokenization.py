"""Propiedades de los tokenizadores: ida y vuelta, determinismo, guardar y cargar, errores claros."""
import json

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

from transformer_course.tokenization import (SPECIAL_TOKENS, BPETokenizer, CharTokenizer, Tokenizer, WordTokenizer,
                                             most_similar, train_skipgram)

CORPUS = ("En un lugar de la Mancha, de cuyo nombre no quiero acordarme, no ha mucho tiempo que vivía un hidalgo "
          "de los de lanza en astillero, adarga antigua, rocín flaco y galgo corredor. ¿Qué? ¡Sí, señor! ") * 20


@pytest.fixture(scope="module")
def bpe():
    return BPETokenizer.train(CORPUS, vocab_size=7 + 256 + 120)


# Cualquier texto: emoji, tildes combinantes, caracteres de control y sustitutos sueltos incluidos.
any_text = st.text(st.characters(codec=None, categories=None), max_size=200)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(any_text)
def test_bpe_round_trips_any_string(bpe, text):
    ids = bpe.encode(text)
    assert bpe.decode(ids) == text and all(0 <= i < bpe.vocab_size for i in ids)


@given(st.text(max_size=50))
def test_bpe_round_trip_of_unseen_emoji_and_accents(text):
    tok = BPETokenizer.train("ab abc abd", vocab_size=7 + 256 + 3)
    for s in (text, "🙂👩‍👩‍👧", "e\u0301\u0308", "\x00\x07\t\r\n"):
        assert tok.decode(tok.encode(s)) == s


@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_char_tokenizer_round_trips_or_marks_unknown(text):
    tok = CharTokenizer.train("abcdefghijklmnñopqrstuvwxyzáéíóú ¿?¡!")
    decoded = tok.decode(tok.encode(text))
    if set(text) <= set(tok.tokens): assert decoded == text
    else: assert decoded == "".join(c if c in tok.ids else "<unk>" for c in text)


def test_training_is_deterministic():
    a, b = BPETokenizer.train(CORPUS, 400), BPETokenizer.train(CORPUS, 400)
    assert a.merges == b.merges and a.encode(CORPUS[:500]) == b.encode(CORPUS[:500])
    assert WordTokenizer.train(CORPUS).tokens == WordTokenizer.train(CORPUS).tokens


@pytest.mark.parametrize("make", [lambda: BPETokenizer.train(CORPUS, 400), lambda: CharTokenizer.train(CORPUS),
                                  lambda: WordTokenizer.train(CORPUS, min_count=2)])
def test_save_then_load_gives_an_identical_tokenizer(tmp_path, make):
    tok = make()
    tok.save(tmp_path/"tok.json")
    again = Tokenizer.load(tmp_path/"tok.json")
    assert type(again) is type(tok) and again.tokens == tok.tokens
    text = "¿Quién es el hidalgo de la Mancha? 🙂"
    assert again.encode(text) == tok.encode(text) and again.decode(again.encode(text)) == tok.decode(tok.encode(text))


def test_special_tokens_come_first_everywhere():
    for tok in (BPETokenizer.train(CORPUS, 300), CharTokenizer.train(CORPUS), WordTokenizer.train(CORPUS)):
        assert tok.tokens[:7] == list(SPECIAL_TOKENS)
        assert (tok.pad_id, tok.unk_id, tok.bos_id, tok.eos_id, tok.mask_id, tok.cls_id, tok.sep_id) == tuple(range(7))


def test_merges_reduce_length_and_follow_frequency():
    tok = BPETokenizer.train("aaab aaab aaab ab", vocab_size=7 + 256 + 2)
    assert tok.merges[0] == (7 + ord("a"), 7 + ord("a"))
    assert len(tok.encode("aaab")) < len("aaab")


@pytest.mark.parametrize("call, error, words", [
    (lambda: BPETokenizer.train(CORPUS, 100), ValueError, "al menos 263"),
    (lambda: BPETokenizer.train("", 300), ValueError, "vacío"),
    (lambda: CharTokenizer.train([]), ValueError, "vacío"),
    (lambda: WordTokenizer.train([3]), TypeError, "textos"),
    (lambda: CharTokenizer.train("abc").decode([0, 999]), ValueError, "999"),
    (lambda: BPETokenizer.train("abc", 263).decode([-1]), ValueError, "-1"),
    (lambda: CharTokenizer.train("abc").encode(b"abc"), TypeError, "texto"),
])
def test_bad_input_gets_a_clear_spanish_error(call, error, words):
    with pytest.raises(error, match=words):
        call()


@pytest.mark.parametrize("content, words", [
    ("{ esto no es json", "no es un JSON válido"),
    (json.dumps({"model": {"type": "BPE"}}), "no es un tokenizador guardado"),
    (json.dumps({"type": "BPETokenizer", "format": 1}), "le falta"),
    (json.dumps({"type": "BPETokenizer", "format": 1, "pattern": " ?\\w+", "merges": [[9999, 3]]}), "le falta o sobra"),
])
def test_loading_a_corrupt_or_foreign_file_is_explained(tmp_path, content, words):
    (tmp_path/"t.json").write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=words):
        Tokenizer.load(tmp_path/"t.json")


def test_failed_save_keeps_the_previous_file(tmp_path):
    tok = CharTokenizer.train("abc")
    tok.save(tmp_path/"t.json")
    before = (tmp_path/"t.json").read_bytes()
    tok.tokens.append(object())  # no se puede escribir en JSON: la escritura falla a medias
    with pytest.raises(TypeError):
        tok.save(tmp_path/"t.json")
    assert (tmp_path/"t.json").read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["t.json"]


def test_skipgram_learns_that_words_sharing_contexts_are_similar():
    rng = np.random.default_rng(0)
    # 0 y 1 aparecen siempre entre 4 y 5; 2 y 3, entre 6 y 7: 0 debe parecerse más a 1 que a 2.
    ids = np.array([x for _ in range(3000) for x in ((4, rng.choice([0, 1]), 5) if rng.random() < 0.5 else (6, rng.choice([2, 3]), 7))])
    model = train_skipgram(ids, 8, d_model=16, window=1, epochs=5, batch_size=64, subsample=1.0, seed=0)
    neighbours = [w for w, _ in most_similar(model.words.weight.detach(), [str(i) for i in range(8)], "0", k=3)]
    assert neighbours[0] == "1"
