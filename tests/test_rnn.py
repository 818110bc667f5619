"Propiedades de las redes recurrentes (capítulo 4)."
import math
import os

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from transformer_course.rnn import LSTM, RNN, CharLM, LSTMCell, RNNCell, copy_weights_from_torch, set_forget_bias
from transformer_course.training import random_windows, save_checkpoint, stream_bits


@settings(max_examples=25, deadline=None)
@given(kind=st.sampled_from(["rnn", "lstm"]), batch=st.integers(1, 4), length=st.integers(1, 6),
       input_size=st.integers(1, 5), hidden=st.integers(1, 6), layers=st.integers(1, 3), seed=st.integers(0, 1000),
       with_state=st.booleans())
def test_equal_to_torch_for_any_shape(kind, batch, length, input_size, hidden, layers, seed, with_state):
    torch.manual_seed(seed)
    theirs = (nn.RNN if kind == "rnn" else nn.LSTM)(input_size, hidden, layers, batch_first=True)
    ours = copy_weights_from_torch((RNN if kind == "rnn" else LSTM)(input_size, hidden, layers), theirs)
    x = torch.randn(batch, length, input_size)
    state = None
    if with_state:
        state = torch.randn(layers, batch, hidden) if kind == "rnn" else (torch.randn(layers, batch, hidden), torch.randn(layers, batch, hidden))
    grads = []
    for model in (theirs, ours):
        x_ = x.clone().requires_grad_()
        out, final = model(x_, state)
        final = final if isinstance(final, tuple) else (final,)
        (out.sin().sum() + sum(f.cos().sum() for f in final)).backward()
        grads.append((out, final, x_.grad))
    for a, b in zip(*grads): torch.testing.assert_close(b, a)


def test_cells_match_torch_cells():
    torch.manual_seed(0)
    for ours, theirs in ((RNNCell(3, 4), nn.RNNCell(3, 4)), (LSTMCell(3, 4), nn.LSTMCell(3, 4))):
        with torch.no_grad():
            for name, p in theirs.named_parameters(): getattr(ours, name).copy_(p)
        x = torch.randn(5, 3)
        torch.testing.assert_close(ours(x), theirs(x))


def test_scratch_charlm_equals_torch_charlm():
    torch.manual_seed(0)
    a = CharLM(30, d_model=8, hidden_size=16, n_layers=2, impl="torch")
    b = CharLM(30, d_model=8, hidden_size=16, n_layers=2, impl="scratch")
    b.embedding.load_state_dict(a.embedding.state_dict()); b.head.load_state_dict(a.head.state_dict())
    copy_weights_from_torch(b.recurrent, a.recurrent)
    ids = torch.randint(0, 30, (2, 9))
    torch.testing.assert_close(b(ids)[0], a(ids)[0])
    assert math.isclose(stream_bits(a, ids[0], 2, chunk=4), stream_bits(b, ids[0], 2, chunk=100), rel_tol=1e-5)


def test_stream_bits_does_not_depend_on_chunk():
    torch.manual_seed(0)
    model = CharLM(20, d_model=4, hidden_size=8)
    ids = torch.randint(0, 20, (50,))
    assert math.isclose(stream_bits(model, ids, 2, chunk=7), stream_bits(model, ids, 2, chunk=50), rel_tol=1e-5)


@pytest.mark.parametrize("bad, error, words", [
    (torch.randn(7, 8), ValueError, "unsqueeze"),
    (torch.ones(2, 7, 8, dtype=torch.long), TypeError, "coma flotante"),
    (torch.randn(2, 7, 9), ValueError, "input_size = 8"),
    ("texto", TypeError, "tensor"),
])
def test_bad_input_is_explained(bad, error, words):
    with pytest.raises(error, match=words): LSTM(8, 16)(bad)


def test_bad_state_and_options():
    with pytest.raises(ValueError, match="n_layers, B, hidden_size"): RNN(8, 16, 2)(torch.randn(3, 4, 8), torch.zeros(1, 3, 16))
    with pytest.raises(ValueError, match="n_layers, B, hidden_size"): LSTM(8, 16)(torch.randn(3, 4, 8), (torch.zeros(1, 3, 16), torch.zeros(1, 3, 15)))
    with pytest.raises(ValueError, match=r"\(B, hidden_size\)"): LSTMCell(8, 16)(torch.randn(3, 8), (torch.zeros(3, 16), torch.zeros(2, 16)))
    with pytest.raises(ValueError, match="batch_first"): RNN(8, 16, batch_first=False)
    with pytest.raises(TypeError, match="torch.nn.LSTM"): copy_weights_from_torch(LSTM(8, 16), nn.RNN(8, 16))
    with pytest.raises(ValueError, match="mismo|distintas"): copy_weights_from_torch(LSTM(8, 16), nn.LSTM(8, 32))
    with pytest.raises(ValueError, match="cell"): CharLM(10, cell="gru")
    with pytest.raises(TypeError, match="torch.long"): CharLM(10)(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="unsqueeze"): CharLM(10)(torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="fuera del vocabulario"): CharLM(10)(torch.tensor([[3, 10]]))
    with pytest.raises(ValueError, match="context_len"): random_windows(torch.arange(5), 2, 5, torch.Generator())


def test_forget_bias_sets_effective_bias():
    for lstm in (nn.LSTM(3, 4, 2), LSTM(3, 4, 2)):
        set_forget_bias(lstm, 2.0)
        pairs = [(lstm.bias_ih_l1, lstm.bias_hh_l1)] if isinstance(lstm, nn.LSTM) else [(c.bias_ih, c.bias_hh) for c in lstm.cells]
        for b_ih, b_hh in pairs: assert torch.equal((b_ih + b_hh)[4:8], torch.full((4,), 2.0))
    with pytest.raises(ValueError, match="bias"): set_forget_bias(nn.Linear(3, 4))


def test_generate_is_seeded_and_greedy_at_zero_temperature():
    torch.manual_seed(0)
    model = CharLM(12, d_model=4, hidden_size=8)
    assert model.generate([2, 5], 20, seed=1) == model.generate([2, 5], 20, seed=1)
    greedy = model.generate([2, 5], 10, temperature=0)
    assert greedy == model.generate([2, 5], 10, top_k=1, seed=7)
    with pytest.raises(ValueError, match="vacío"): model.generate([], 5)


def test_train_char_lm_reads_back_what_it_trained_and_retrains_when_anything_changes(tmp_path, monkeypatch, capsys):
    "La caché de train_char_lm: la misma red y la misma historia al leerla; otra clave (pasos, datos) u otro archivo dañado, se entrena."
    from transformer_course.rnn import train_char_lm
    monkeypatch.setenv("TRANSFORMER_COURSE_CACHE", str(tmp_path))
    ids = torch.randint(0, 12, (3000,), generator=torch.Generator().manual_seed(0))
    evals = [random_windows(ids, 4, 16, torch.Generator().manual_seed(1))]
    trained, history = train_char_lm(12, ids, evals, steps=8)
    files = list((tmp_path/"modelos").iterdir())
    assert len(files) == 1 and "caché" not in capsys.readouterr().out
    read, again = train_char_lm(12, ids, evals, steps=8)
    assert "leída de la caché" in capsys.readouterr().out
    assert again == history and all(torch.equal(a, b) for a, b in zip(trained.state_dict().values(), read.state_dict().values()))
    train_char_lm(12, ids, evals, steps=9)                                   # otros pasos: otra clave
    train_char_lm(12, ids.flip(0), evals, steps=8)                           # otros datos: otra clave
    assert len(list((tmp_path/"modelos").iterdir())) == 3
    files[0].write_bytes(b"no es un checkpoint")                             # dañado: se entrena y se reescribe
    _, retrained = train_char_lm(12, ids, evals, steps=8)
    assert "se entrena de nuevo" in capsys.readouterr().out and retrained.val_loss == history.val_loss
    _, cached = train_char_lm(12, ids, evals, steps=8)
    assert "leída de la caché" in capsys.readouterr().out and cached == retrained
    save_checkpoint(trained, files[0])                                      # pesos sin historia: se entrena desde cero
    _, again = train_char_lm(12, ids, evals, steps=8)
    assert "se entrena de nuevo" in capsys.readouterr().out and again.val_loss == history.val_loss
