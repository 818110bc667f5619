"Propiedades del bloque de LLaMA (capítulo 9): RMSNorm, logits iguales a LlamaForCausalLM y generación con caché."
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM
from transformers.models.llama.modeling_llama import LlamaRMSNorm

from transformer_course.advances import (AdvancedGPT, AdvancedGPTConfig, RMSNorm, from_hf_llama, llama_config,
                                         to_hf_llama)
from transformer_course.gpt import KVCache, generate


def shake(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    "Normas lejos de 1 (que se note si se cruzan) y q y k más grandes (que RoPE pese en los logits)."
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 1: p.copy_(1 + 0.3 * torch.randn(p.shape, generator=g))
            else: p.mul_(8 if any(n in name for n in ("q_proj", "k_proj", "kv_proj")) else 3)
    return model


def tiny_llama(seed: int, heads: int, groups: int, layers: int, d_head: int, dtype=torch.float32):
    torch.manual_seed(seed)
    config = llama_config(vocab_size=40, context_len=24, d_model=heads * d_head, n_heads=heads,
                          n_kv_heads=groups, n_layers=layers, d_ff=3 * heads * d_head, rope_base=100.0)
    return shake(AdvancedGPT(config), seed).to(dtype).eval()


shapes = st.sampled_from([1, 2, 4, 8]).flatmap(lambda h: st.tuples(
    st.just(h), st.sampled_from([g for g in (1, 2, 4, 8) if h % g == 0]), st.integers(1, 3),
    st.sampled_from([2, 4, 8, 16])))


@settings(max_examples=20, deadline=None)
@given(shape=st.tuples(st.integers(1, 3), st.integers(1, 9), st.integers(1, 40)),
       eps=st.sampled_from([1e-6, 1e-5]), dtype=st.sampled_from([torch.float32, torch.bfloat16]),
       seed=st.integers(0, 10_000))
def test_rms_norm_equals_llama_rms_norm(shape, eps, dtype, seed):
    "En float32 y bfloat16, la misma salida y los mismos gradientes que LlamaRMSNorm, bit a bit."
    g = torch.Generator().manual_seed(seed)
    ours, theirs = RMSNorm(shape[-1], eps), LlamaRMSNorm(shape[-1], eps)
    with torch.no_grad(): ours.weight.normal_(1, 0.3, generator=g), theirs.weight.copy_(ours.weight)
    ours, theirs = ours.to(dtype), theirs.to(dtype)
    x = (3 * torch.randn(shape, generator=g)).to(dtype)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    upstream = torch.randn(shape, generator=g).to(dtype)
    (ours(xa) * upstream).sum().backward(), (theirs(xb) * upstream).sum().backward()
    assert torch.equal(ours(x), theirs(x)) and ours(x).dtype == dtype
    assert torch.equal(xa.grad, xb.grad) and torch.equal(ours.weight.grad, theirs.weight.grad)


def test_rms_norm_keeps_float64():
    "En float64 no pasa por float32 (LlamaRMSNorm sí): la fórmula exacta, y el error si C no encaja."
    x = torch.randn(3, 5, 16, dtype=torch.float64)
    exact = x / (x.pow(2).mean(-1, keepdim=True) + 1e-6).sqrt()
    assert (RMSNorm(16).double()(x) - exact).abs().max() < 1e-14
    with pytest.raises(ValueError, match="16 componentes"): RMSNorm(16)(torch.randn(2, 8))


@settings(max_examples=15, deadline=None)
@given(shape=shapes, T=st.integers(1, 24), seed=st.integers(0, 10_000))
def test_llama_logits_equal_transformers(shape, T, seed):
    "to_hf_llama y from_hf_llama dan los logits de LlamaForCausalLM, y la ida y vuelta, los mismos pesos."
    ours = tiny_llama(seed, *shape)
    hf = to_hf_llama(ours)
    ids = torch.randint(0, 40, (2, T), generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        logits = ours(ids)
        assert (logits - hf(ids).logits).abs().max() < 1e-4 * (1 + logits.abs().max())
    back = from_hf_llama(hf)
    assert all(torch.equal(v, back.state_dict()[k]) for k, v in ours.state_dict().items())
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in hf.parameters())


@settings(max_examples=8, deadline=None)
@given(shape=shapes, seed=st.integers(0, 10_000))
def test_from_random_transformers_llama(shape, seed):
    "Un LlamaForCausalLM hecho por transformers (no por to_hf_llama) da nuestros mismos logits."
    heads, groups, layers, d_head = shape
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=40, hidden_size=heads * d_head, intermediate_size=5 * d_head,
                         num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=groups,
                         max_position_embeddings=24, tie_word_embeddings=True, rms_norm_eps=1e-5,
                         rope_parameters={"rope_type": "default", "rope_theta": 321.0})
    hf = shake(LlamaForCausalLM(config), seed).eval()
    ids = torch.randint(0, 40, (2, 24), generator=torch.Generator().manual_seed(seed))
    with torch.no_grad(): theirs = hf(ids).logits
    assert (from_hf_llama(hf)(ids) - theirs).abs().max() < 1e-4 * (1 + theirs.abs().max())


@settings(max_examples=10, deadline=None)
@given(shape=shapes, prompt_len=st.integers(1, 10), new=st.integers(1, 14), seed=st.integers(0, 10_000),
       data=st.data())
def test_llama_cached_generation_equals_uncached(shape, prompt_len, new, seed, data):
    "Con la única KVCache, los tokens voraces de siempre, los de transformers, y los logits por trozos."
    model = tiny_llama(seed, *shape, dtype=torch.float64)
    prompt = torch.randint(0, 40, (prompt_len,), generator=torch.Generator().manual_seed(seed)).tolist()
    cached = generate(model, prompt, new, temperature=0)
    assert cached == generate(model, prompt, new, temperature=0, use_cache=False)
    x = torch.tensor([prompt])
    hf = to_hf_llama(model).generate(x, attention_mask=torch.ones_like(x), do_sample=False,
                                     max_new_tokens=new, pad_token_id=0)
    assert cached == hf[0, prompt_len:].tolist()
    ids = torch.randint(0, 40, (2, 24), generator=torch.Generator().manual_seed(seed))
    cuts = sorted(data.draw(st.sets(st.integers(1, 23), max_size=5)))
    cache = KVCache(model.config, batch_size=2, dtype=torch.float64)
    with torch.no_grad():
        pieces = torch.cat([model(ids[:, a:b], cache) for a, b in zip([0] + cuts, cuts + [24])], 1)
        assert (pieces - model(ids)).abs().max() < 1e-9


def test_llama_errors_are_clear():
    base = dict(vocab_size=40, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                num_attention_heads=2, max_position_embeddings=8, tie_word_embeddings=True)
    llama3 = {"rope_type": "llama3", "rope_theta": 5e5, "factor": 8.0, "low_freq_factor": 1.0,
              "high_freq_factor": 4.0, "original_max_position_embeddings": 8}
    for options, match in ((dict(tie_word_embeddings=False), "sin atar"), (dict(mlp_bias=True), "sesgos"),
                           (dict(attention_bias=True), "sesgos"), (dict(rope_parameters=llama3), "llama3")):
        hf = LlamaForCausalLM(LlamaConfig(**(base | options)))
        with pytest.raises(ValueError, match=match): from_hf_llama(hf)
    with pytest.raises(ValueError, match="'gpt2'"):
        from_hf_llama(GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=40)))
    with pytest.raises(ValueError, match="llama_config"):
        to_hf_llama(AdvancedGPT(AdvancedGPTConfig(vocab_size=40, positional="rope")))
    with pytest.raises(ValueError, match="norm"): AdvancedGPTConfig(vocab_size=5, norm="batch")
    with pytest.raises(ValueError, match="activation"): AdvancedGPTConfig(vocab_size=5, activation="relu")
