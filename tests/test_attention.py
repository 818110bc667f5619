"Propiedades de la atención: igualdad con PyTorch, equivarianza, causalidad y errores claros."
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from transformer_course.attention import (MultiHeadAttention, causal_mask, copy_weights_from_torch_mha, padding_mask,
                                          saved_bytes, scaled_dot_product_attention)

shapes = st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 7), st.integers(1, 7), st.integers(1, 6), st.integers(1, 5))


@settings(max_examples=40, deadline=None)
@given(shape=shapes, seed=st.integers(0, 10_000), masked=st.sampled_from(["none", "random", "causal"]))
def test_equal_to_torch_sdpa(shape, seed, masked):
    B, H, T, S, D, Dv = shape
    g = torch.Generator().manual_seed(seed)
    q, k = torch.randn(B, H, T, D, generator=g), torch.randn(B, H, S, D, generator=g)
    v = torch.randn(B, H, S, Dv, generator=g)
    mask = {"none": None, "random": torch.rand(B, 1, T, S, generator=g) < 0.6, "causal": causal_mask(T, S)}[masked]
    results = []
    for fn in (lambda *a: scaled_dot_product_attention(*a, mask)[0], lambda *a: F.scaled_dot_product_attention(*a, attn_mask=mask)):
        inputs = [t.clone().requires_grad_() for t in (q, k, v)]
        out = fn(*inputs)
        results.append((out, *torch.autograd.grad(out.sin().sum(), inputs)))
    for a, b in zip(*results):
        assert torch.isfinite(a).all()
        torch.testing.assert_close(a, b)


@settings(max_examples=25, deadline=None)
@given(B=st.integers(1, 3), T=st.integers(2, 9), heads=st.sampled_from([1, 2, 4]), seed=st.integers(0, 10_000))
def test_self_attention_is_permutation_equivariant(B, T, heads, seed):
    torch.manual_seed(seed)
    mha = MultiHeadAttention(8, heads)
    x = torch.randn(B, T, 8)
    perm = torch.randperm(T)
    torch.testing.assert_close(mha(x[:, perm])[0], mha(x)[0][:, perm])
    torch.testing.assert_close(mha(x[:, perm], need_weights=True)[0], mha(x)[0][:, perm])


@settings(max_examples=25, deadline=None)
@given(T=st.integers(2, 10), seed=st.integers(0, 10_000), need_weights=st.booleans(), data=st.data())
def test_causal_output_ignores_the_future(T, seed, need_weights, data):
    t = data.draw(st.integers(0, T - 2))
    torch.manual_seed(seed)
    mha = MultiHeadAttention(8, 2)
    x = torch.randn(2, T, 8)
    changed = x.clone()
    changed[:, t + 1:] = torch.randn(2, T - t - 1, 8) * 10
    a = mha(x, mask=causal_mask(T), need_weights=need_weights)[0]
    b = mha(changed, mask=causal_mask(T), need_weights=need_weights)[0]
    assert torch.equal(a[:, :t + 1], b[:, :t + 1])


@settings(max_examples=20, deadline=None)
@given(B=st.integers(1, 3), T=st.integers(1, 6), S=st.integers(1, 6), seed=st.integers(0, 10_000))
def test_equal_to_torch_multihead_attention_with_padding(B, T, S, seed):
    torch.manual_seed(seed)
    theirs = nn.MultiheadAttention(12, 3, batch_first=True)
    ours = copy_weights_from_torch_mha(MultiHeadAttention(12, 3), theirs)
    q, kv = torch.randn(B, T, 12), torch.randn(B, S, 12)
    lengths = torch.randint(1, S + 1, (B,))
    keep = torch.arange(S) < lengths[:, None]                       # ninguna fila vacía: torch daría NaN
    out_t, w_t = theirs(q, kv, kv, key_padding_mask=~keep, average_attn_weights=False)
    for need_weights in (True, False):
        out_o, w_o = ours(q, kv, mask=keep[:, None, :], need_weights=need_weights)
        torch.testing.assert_close(out_o, out_t)
        if need_weights: torch.testing.assert_close(w_o, w_t)


def test_masks():
    assert torch.equal(causal_mask(3), torch.tensor([[1, 0, 0], [1, 1, 0], [1, 1, 1]], dtype=torch.bool))
    assert torch.equal(causal_mask(2, 4), torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]], dtype=torch.bool))
    assert torch.equal(padding_mask(torch.tensor([[3, 4, 0]]), 0), torch.tensor([[[True, True, False]]]))
    with pytest.raises(ValueError, match="positivas"): causal_mask(0)
    with pytest.raises(ValueError, match=r"\(B, S\)"): padding_mask(torch.tensor([1, 2, 0]), 0)


def test_fully_masked_rows_give_zero_without_nan():
    q = torch.randn(2, 4, 8, requires_grad=True)
    mask = torch.zeros(4, 4, dtype=torch.bool)
    mask[0, 0] = True
    out, weights = scaled_dot_product_attention(q, q, q, mask)
    out.sum().backward()
    assert (out[:, 1:] == 0).all() and (weights[:, 1:] == 0).all() and torch.isfinite(q.grad).all()


@pytest.mark.parametrize("args, error, words", [
    ((torch.randn(2, 3, 8), torch.randn(2, 4, 6), torch.randn(2, 4, 5)), ValueError, "misma dimensión D"),
    ((torch.randn(2, 3, 8), torch.randn(2, 4, 8), torch.randn(2, 5, 5)), ValueError, "un valor por clave"),
    ((torch.randn(2, 3, 8), torch.randn(2, 4, 8), torch.randn(2, 4, 5), torch.ones(3, 4)), TypeError, "booleano"),
    ((torch.randn(2, 3, 8), torch.randn(2, 4, 8), torch.randn(2, 4, 5), torch.ones(4, 3, dtype=torch.bool)), ValueError, "no encaja"),
    ((torch.randn(2, 3, 8), torch.randn(2, 4, 8, device="meta"), torch.randn(2, 4, 5)), ValueError, "mismo dispositivo"),
    ((torch.ones(2, 3, 8, dtype=torch.long), torch.randn(2, 4, 8), torch.randn(2, 4, 5)), TypeError, "coma flotante"),
    ((torch.randn(8), torch.randn(2, 4, 8), torch.randn(2, 4, 5)), ValueError, "al menos forma"),
])
def test_bad_input_is_explained_before_computing(args, error, words):
    with pytest.raises(error, match=words): scaled_dot_product_attention(*args)


def test_multihead_errors():
    with pytest.raises(ValueError, match="divisible"): MultiHeadAttention(10, 4)
    mha = MultiHeadAttention(8, 2)
    with pytest.raises(ValueError, match="d_model = 8"): mha(torch.randn(2, 3, 6))
    with pytest.raises(ValueError, match="d_model = 8"): mha(torch.randn(3, 8))
    with pytest.raises(ValueError, match="no encaja"): mha(torch.randn(2, 3, 8), torch.randn(2, 5, 8), mask=causal_mask(3))
    with pytest.raises(TypeError, match="MultiheadAttention"): copy_weights_from_torch_mha(mha, nn.Linear(8, 8))
    with pytest.raises(ValueError, match="Formas distintas"): copy_weights_from_torch_mha(mha, nn.MultiheadAttention(8, 4))


def test_dropout_only_in_training():
    torch.manual_seed(0)
    mha = MultiHeadAttention(8, 2, dropout=0.5)
    x = torch.randn(2, 5, 8)
    mha.eval()
    torch.testing.assert_close(mha(x)[0], mha(x, need_weights=True)[0])
    mha.train()
    assert not torch.allclose(mha(x, need_weights=True)[0], mha(x, need_weights=True)[0])


def test_saved_bytes_counts_the_weight_matrix():
    x = torch.randn(2, 64, 8, requires_grad=True)
    small = saved_bytes(lambda: scaled_dot_product_attention(x[:, :16], x[:, :16], x[:, :16]))
    large = saved_bytes(lambda: scaled_dot_product_attention(x, x, x))
    assert large >= 2 * 64 * 64 * 4 > small


def test_multihead_checks_dtype_and_device_before_projecting():
    mha = MultiHeadAttention(8, 2)
    with pytest.raises(TypeError, match="coma flotante"): mha(torch.ones(2, 3, 8, dtype=torch.long))
    with pytest.raises(ValueError, match="mismo dispositivo"): mha(torch.randn(2, 3, 8), torch.randn(2, 4, 8, device="meta"))
    with pytest.raises(ValueError, match="mismo dispositivo"): mha(torch.randn(2, 3, 8), mask=causal_mask(3, device="meta"))
