"Propiedades de las redes recurrentes, del bucle de entrenamiento y de los checkpoints."
import math
import os

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from transformer_course.rnn import (LSTM, RNN, CharLM, LSTMCell, RNNCell, copy_weights_from_torch, load_checkpoint,
                                    random_windows, save_checkpoint, set_forget_bias, stream_bits, train)


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
    a = CharLM(30, d_model=8, hidden_size=16, num_layers=2, impl="torch")
    b = CharLM(30, d_model=8, hidden_size=16, num_layers=2, impl="scratch")
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
    with pytest.raises(ValueError, match="num_layers, B, hidden_size"): RNN(8, 16, 2)(torch.randn(3, 4, 8), torch.zeros(1, 3, 16))
    with pytest.raises(ValueError, match="num_layers, B, hidden_size"): LSTM(8, 16)(torch.randn(3, 4, 8), (torch.zeros(1, 3, 16), torch.zeros(1, 3, 15)))
    with pytest.raises(ValueError, match=r"\(B, hidden_size\)"): LSTMCell(8, 16)(torch.randn(3, 8), (torch.zeros(3, 16), torch.zeros(2, 16)))
    with pytest.raises(ValueError, match="batch_first"): RNN(8, 16, batch_first=False)
    with pytest.raises(TypeError, match="torch.nn.LSTM"): copy_weights_from_torch(LSTM(8, 16), nn.RNN(8, 16))
    with pytest.raises(ValueError, match="mismo|distintas"): copy_weights_from_torch(LSTM(8, 16), nn.LSTM(8, 32))
    with pytest.raises(ValueError, match="cell"): CharLM(10, cell="gru")
    with pytest.raises(ValueError, match="torch.long"): CharLM(10)(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="context_len"): random_windows(torch.arange(5), 2, 5, torch.Generator())


def test_forget_bias_sets_effective_bias():
    for lstm in (nn.LSTM(3, 4, 2), LSTM(3, 4, 2)):
        set_forget_bias(lstm, 2.0)
        pairs = [(lstm.bias_ih_l1, lstm.bias_hh_l1)] if isinstance(lstm, nn.LSTM) else [(c.bias_ih, c.bias_hh) for c in lstm.cells]
        for b_ih, b_hh in pairs: assert torch.equal((b_ih + b_hh)[4:8], torch.full((4,), 2.0))
    with pytest.raises(ValueError, match="bias"): set_forget_bias(nn.Linear(3, 4))


def test_train_is_seeded_and_learns(tmp_path):
    ids = torch.arange(40) % 8  # una secuencia periódica: el siguiente token se deduce del actual
    histories, models = [], []
    for _ in range(2):
        torch.manual_seed(0)
        model = CharLM(8, d_model=8, hidden_size=16)
        batch = lambda g: random_windows(ids, 8, 10, g)
        histories.append(train(model, batch, 60, lr=1e-2, eval_batches=[batch(torch.Generator().manual_seed(1))],
                               eval_every=20, progress=False, checkpoint=tmp_path/"best.safetensors"))
        models.append(model)
    assert histories[0].train_loss == histories[1].train_loss
    assert histories[0].val_loss[-1] < 0.3 * histories[0].val_loss[0]
    assert histories[0].val_steps == [20, 40, 60]
    meta = load_checkpoint(tmp_path/"best.safetensors", CharLM(8, d_model=8, hidden_size=16))
    assert meta["val_loss"] == min(histories[1].val_loss)


def test_train_stops_on_non_finite_loss():
    model = nn.Linear(2, 1)
    with pytest.raises(FloatingPointError, match="lr"):
        train(model, lambda g: torch.zeros(1), 3, loss_fn=lambda m, b: m.weight.sum() * float("nan"), progress=False)


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.config = {"n": 5}
        self.embedding = nn.Embedding(5, 3)
        self.head = nn.Linear(3, 5, bias=False)
        self.head.weight = self.embedding.weight


def test_checkpoint_round_trip_is_exact_and_keeps_ties(tmp_path):
    torch.manual_seed(0)
    model = CharLM(12, d_model=4, hidden_size=8, num_layers=2)
    save_checkpoint(model, tmp_path/"m.safetensors", note="hola", step=3)
    again = CharLM(12, d_model=4, hidden_size=8, num_layers=2)
    assert load_checkpoint(tmp_path/"m.safetensors", again) == {"note": "hola", "step": 3}
    for (name, a), (_, b) in zip(model.state_dict().items(), again.state_dict().items()): assert torch.equal(a, b), name
    tied = Tied()
    save_checkpoint(tied, tmp_path/"t.safetensors")
    other = Tied()
    load_checkpoint(tmp_path/"t.safetensors", other)
    assert torch.equal(other.embedding.weight, tied.embedding.weight) and other.head.weight is other.embedding.weight


def test_checkpoint_errors(tmp_path):
    model = CharLM(12, d_model=4, hidden_size=8)
    with pytest.raises(FileNotFoundError, match="save_checkpoint"): load_checkpoint(tmp_path/"no.safetensors", model)
    path = tmp_path/"m.safetensors"
    save_checkpoint(model, path)
    with pytest.raises(ValueError, match="config"): load_checkpoint(path, CharLM(12, d_model=4, hidden_size=16))
    with pytest.raises(ValueError, match="CharLM"): load_checkpoint(path, Tied())
    with pytest.raises(TypeError, match="JSON"): save_checkpoint(model, path, when=object())
    from safetensors.torch import save_file
    save_file({"x": torch.zeros(2)}, tmp_path/"other.safetensors")
    with pytest.raises(ValueError, match="no un checkpoint del curso"): load_checkpoint(tmp_path/"other.safetensors", model)
    for corrupt in (path.read_bytes()[:-10], b"", b"\x00" * 7, b"pickle? no, gracias" * 10):
        (tmp_path/"bad.safetensors").write_bytes(corrupt)
        with pytest.raises(ValueError, match="safetensors válido"): load_checkpoint(tmp_path/"bad.safetensors", model)


def test_failed_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path/"m.safetensors"
    first = CharLM(12, d_model=4, hidden_size=8)
    save_checkpoint(first, path, version=1)
    before = path.read_bytes()
    def disk_full(fd): raise OSError(28, "No queda espacio en el disco")
    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="espacio"): save_checkpoint(CharLM(12, d_model=4, hidden_size=8), path, version=2)
    monkeypatch.undo()
    assert path.read_bytes() == before and list(tmp_path.iterdir()) == [path]
    assert load_checkpoint(path, CharLM(12, d_model=4, hidden_size=8)) == {"version": 1}
