"Propiedades de los avances: RoPE, GQA/MQA con caché, ventana deslizante, atención por bloques, expertos, int8 y poda."
import warnings

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn.utils import prune

from transformer_course.advances import (AdvancedGPT, AdvancedGPTConfig, CausalSelfAttention, KVCache,
                                         MoEFeedForward, SwiGLUFeedForward, apply_rope, apply_rope_complex,
                                         blockwise_attention, decode_step, from_gpt, load_balancing_loss, magnitude_masks,
                                         naive_attention, quantize_int8, rope_angles, sliding_window_mask)
from transformer_course.attention import causal_mask
from transformer_course.gpt import GPT, GPTConfig, generate


def small(seed: int = 0, **options) -> AdvancedGPT:
    torch.manual_seed(seed)
    config = dict(vocab_size=50, context_len=24, d_model=32, n_heads=4, n_layers=2) | options
    return AdvancedGPT(AdvancedGPTConfig(**config)).double().eval()


@settings(max_examples=25, deadline=None)
@given(m=st.integers(0, 500), n=st.integers(0, 500), shift=st.integers(0, 500), seed=st.integers(0, 10_000))
def test_rope_depends_only_on_distance(m, n, shift, seed):
    "q·k después de girar depende de m − n, no de m ni de n; y girar no cambia la norma."
    g = torch.Generator().manual_seed(seed)
    q, k = torch.randn(16, generator=g, dtype=torch.float64), torch.randn(16, generator=g, dtype=torch.float64)
    cos, sin = rope_angles(16, 1001)
    at = lambda v, t: apply_rope(v, cos[t].double(), sin[t].double())
    assert torch.isclose(at(q, m) @ at(k, n), at(q, m + shift) @ at(k, n + shift), atol=1e-4)
    assert torch.isclose(at(q, m).norm(), q.norm(), atol=1e-5)


def test_rope_pairs_equal_complex():
    x = torch.randn(2, 3, 50, 8)
    cos, sin = rope_angles(8, 50)
    assert (apply_rope(x, cos, sin) - apply_rope_complex(x)).abs().max() < 1e-5
    with pytest.raises(ValueError, match="par"): rope_angles(7, 10)


@settings(max_examples=20, deadline=None)
@given(groups=st.sampled_from([1, 2, 4]), positional=st.sampled_from(["learned", "rope"]),
       window=st.sampled_from([None, 1, 5, 24]), experts=st.sampled_from([0, 4]), bias=st.booleans(),
       seed=st.integers(0, 10_000), data=st.data())
def test_cache_equals_full_pass(groups, positional, window, experts, bias, seed, data):
    "Generar con la caché, en trozos de cualquier tamaño (también de un token), da los logits de la pasada entera."
    model = small(seed, n_kv_heads=groups, positional=positional, window=window, n_experts=experts, bias=bias)
    ids = torch.randint(0, 50, (2, 24), generator=torch.Generator().manual_seed(seed))
    cuts = sorted(data.draw(st.sets(st.integers(1, 23), max_size=6)))
    cache = KVCache(model.config, batch_size=2, dtype=torch.float64)
    with torch.no_grad():
        pieces = [model(ids[:, a:b], cache) for a, b in zip([0] + cuts, cuts + [24])]
        full = model(ids)
    assert (torch.cat(pieces, 1) - full).abs().max() < 1e-9
    assert cache.length == 24


@settings(max_examples=15, deadline=None)
@given(groups=st.sampled_from([1, 2, 4]), positional=st.sampled_from(["learned", "rope"]),
       prompt_len=st.integers(1, 12), new=st.integers(1, 12), seed=st.integers(0, 10_000))
def test_generate_with_the_one_cache(groups, positional, prompt_len, new, seed):
    "`generate` del capítulo 8, con su única KVCache, da con estos modelos los mismos tokens voraces que sin caché."
    model = small(seed, n_kv_heads=groups, positional=positional)
    prompt = torch.randint(0, 50, (prompt_len,), generator=torch.Generator().manual_seed(seed)).tolist()
    cached = generate(model, prompt, new, temperature=0)                 # todo cabe en context_len = 24
    assert len(cached) == new and cached == generate(model, prompt, new, temperature=0, use_cache=False)


@settings(max_examples=20, deadline=None)
@given(B=st.integers(1, 2), T=st.integers(2, 20), window=st.integers(1, 25), seed=st.integers(0, 10_000), data=st.data())
def test_window_is_causal_and_local(B, T, window, seed, data):
    "Con ventana W, cambiar un token solo cambia las posiciones de la capa que lo ven: ni antes, ni W o más después."
    model = small(seed, n_layers=1, window=window, positional="rope")
    ids = torch.randint(0, 50, (B, T), generator=torch.Generator().manual_seed(seed))
    t = data.draw(st.integers(0, T - 1))
    changed = ids.clone()
    changed[:, t] = (changed[:, t] + 1) % 50
    with torch.no_grad(): a, b = model(ids), model(changed)
    assert torch.equal(a[:, :t], b[:, :t])
    assert torch.equal(a[:, t + window:], b[:, t + window:])      # con una capa, el alcance es W − 1 posiciones


def test_sliding_window_mask():
    for T, S in ((1, 1), (5, 5), (3, 9)):
        assert torch.equal(sliding_window_mask(T, S, window=S), causal_mask(T, S))
    mask = sliding_window_mask(10, window=3)
    assert mask.sum(1).tolist() == [1, 2] + [3] * 8
    with pytest.raises(ValueError, match="window"): sliding_window_mask(4, window=0)
    with pytest.raises(ValueError, match="T ≤ S"): sliding_window_mask(5, 3, window=2)


@settings(max_examples=15, deadline=None)
@given(T=st.integers(1, 70), block=st.integers(1, 40), D=st.sampled_from([4, 16]), seed=st.integers(0, 10_000))
def test_blockwise_equals_naive_and_sdpa(T, block, D, seed):
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(2, 3, T, D, generator=g, dtype=torch.float64) for _ in range(3))
    reference = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert (blockwise_attention(q, k, v, block=block) - reference).abs().max() < 1e-10
    assert (naive_attention(q, k, v) - reference).abs().max() < 1e-10


def test_gqa_equals_pytorch_enable_gqa():
    torch.manual_seed(0)
    attention = CausalSelfAttention(d_model=32, n_heads=8, n_kv_heads=2, context_len=16).eval()
    x = torch.randn(2, 16, 32)
    q = attention.q_proj(x).reshape(2, 16, 8, 4).transpose(1, 2)
    k, v = attention.kv_proj(x).reshape(2, 16, 2, 2, 4).permute(2, 0, 3, 1, 4)
    theirs = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True).transpose(1, 2).reshape(2, 16, 32)
    assert (attention(x)[0] - attention.out_proj(theirs)).abs().max() < 1e-5


@pytest.mark.parametrize("bias", [True, False])
def test_from_gpt_is_the_same_model(bias):
    torch.manual_seed(0)
    gpt = GPT(GPTConfig(vocab_size=40, context_len=12, d_model=16, n_heads=2, n_layers=2, bias=bias)).double().eval()
    ids = torch.randint(0, 40, (3, 12))
    assert (from_gpt(gpt).double()(ids) - gpt(ids)).abs().max() < 1e-10


def test_advanced_gpt_is_a_gpt_but_not_converted_as_one():
    "AdvancedGPT hereda de GPT (forward, generate), pero las conversiones del GPT-2 del capítulo 8 lo rechazan."
    from transformer_course.gpt import to_hf
    model = AdvancedGPT(AdvancedGPTConfig(vocab_size=40, context_len=12, d_model=16, n_heads=2, n_layers=1,
                                          positional="rope"))
    assert isinstance(model, GPT) and model.positions is None
    for convert in (to_hf, from_gpt):
        with pytest.raises(TypeError, match="capítulo 8"): convert(model)


@settings(max_examples=15, deadline=None)
@given(experts=st.integers(1, 6), seed=st.integers(0, 10_000), data=st.data())
def test_moe_equals_token_by_token(experts, seed, data):
    "La mezcla por lotes es, token a token, la suma de sus k expertos con los pesos del softmax renormalizado."
    top_k = data.draw(st.integers(1, experts))
    torch.manual_seed(seed)
    moe = MoEFeedForward(8, experts, top_k, lambda: SwiGLUFeedForward(8, 12)).double()
    x = torch.randn(2, 5, 8, dtype=torch.float64)
    out = moe(x).reshape(-1, 8)
    for i, token in enumerate(x.reshape(-1, 8)):
        probs = moe.router(token).softmax(-1)
        weights, chosen = probs.topk(top_k)
        expected = sum(w / weights.sum() * moe.experts[e](token) for w, e in zip(weights, chosen.tolist()))
        assert (out[i] - expected).abs().max() < 1e-12


def test_load_balancing_loss_bounds():
    "Vale top_k con un reparto perfecto (probabilidades y elecciones uniformes) y se acerca a E si todo va a k expertos."
    E = 8
    logits = torch.stack([F.one_hot(torch.tensor(i), E) + F.one_hot(torch.tensor((i + 1) % E), E) for i in range(E)]).float() * 3
    assert torch.isclose(load_balancing_loss(logits, 2), torch.tensor(2.0))
    collapsed = torch.zeros(100, E)
    collapsed[:, :2] = 20.0
    assert torch.isclose(load_balancing_loss(collapsed, 2), torch.tensor(8.0), atol=1e-3)


def test_moe_gpt_trains_its_router():
    model = small(0, n_experts=4, top_k=2).float().train()
    ids = torch.randint(0, 50, (2, 24))
    loss = F.cross_entropy(model(ids).flatten(0, 1), ids.flatten()) + 0.01 * model.aux_loss()
    loss.backward()
    assert all(b.ff.router.weight.grad.abs().sum() > 0 for b in model.blocks)
    assert small(0).aux_loss().item() == 0                      # sin expertos, no hay pérdida de equilibrio


@settings(max_examples=15, deadline=None)
@given(rows=st.integers(1, 12), cols=st.integers(1, 40), seed=st.integers(0, 10_000))
def test_quantize_int8_equals_torch_ao(rows, cols, seed):
    torch.manual_seed(seed)
    layer = nn.Sequential(nn.Linear(cols, rows))
    codes, scales = quantize_int8(layer[0].weight.detach())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.ao.quantization.quantize_dynamic(
            layer, {nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig}, dtype=torch.qint8)[0].weight()
    assert torch.equal(codes, theirs.int_repr())
    assert torch.allclose(scales.double(), theirs.q_per_channel_scales())
    assert ((codes * scales[:, None] - layer[0].weight).abs() <= scales[:, None] / 2 + 1e-7).all()


@settings(max_examples=15, deadline=None)
@given(amount=st.floats(0.0, 0.95), seed=st.integers(0, 10_000))
def test_magnitude_masks_equal_torch_prune(amount, seed):
    torch.manual_seed(seed)
    layers = [nn.Linear(7, 5), nn.Linear(5, 9)]
    masks = magnitude_masks([m.weight for m in layers], amount)
    prune.global_unstructured([(m, "weight") for m in layers], pruning_method=prune.L1Unstructured, amount=amount)
    assert all(torch.equal(mask, m.weight_mask.bool()) for mask, m in zip(masks, layers))
    assert sum((~m).sum().item() for m in masks) == round(amount * (35 + 45))


def test_errors_are_clear():
    with pytest.raises(ValueError, match="múltiplo de n_kv_heads"): CausalSelfAttention(32, 4, 3, 8)
    with pytest.raises(ValueError, match="window"): CausalSelfAttention(32, 4, 2, 8, window=0)
    with pytest.raises(ValueError, match="positional"): AdvancedGPTConfig(vocab_size=5, positional="alibi")
    with pytest.raises(ValueError, match="top_k"): AdvancedGPTConfig(vocab_size=5, n_experts=2, top_k=3)
    with pytest.raises(ValueError, match="top_k"): MoEFeedForward(8, 2, 0, lambda: SwiGLUFeedForward(8, 8))
    with pytest.raises(ValueError, match="amount"): magnitude_masks([torch.randn(3, 3)], 1.0)
    with pytest.raises(ValueError, match="context_len"): small(0)(torch.zeros(1, 25, dtype=torch.long))


def test_decode_step_measures_each_model_with_its_own_cache():
    "Cada configuración, con su caché (MQA: n_heads veces menos bytes), su vocabulario y su contexto."
    configs = {"MHA": AdvancedGPTConfig(vocab_size=50, context_len=40, d_model=32, n_heads=4, n_layers=2, n_kv_heads=4),
               "MQA": AdvancedGPTConfig(vocab_size=7, context_len=24, d_model=32, n_heads=4, n_layers=2, n_kv_heads=1)}
    measured = decode_step(configs, batch_size=3, rounds=2)
    assert measured["MHA"]["cache_bytes"] == 4 * measured["MQA"]["cache_bytes"] * 40 // 24
    assert measured["MHA"]["cache_bytes"] == KVCache(configs["MHA"], batch_size=3).nbytes
    assert all(r["seconds"] > 0 for r in measured.values())
