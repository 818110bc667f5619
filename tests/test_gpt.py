"Propiedades de GPT: causalidad, igualdad con transformers, la caché KV, los bits por carácter, la generación y los errores."
import math
import warnings
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from transformer_course.gpt import (GPT, GPTConfig, KVCache, from_hf, generate, kv_cache_bytes, n_params_formula,
                                    sequence_bits, to_hf, train_flops_per_token)
from transformer_course.training import load_checkpoint, save_checkpoint


def small(seed: int = 0, **options) -> GPT:
    torch.manual_seed(seed)
    config = dict(vocab_size=50, context_len=16, d_model=16, n_heads=4, n_layers=2) | options
    return GPT(GPTConfig(**config)).double().eval()


@settings(max_examples=25, deadline=None)
@given(B=st.integers(1, 3), T=st.integers(2, 16), seed=st.integers(0, 10_000), data=st.data())
def test_causal(B, T, seed, data):
    "Cambiar un token futuro nunca cambia los logits de las posiciones anteriores."
    model = small(seed)
    ids = torch.randint(0, 50, (B, T), generator=torch.Generator().manual_seed(seed))
    t = data.draw(st.integers(1, T - 1))
    changed = ids.clone()
    changed[:, t:] = (changed[:, t:] + data.draw(st.integers(1, 49))) % 50
    with torch.no_grad(): a, b = model(ids), model(changed)
    assert torch.equal(a[:, :t], b[:, :t])
    assert not torch.allclose(a[:, t], b[:, t])


@settings(max_examples=15, deadline=None)
@given(B=st.integers(1, 3), T=st.integers(1, 16), heads=st.sampled_from([1, 2, 4]),
       act=st.sampled_from(["gelu", "gelu_tanh"]), bias=st.booleans(), seed=st.integers(0, 10_000))
def test_logits_equal_transformers(B, T, heads, act, bias, seed):
    "Ida y vuelta por GPT2LMHeadModel; sin sesgos, los de GPT-2 quedan a 0 y vuelven con bias=True."
    ours = small(seed, n_heads=heads, activation=act, d_ff=24, bias=bias)
    hf = to_hf(ours).double()
    ids = torch.randint(0, 50, (B, T))
    with torch.no_grad(): torch.testing.assert_close(ours(ids), hf(ids).logits)
    back, weights = from_hf(hf), ours.state_dict()
    assert back.config == replace(ours.config, bias=True)
    assert all(torch.equal(v, weights[k].float()) if k in weights else not v.any() for k, v in back.state_dict().items())
    assert bias or not any(k.endswith("bias") for k in weights)


@settings(max_examples=20, deadline=None)
@given(prefix=st.integers(1, 15), bias=st.booleans(), seed=st.integers(0, 10_000), data=st.data())
def test_cache_equals_full_pass(prefix, bias, seed, data):
    "Con la caché, un prefijo y luego trozos de cualquier tamaño dan los logits de la pasada entera (con y sin sesgos)."
    model = small(seed, bias=bias)
    ids = torch.randint(0, 50, (2, 16))
    with torch.no_grad():
        full, cache, parts, t = model(ids), KVCache(model.config, 2, dtype=torch.float64), [], 0
        for size in [prefix] + [data.draw(st.integers(1, 4)) for _ in range(16)]:
            if t >= 16: break
            parts.append(model(ids[:, t:t + size], cache)); t += parts[-1].shape[1]
    torch.testing.assert_close(torch.cat(parts, 1), full)
    assert cache.length == 16


@settings(max_examples=10, deadline=None)
@given(prompt_len=st.integers(1, 40), new=st.integers(0, 40), bias=st.booleans(), seed=st.integers(0, 10_000))
def test_generate_cache_greedy_identical(prompt_len, new, bias, seed):
    "Voraz, con y sin caché dan los mismos tokens mientras todo quepa en el contexto."
    model = small(seed, bias=bias)
    prompt = torch.randint(0, 50, (prompt_len,)).tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = generate(model, prompt, new, temperature=0)
        b = generate(model, prompt, new, temperature=0, use_cache=False)
    assert len(a) == new and all(0 <= i < 50 for i in a)
    if min(prompt_len, 16) + new <= 16: assert a == b


def test_generate_seeded_and_restores_mode():
    model = small().train()
    a = generate(model, [1, 2, 3], 30, top_p=0.9, seed=4)
    assert a == generate(model, [1, 2, 3], 30, top_p=0.9, seed=4) and model.training
    assert a != generate(model, [1, 2, 3], 30, top_p=0.9, seed=5)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 70), seed=st.integers(0, 10_000))
def test_sequence_bits_counts_every_token_once(n, seed):
    "Los bits de las ventanas que avanzan media ventana: cada token una vez, con ≥ T/2 de contexto; igual a mano si cabe."
    model = small(seed)
    ids = torch.randint(0, 50, (n,))
    bits = sequence_bits(model, ids, bos_id=0)
    assert math.isclose(bits, sequence_bits(model, ids, bos_id=0, batch_size=2), rel_tol=1e-5)
    if n <= 16:
        x = torch.cat([torch.tensor([0]), ids[:-1]])[None]
        with torch.no_grad(): by_hand = F.cross_entropy(model(x)[0], ids, reduction="sum").item() / math.log(2)
        assert math.isclose(bits, by_hand, rel_tol=1e-5)
    else:  # a mano: cada token con su contexto desde el inicio de la ventana que lo puntúa
        x = torch.cat([torch.tensor([0]), ids])
        starts = list(range(0, n - 16 + 1, 8))
        if starts[-1] != n - 16: starts.append(n - 16)
        total, done = 0.0, 0
        with torch.no_grad():
            for s in starts:
                logp = model(x[None, s:s + 16])[0].log_softmax(-1)
                for j in range(done - s, 16):
                    total -= logp[j, x[s + j + 1]].item()
                done = s + 16
        assert math.isclose(bits, total / math.log(2), rel_tol=1e-5)


@settings(max_examples=20, deadline=None)
@given(V=st.integers(2, 300), T=st.integers(1, 64), H=st.sampled_from([1, 2, 4]), d_head=st.integers(1, 8),
       L=st.integers(1, 3), ff=st.one_of(st.none(), st.integers(1, 40)), bias=st.booleans())
def test_parameter_count_formula(V, T, H, d_head, L, ff, bias):
    config = GPTConfig(V, T, H * d_head, H, L, d_ff=ff, bias=bias)
    model = GPT(config)
    assert sum(p.numel() for p in model.parameters()) == n_params_formula(config)
    assert train_flops_per_token(config) == 6 * (n_params_formula(config) - T * H * d_head) + 12 * L * T * H * d_head
    assert KVCache(config, 3).nbytes == kv_cache_bytes(L, T, H * d_head, 4, batch_size=3)


def test_gpt2_small_count():
    assert n_params_formula(GPTConfig(50257, 1024, 768, 12, 12)) == 124_439_808


def test_errors_are_clear():
    model = small()
    with pytest.raises(ValueError, match="vacío"): generate(model, [], 3)
    with pytest.raises(ValueError, match="temperatura"): generate(model, [1], 3, temperature=-0.5)
    with pytest.raises(ValueError, match="top_p"): generate(model, [1], 3, top_p=1.5)
    with pytest.raises(ValueError, match="top_k"): generate(model, [1], 3, top_k=0)
    with pytest.raises(ValueError, match="max_new_tokens"): generate(model, [1], -1)
    with pytest.warns(UserWarning, match="últimos 16"): assert len(generate(model, list(range(20)), 2)) == 2
    with pytest.raises(ValueError, match="context_len"): model(torch.zeros(1, 17, dtype=torch.long))
    with pytest.raises(ValueError, match="vocabulario"): model(torch.tensor([[50]]))
    with pytest.raises(ValueError, match="vacío"): model(torch.zeros(1, 0, dtype=torch.long))
    with pytest.raises(ValueError, match="dtype"): model(torch.zeros(1, 2, dtype=torch.long), KVCache(model.config))
    cache = KVCache(model.config, dtype=torch.float64)
    model(torch.zeros(1, 10, dtype=torch.long), cache)
    with pytest.raises(ValueError, match="context_len"): model(torch.zeros(1, 7, dtype=torch.long), cache)
    with pytest.raises(ValueError, match="múltiplo"): GPTConfig(10, d_model=10, n_heads=4)
    with pytest.raises(ValueError, match="activation"): GPTConfig(10, activation="relu")
    with pytest.raises(ValueError, match="1-D"): sequence_bits(model, torch.tensor([]), 0)


def test_from_hf_rejects_other_models():
    from transformers import BertConfig, BertForMaskedLM
    with pytest.raises(ValueError, match="GPT2LMHeadModel"):
        from_hf(BertForMaskedLM(BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                                           intermediate_size=16)))
    hf = to_hf(small())
    hf.config.activation_function = "relu"
    with pytest.raises(ValueError, match="activación"): from_hf(hf)


@pytest.mark.parametrize("bias", [True, False])
def test_checkpoint_round_trip_and_shape_error(tmp_path, bias):
    model = small(bias=bias).float()
    save_checkpoint(model, tmp_path / "gpt.safetensors")
    other = GPT(model.config)
    load_checkpoint(tmp_path / "gpt.safetensors", other)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), other.state_dict().values()))
    with pytest.raises(ValueError, match="config"):
        load_checkpoint(tmp_path / "gpt.safetensors", GPT(GPTConfig(50, 16, 8, 4, 2)))
    with pytest.raises(ValueError, match="config"):                      # con y sin sesgos no son el mismo modelo
        load_checkpoint(tmp_path / "gpt.safetensors", GPT(replace(model.config, bias=not bias)))
