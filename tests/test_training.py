"Propiedades del bucle de entrenamiento, de los checkpoints, de la métrica y del muestreo (apéndice)."
import math
import os
from dataclasses import dataclass

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from transformer_course.training import (History, bits_per_char, inverse_sqrt, load_checkpoint, make_schedule,
                                         param_groups, random_windows, sample_next, save_checkpoint, stream_bits,
                                         train, warmup_cosine)


class TinyLM(nn.Module):
    "Un modelo de lenguaje recurrente diminuto, con dropout (para probar que se restaura su generador)."
    def __init__(self, vocab_size: int = 8, d_model: int = 8, dropout: float = 0.2):
        super().__init__()
        self.config = {"vocab_size": vocab_size, "d_model": d_model, "dropout": dropout}
        self.embedding, self.gru = nn.Embedding(vocab_size, d_model), nn.GRU(d_model, d_model, batch_first=True)
        self.drop, self.head = nn.Dropout(dropout), nn.Linear(d_model, vocab_size)

    def forward(self, ids, state=None):
        out, state = self.gru(self.embedding(ids), state)
        return self.head(self.drop(out)), state


IDS = torch.arange(200) % 8  # una secuencia periódica: el siguiente token se deduce del actual
batches = lambda g: random_windows(IDS, 4, 10, g)
same_weights = lambda a, b: all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_train_is_seeded_and_learns(tmp_path):
    histories, models = [], []
    for _ in range(2):
        torch.manual_seed(0)
        model = TinyLM(dropout=0.0)
        histories.append(train(model, batches, 60, lr=1e-2, eval_batches=[batches(torch.Generator().manual_seed(1))],
                               eval_every=20, progress=False, best=tmp_path/"best.safetensors"))
        models.append(model)
    assert histories[0].train_loss == histories[1].train_loss and same_weights(*models)
    assert histories[0].val_loss[-1] < 0.3 * math.log(8) and histories[0].val_loss[-1] < histories[0].val_loss[0]
    assert histories[0].val_steps == [20, 40, 60] and histories[0].steps == list(range(1, 61))
    meta = load_checkpoint(tmp_path/"best.safetensors", TinyLM(dropout=0.0))
    assert meta["val_loss"] == min(histories[1].val_loss)


@settings(max_examples=6, deadline=None)
@given(cut=st.integers(1, 29), accumulate=st.integers(1, 2), schedule=st.sampled_from(["cosine", "inverse_sqrt"]))
def test_resume_is_bit_for_bit(tmp_path_factory, cut, accumulate, schedule):
    "Cortar en cualquier paso y reanudar da los mismos pesos e historia que entrenar seguido."
    ckpt = tmp_path_factory.mktemp("run")/"run.safetensors"
    options = dict(lr=1e-2, weight_decay=0.1, warmup=5, schedule=schedule, accumulate=accumulate, eval_every=1,
                   progress=False, eval_fn=lambda m: 0.0)
    torch.manual_seed(0); straight = TinyLM()
    expected = train(straight, batches, 30, **options)
    calls = 0
    def cut_batches(g):
        nonlocal calls
        calls += 1
        if calls > cut * accumulate: raise KeyboardInterrupt
        return batches(g)
    torch.manual_seed(0); crashed = TinyLM()
    with pytest.raises(KeyboardInterrupt): train(crashed, cut_batches, 30, checkpoint=ckpt, **options)
    resumed = TinyLM()
    history = train(resumed, batches, 30, resume=ckpt, **options)
    assert same_weights(straight, resumed)
    assert history.train_loss == expected.train_loss and history.steps == list(range(1, 31))


def test_resume_needs_a_training_checkpoint(tmp_path):
    save_checkpoint(TinyLM(), tmp_path/"weights.safetensors")
    with pytest.raises(ValueError, match="optimizer"):
        train(TinyLM(), batches, 3, resume=tmp_path/"weights.safetensors", progress=False)


def test_accumulation_equals_the_big_batch():
    halves = lambda g: random_windows(IDS, 4, 10, g)
    def both(g):
        (a, b), (c, d) = halves(g), halves(g)
        return torch.cat([a, c]), torch.cat([b, d])
    torch.manual_seed(0); big = TinyLM(dropout=0.0)
    train(big, both, 3, lr=1e-2, progress=False)
    torch.manual_seed(0); small = TinyLM(dropout=0.0)
    train(small, halves, 3, lr=1e-2, accumulate=2, progress=False)
    for a, b in zip(big.parameters(), small.parameters()): torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_train_stops_on_non_finite_loss():
    model = nn.Linear(2, 1)
    with pytest.raises(FloatingPointError, match="paso 1:.*lr"):
        train(model, lambda g: torch.zeros(1), 3, loss_fn=lambda m, b: m.weight.sum() * float("nan"), progress=False)


def test_train_rejects_bad_options():
    for bad in (dict(steps=0), dict(steps=3, accumulate=0), dict(steps=3, schedule="lineal")):
        with pytest.raises(ValueError): train(TinyLM(), batches, progress=False, **bad)


def test_schedules():
    f = warmup_cosine(100, warmup=10)
    assert f(0) == 0.1 and f(9) == 1.0 and math.isclose(f(99), 0.1, abs_tol=1e-3)
    assert all(f(s) >= f(s + 1) for s in range(10, 99))
    g = inverse_sqrt(16)
    assert g(15) == 1.0 and math.isclose(g(63), 0.5) and g(7) == 0.5
    assert make_schedule("constant", 10)(5) == 1.0 and make_schedule(lambda s: 0.3, 10)(5) == 0.3
    with pytest.raises(ValueError, match="warmup"): inverse_sqrt(0)


def test_param_groups_split_matrices_from_vectors():
    model = nn.Sequential(nn.Embedding(10, 4), nn.LayerNorm(4), nn.Linear(4, 3))
    decay, no_decay = param_groups(model, 0.1)
    assert {p.ndim for p in decay["params"]} == {2} and {p.ndim for p in no_decay["params"]} == {1}
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.config = {"n": 5}
        self.embedding = nn.Embedding(5, 3)
        self.head = nn.Linear(3, 5, bias=False)
        self.head.weight = self.embedding.weight


@dataclass
class Config:
    width: int = 4
    names: tuple = ("a", "b")


class WithDataclass(nn.Module):
    def __init__(self, config: Config):
        super().__init__()
        self.config, self.linear = config, nn.Linear(config.width, 2)


def test_checkpoint_round_trip_is_exact_and_keeps_ties(tmp_path):
    torch.manual_seed(0)
    model = TinyLM()
    save_checkpoint(model, tmp_path/"m.safetensors", note="hola", step=3, nested={"a": [1, torch.ones(2)]})
    again = TinyLM()
    meta = load_checkpoint(tmp_path/"m.safetensors", again)
    assert meta["note"] == "hola" and meta["step"] == 3 and torch.equal(meta["nested"]["a"][1], torch.ones(2))
    assert same_weights(model, again)
    tied = Tied()
    save_checkpoint(tied, tmp_path/"t.safetensors")
    other = Tied()
    load_checkpoint(tmp_path/"t.safetensors", other)
    assert torch.equal(other.embedding.weight, tied.embedding.weight) and other.head.weight is other.embedding.weight
    save_checkpoint(WithDataclass(Config()), tmp_path/"d.safetensors")
    load_checkpoint(tmp_path/"d.safetensors", WithDataclass(Config()))
    with pytest.raises(ValueError, match="config"): load_checkpoint(tmp_path/"d.safetensors", WithDataclass(Config(width=4, names=("a",))))


def test_checkpoint_without_a_newer_config_field_loads_with_its_default(tmp_path):
    "Un checkpoint guardado antes de que la config tuviera un campo (p. ej. `bias`) se carga con su valor por defecto."
    from safetensors import safe_open
    from safetensors.torch import save_file
    save_checkpoint(WithDataclass(Config()), tmp_path/"new.safetensors")
    with safe_open(tmp_path/"new.safetensors", framework="pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    meta["config"] = '{"width": 4}'                                      # sin el campo `names`, que vino después
    save_file(tensors, tmp_path/"old.safetensors", metadata=meta)
    load_checkpoint(tmp_path/"old.safetensors", WithDataclass(Config()))
    with pytest.raises(ValueError, match="config"): load_checkpoint(tmp_path/"old.safetensors", WithDataclass(Config(names=("a",))))


def test_checkpoint_errors(tmp_path):
    model = TinyLM()
    with pytest.raises(FileNotFoundError, match="save_checkpoint"): load_checkpoint(tmp_path/"no.safetensors", model)
    path = tmp_path/"m.safetensors"
    save_checkpoint(model, path)
    with pytest.raises(ValueError, match="config"): load_checkpoint(path, TinyLM(d_model=16))
    with pytest.raises(ValueError, match="TinyLM"): load_checkpoint(path, Tied())
    with pytest.raises(TypeError, match="metadatos"): save_checkpoint(model, path, when=object())
    from safetensors.torch import save_file
    save_file({"x": torch.zeros(2)}, tmp_path/"other.safetensors")
    with pytest.raises(ValueError, match="no un checkpoint"): load_checkpoint(tmp_path/"other.safetensors", model)
    for corrupt in (path.read_bytes()[:-10], b"", b"\x00" * 7, b"pickle? no, gracias" * 10):
        (tmp_path/"bad.safetensors").write_bytes(corrupt)
        with pytest.raises(ValueError, match="safetensors válido"): load_checkpoint(tmp_path/"bad.safetensors", model)


def test_failed_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path/"m.safetensors"
    save_checkpoint(TinyLM(), path, version=1)
    before = path.read_bytes()
    def disk_full(fd): raise OSError(28, "No queda espacio en el disco")
    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="espacio"): save_checkpoint(TinyLM(), path, version=2)
    monkeypatch.undo()
    assert path.read_bytes() == before and list(tmp_path.iterdir()) == [path]
    assert load_checkpoint(path, TinyLM()) == {"version": 1}


def test_stream_bits_and_bits_per_char():
    torch.manual_seed(0)
    model = TinyLM().eval()
    ids = torch.randint(0, 8, (50,))
    assert math.isclose(stream_bits(model, ids, 0, chunk=7), stream_bits(model, ids, 0, chunk=50), rel_tol=1e-5)

    class Digits:
        bos_id = 0
        def encode(self, text): return [int(c) for c in text]
    text = "".join(str(i) for i in ids.tolist())
    assert math.isclose(bits_per_char(model, text, Digits()), stream_bits(model, ids, 0) / len(text))
    with pytest.raises(ValueError, match="vacío"): bits_per_char(model, "", Digits())
    with pytest.raises(TypeError, match="tokenizador"): bits_per_char(model, "123")


@settings(max_examples=40, deadline=None)
@given(V=st.integers(2, 30), k=st.integers(1, 30), p=st.floats(0.01, 1.0), seed=st.integers(0, 10_000))
def test_sample_next_stays_in_the_allowed_set(V, k, p, seed):
    logits = torch.randn(3, V, generator=torch.Generator().manual_seed(seed))
    g = torch.Generator().manual_seed(seed)
    draws = torch.stack([sample_next(logits, 0.7, top_k=k, top_p=p, generator=g) for _ in range(20)])
    assert draws.shape == (20, 3)
    for row in range(3):
        order = logits[row].argsort(descending=True)
        probs = (logits[row] / 0.7).softmax(-1)[order]
        nucleus = int(((probs.cumsum(0) - probs) < p).sum())     # los primeros cuya masa anterior no llega a p
        allowed = set(order[:max(1, min(k, nucleus))].tolist())
        assert set(draws[:, row].tolist()) <= allowed
    assert torch.equal(sample_next(logits, 0), logits.argmax(-1))
    assert torch.equal(sample_next(logits, top_k=1, generator=g), logits.argmax(-1))


def test_sample_next_follows_the_distribution_and_rejects_bad_options():
    probs = torch.tensor([0.6, 0.3, 0.1])
    g = torch.Generator().manual_seed(0)
    counts = torch.stack([sample_next(probs.log(), generator=g) for _ in range(6000)]).bincount(minlength=3)
    torch.testing.assert_close(counts / 6000, probs, atol=0.02, rtol=0)
    for bad, error in ((dict(temperature=-1), ValueError), (dict(top_k=0), ValueError), (dict(top_p=0.0), ValueError),
                       (dict(top_p=1.5), ValueError), (dict(top_k=2.5), ValueError)):
        with pytest.raises(error): sample_next(probs.log(), **bad)
    with pytest.raises(TypeError): sample_next(torch.tensor([1, 2]))


def test_history_plot_runs():
    import matplotlib
    matplotlib.use("Agg")
    h = History(steps=[1, 2, 3], train_loss=[3.0, 2.0, 1.0], grad_norm=[1, 1, 1], val_steps=[3], val_loss=[1.5])
    ax = h.plot(label="x", smooth=2)
    assert len(ax.lines) == 2
