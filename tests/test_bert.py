"Propiedades de BERT: igualdad con transformers, la regla 15/80-10-10, la pérdida solo en lo elegido, relleno y errores."
import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from transformer_course.bert import (IGNORE, BertAccentRestorer, BertConfig, BertForPreTraining,
                                     BertForSequenceClassification, BertForTokenClassification, BertModel,
                                     classification_loss, encode_words, fill_mask, from_hf, mask_tokens, mlm_loss,
                                     nsp_example, pretraining_batch, pretraining_loss, to_hf)
from transformer_course.data import strip_accents, tokenize
from transformer_course.tokenization import BPETokenizer
from transformer_course.training import load_checkpoint, save_checkpoint

TEXT = ("En un lugar de la Mancha, de cuyo nombre no quiero acordarme, no ha mucho tiempo que vivía un hidalgo. "
        "Él no sabía qué decir. ¿Qué dices, Sancho? Aquí está mi escudero, que es más sabio que él.")


@pytest.fixture(scope="module")
def tok():
    return BPETokenizer.train(TEXT, 300)


@settings(max_examples=20, deadline=None)
@given(B=st.integers(1, 3), T=st.integers(1, 12), heads=st.sampled_from([1, 2, 4]), act=st.sampled_from(["gelu", "relu"]),
       seed=st.integers(0, 10_000))
def test_logits_equal_transformers(B, T, heads, act, seed):
    torch.manual_seed(seed)
    config = BertConfig(60, d_model=8, n_heads=heads, d_ff=16, n_layers=2, context_len=12, activation=act, dropout=0.0)
    ours = BertForPreTraining(config).double().eval()
    hf = to_hf(ours, with_nsp=True).double()
    lengths = torch.randint(1, T + 1, (B,))
    real = torch.arange(T) < lengths[:, None]
    ids = torch.randint(7, 60, (B, T)).masked_fill(~real, 0)
    segments = torch.randint(0, 2, (B, T))
    with torch.no_grad():
        mlm, nsp = ours(ids, segments)
        theirs = hf(input_ids=ids, token_type_ids=segments, attention_mask=real.long())
    torch.testing.assert_close(mlm[real], theirs.prediction_logits[real])
    torch.testing.assert_close(nsp, theirs.seq_relationship_logits)
    back = from_hf(hf)
    assert all(torch.equal(a, b) for a, b in zip(back.state_dict().values(), ours.state_dict().values()))


@settings(max_examples=25, deadline=None)
@given(rate=st.floats(0.05, 0.6), seed=st.integers(0, 10_000), whole=st.booleans())
def test_mask_tokens_rule(rate, seed, whole):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, 500, (40, 50), generator=g)
    word_ids = torch.arange(50).div(3, rounding_mode="floor").expand(40, 50) if whole else None
    inputs, labels = mask_tokens(ids, 500, rate, word_ids=word_ids, generator=g)
    chosen = labels != IGNORE
    assert not chosen[ids < 7].any()                                      # nunca un especial
    assert torch.equal(labels[chosen], ids[chosen]) and torch.equal(inputs[~chosen], ids[~chosen])
    assert ((inputs[chosen] == 4) | (inputs[chosen] >= 7)).all()          # <mask> o un token normal
    if whole:                                                             # todas las piezas normales de la palabra
        for row in range(40):
            for w in range(17):
                piece = (word_ids[row] == w) & (ids[row] >= 7)
                assert chosen[row][piece].all() or not chosen[row][piece].any()
    n = int((ids >= 7).sum())
    if not whole: assert abs(chosen.sum().item() / n - rate) < 5 * (rate * (1 - rate) / n) ** 0.5


def test_mlm_loss_ignores_unchosen_and_padding():
    torch.manual_seed(0)
    logits, labels = torch.randn(3, 7, 20), torch.full((3, 7), IGNORE)
    labels[0, 2], labels[2, 5] = 4, 9
    loss = mlm_loss(logits, labels)
    noisy = logits.clone()
    noisy[labels == IGNORE] = torch.randn_like(noisy[labels == IGNORE]) * 50
    torch.testing.assert_close(mlm_loss(noisy, labels), loss)
    expected = -(logits[0, 2].log_softmax(-1)[4] + logits[2, 5].log_softmax(-1)[9]) / 2
    torch.testing.assert_close(loss, expected)
    with pytest.raises(ValueError, match="Ninguna posición"): mlm_loss(logits, torch.full((3, 7), IGNORE))


@pytest.mark.parametrize("rate", [0, 1, -0.1, 1.5])
def test_mask_rate_outside_unit_interval(rate):
    with pytest.raises(ValueError, match=r"\(0, 1\)"): mask_tokens(torch.ones(1, 4, dtype=torch.long) * 9, 20, rate)


def test_padding_does_not_change_real_positions():
    torch.manual_seed(0)
    bert = BertModel(BertConfig(50, d_model=16, n_heads=2, d_ff=32, n_layers=2, context_len=16)).eval()
    ids = torch.randint(7, 50, (2, 6))
    padded = torch.cat([ids, torch.zeros(2, 4, dtype=torch.long)], 1)
    torch.testing.assert_close(bert(padded)[:, :6], bert(ids))


def test_nsp_examples_fit_and_segments(tok):
    docs = [[tok.encode(s) for s in TEXT.split(". ")], [tok.encode("Augusto salió de casa. Llovía.")]]
    g = torch.Generator().manual_seed(0)
    for _ in range(50):
        ids, segments, is_random = nsp_example(docs, 24, tok.cls_id, tok.sep_id, g)
        assert len(ids) == len(segments) <= 24 and ids[0] == tok.cls_id and ids[-1] == tok.sep_id
        first_sep = ids.index(tok.sep_id)
        assert segments == [0] * (first_sep + 1) + [1] * (len(ids) - first_sep - 1) and is_random in (0, 1)
    config = BertConfig(tok.vocab_size, d_model=16, n_heads=2, d_ff=32, n_layers=1, context_len=24)
    batch = pretraining_batch(docs, 6, config, g)
    assert (batch[2][batch[0] == 0] == IGNORE).all()
    assert pretraining_loss(BertForPreTraining(config), batch).isfinite()


def test_encode_words_matches_encode(tok):
    ids, word_ids, words = encode_words(tok, TEXT)
    assert ids == tok.encode(TEXT) and len(ids) == len(word_ids) and word_ids[-1] == len(words) - 1
    assert tok.decode(ids) == TEXT


def test_fill_mask_and_errors(tok):
    torch.manual_seed(0)
    model = BertForPreTraining(BertConfig(tok.vocab_size, d_model=16, n_heads=2, d_ff=32, n_layers=1, context_len=16))
    (top,) = fill_mask(model, tok, "la <mask> de", top_k=3)
    assert len(top) == 3 and top[0][1] >= top[1][1] >= top[2][1]
    assert len(fill_mask(model, tok, "[MASK] y <mask>")) == 2
    with pytest.raises(ValueError, match="ningún hueco"): fill_mask(model, tok, "sin huecos")
    with pytest.raises(ValueError, match="vacío"): fill_mask(model, tok, "  ")
    with pytest.raises(ValueError, match="context_len"): fill_mask(model, tok, "palabra " * 30 + "<mask>")


def test_heads_checkpoint_roundtrip_and_shape_error(tmp_path, tok):
    config = BertConfig(tok.vocab_size, d_model=16, n_heads=2, d_ff=32, n_layers=1, context_len=16)
    head = BertForSequenceClassification(BertModel(config), 2)
    save_checkpoint(head, tmp_path / "h.safetensors")
    other = BertForSequenceClassification(BertModel(config), 2)
    load_checkpoint(tmp_path / "h.safetensors", other)
    assert all(torch.equal(a, b) for a, b in zip(head.state_dict().values(), other.state_dict().values()))
    with pytest.raises(ValueError, match="no encajan|config"):
        load_checkpoint(tmp_path / "h.safetensors", BertForSequenceClassification(BertModel(config), 3))
    ids = torch.randint(7, tok.vocab_size, (2, 5))
    assert classification_loss(head, (ids, torch.tensor([0, 1]))).isfinite()


def test_accent_restorer_windows_cover_every_word(tok):
    forms = {"el": ["el", "él"], "que": ["que", "qué"], "esta": ["esta", "está"]}
    config = BertConfig(tok.vocab_size, d_model=16, n_heads=2, d_ff=32, n_layers=1, context_len=12)
    restorer = BertAccentRestorer(tok, forms, BertForTokenClassification(BertModel(config), 2))
    for window_ids, _, _ in restorer.windows(TEXT): assert len(window_ids) <= 12
    predicted = restorer.predict_words(TEXT)
    gold = tokenize(TEXT)
    assert len(predicted) == len(gold)                                     # una forma por palabra, sin perder ninguna
    bare = [strip_accents(g.lower()) for g in gold]
    assert all(p in forms.get(b, [b]) for p, b in zip(predicted, bare))   # siempre una forma conocida de la palabra
    examples = restorer.examples([TEXT])
    labelled = sum(l != IGNORE for _, labels in examples for l in labels)
    assert labelled == sum(g.lower() in ("el", "él", "que", "qué", "esta", "está") for g in gold)


def test_from_hf_rejects_what_we_cannot_compute():
    from transformers import BertConfig as HFConfig, BertForMaskedLM
    hf = BertForMaskedLM(HFConfig(vocab_size=30, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                                  intermediate_size=16, hidden_act="gelu_new"))
    with pytest.raises(ValueError, match="gelu_new"): from_hf(hf)
    ok = BertForMaskedLM(HFConfig(vocab_size=30, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                                  intermediate_size=16))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from_hf(ok)
    assert any("pooler" in str(w.message) for w in caught)
