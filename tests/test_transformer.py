"Propiedades del Transformer: igualdad con PyTorch, decodificación por lotes = frase a frase, relleno y Translator."
import warnings

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from transformer_course.attention import MultiHeadAttention, causal_mask
from transformer_course.tokenization import BPETokenizer
from transformer_course.training import save_checkpoint
from transformer_course.transformer import (DecoderLayer, EncoderLayer, FeedForward, KVCache, LayerNorm, RNNTranslator,
                                            RNNTranslatorConfig, SinusoidalPositionalEncoding, TorchTransformer, Transformer,
                                            TransformerConfig, Translator, beam_search, copy_weights_from_torch_layer,
                                            greedy_decode, make_batches, transformer_from_torch, translation_loss)


@settings(max_examples=30, deadline=None)
@given(B=st.integers(1, 3), S=st.integers(1, 8), T=st.integers(1, 6), heads=st.sampled_from([1, 2, 4]),
       norm_first=st.booleans(), seed=st.integers(0, 10_000))
def test_layers_equal_torch_with_copied_weights(B, S, T, heads, norm_first, seed):
    torch.manual_seed(seed)
    d, f = 8, 16
    kw = dict(dropout=0.0, batch_first=True, norm_first=norm_first, dtype=torch.float64)
    t_enc, t_dec = nn.TransformerEncoderLayer(d, heads, f, **kw), nn.TransformerDecoderLayer(d, heads, f, **kw)
    mha, ff = lambda: MultiHeadAttention(d, heads), lambda: FeedForward(d, f)
    enc = copy_weights_from_torch_layer(EncoderLayer(d, mha(), ff(), 0.0, norm_first).double(), t_enc)
    dec = copy_weights_from_torch_layer(DecoderLayer(d, mha(), mha(), ff(), 0.0, norm_first).double(), t_dec)
    lengths = torch.randint(1, S + 1, (B,))
    real = torch.arange(S) < lengths[:, None]                            # al menos una posición real por frase
    x, y = torch.randn(B, S, d, dtype=torch.float64), torch.randn(B, T, d, dtype=torch.float64)
    ours_mem, theirs_mem = enc(x, real[:, None, None, :]), t_enc(x, src_key_padding_mask=~real)
    torch.testing.assert_close(ours_mem[real], theirs_mem[real])
    ours = dec(y, ours_mem, causal_mask(T), real[:, None, None, :])
    theirs = t_dec(y, theirs_mem, tgt_mask=~causal_mask(T), memory_key_padding_mask=~real)
    torch.testing.assert_close(ours, theirs)
    ours.square().sum().backward(); theirs.square().sum().backward()
    torch.testing.assert_close(dec.ff.linear2.weight.grad, t_dec.linear2.weight.grad)
    torch.testing.assert_close(enc.self_attn.v_proj.weight.grad, t_enc.self_attn.in_proj_weight.grad[2 * d:])


def _layer(norm_first: bool = True) -> EncoderLayer:
    return EncoderLayer(8, MultiHeadAttention(8, 2), FeedForward(8, 16), 0.0, norm_first)


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3), C=st.integers(1, 12),
       eps=st.sampled_from([1e-5, 1e-12]), seed=st.integers(0, 10_000))
def test_layer_norm_equals_torch(shape, C, eps, seed):
    "La LayerNorm del curso (la fórmula y el módulo) = nn.LayerNorm, en valores y gradientes."
    from transformer_course.transformer import layer_norm
    torch.manual_seed(seed)
    x = torch.randn(*shape, C, dtype=torch.float64, requires_grad=True)
    ours, theirs = LayerNorm(C, eps).double(), nn.LayerNorm(C, eps=eps).double()
    with torch.no_grad(): ours.weight.normal_(), ours.bias.normal_()
    theirs.load_state_dict(ours.state_dict())
    ref = theirs(x)
    for out in (ours(x), layer_norm(x, ours.weight, ours.bias, eps)):
        torch.testing.assert_close(out, ref)
        g_ours = torch.autograd.grad(out.sin().sum(), (x, ours.weight, ours.bias))
        g_ref = torch.autograd.grad(ref.sin().sum(), (x, theirs.weight, theirs.bias), retain_graph=True)
        for a, b in zip(g_ours, g_ref): torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match="componentes"): ours(torch.zeros(2, C + 1, dtype=torch.float64))


def test_feed_forward_activations():
    x = torch.randn(2, 3, 8)
    for name, f in (("relu", F.relu), ("gelu", F.gelu), ("gelu_tanh", lambda t: F.gelu(t, approximate="tanh"))):
        ff = FeedForward(8, 16, activation=name)
        torch.testing.assert_close(ff(x), ff.linear2(f(ff.linear1(x))))
    with pytest.raises(ValueError, match="activation"): FeedForward(8, 16, activation="swish")


def test_copy_weights_rejects_other_layers():
    with pytest.raises(TypeError, match="TransformerEncoderLayer"):
        copy_weights_from_torch_layer(_layer(), nn.TransformerDecoderLayer(8, 2, 16))
    with pytest.raises(ValueError, match="norm_first"):
        copy_weights_from_torch_layer(_layer(norm_first=True), nn.TransformerEncoderLayer(8, 2, 16))
    with pytest.raises(ValueError, match="ReLU"):
        copy_weights_from_torch_layer(_layer(norm_first=False),
                                      nn.TransformerEncoderLayer(8, 2, 16, activation="gelu"))


def tiny_model(seed: int, vocab: int = 20, norm_first: bool = True) -> Transformer:
    torch.manual_seed(seed)
    model = Transformer(TransformerConfig(vocab, vocab, d_model=16, n_heads=2, d_ff=32, n_layers=2, dropout=0.0,
                                          context_len=40, norm_first=norm_first)).double().eval()
    with torch.no_grad():                                                # que <eos> (3) salga a menudo: frases cortas
        model.tgt_embed.weight[3] *= 3
    return model


def padded_batch(seed: int, B: int, vocab: int = 20):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, 7, (B,), generator=g)
    src = torch.zeros(B, int(lengths.max()), dtype=torch.long)
    for i, n in enumerate(lengths.tolist()): src[i, :n] = torch.randint(7, vocab, (n,), generator=g)
    return src, lengths


def strip(row: list[int], eos: int = 3) -> list[int]:
    return row[:row.index(eos) + 1] if eos in row else [t for t in row if t != 0]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), B=st.integers(1, 5), beam=st.sampled_from([1, 2, 3]))
def test_batched_decoding_equals_sentence_by_sentence(seed, B, beam):
    assert_batched_equals_alone(tiny_model(seed), *padded_batch(seed, B), beam)


def assert_batched_equals_alone(model, src, lengths, beam: int) -> None:
    "Voraz y en haz: cada frase del lote rellenado se traduce igual que sola."
    for decode in (lambda s, n: greedy_decode(model, s, 2, 3, max_len=n),
                   lambda s, n: beam_search(model, s, 2, 3, beam=beam, max_len=n)):
        batched = decode(src, 12).tolist()
        for i, n in enumerate(lengths.tolist()):
            alone = decode(src[i:i + 1, :n], 12)[0].tolist()
            assert strip(batched[i]) == strip(alone)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), B=st.integers(1, 5), beam=st.sampled_from([1, 2, 4]), norm_first=st.booleans())
def test_kv_cache_decodes_the_same_tokens_as_the_whole_prefix(seed, B, beam, norm_first):
    "Con la caché KV (filas que salen del lote, hijos que cambian de padre) y sin ella: los mismos tokens."
    model = tiny_model(seed, norm_first=norm_first)
    src, _ = padded_batch(seed, B)
    assert torch.equal(greedy_decode(model, src, 2, 3, max_len=12), greedy_decode(model, src, 2, 3, max_len=12, use_cache=False))
    assert torch.equal(beam_search(model, src, 2, 3, beam=beam, max_len=12),
                       beam_search(model, src, 2, 3, beam=beam, max_len=12, use_cache=False))


def test_kv_cache_errors():
    model = tiny_model(0)
    memory, mask = model.encode(torch.tensor([[7, 8, 9]]))
    cache = KVCache(model.config, batch_size=2, dtype=torch.float64, max_len=3)
    with pytest.raises(ValueError, match="2 secuencias y llegan 1"): model.decode(torch.tensor([[2]]), memory, mask, cache=cache)
    cache = KVCache(model.config, batch_size=1, dtype=torch.float64, max_len=3)
    with pytest.raises(ValueError, match="admite 3 posiciones"): model.decode(torch.tensor([[2, 4, 5, 6]]), memory, mask, cache=cache)
    with pytest.raises(ValueError, match="float32"):
        model.decode(torch.tensor([[2]]), memory, mask, cache=KVCache(model.config))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), B=st.integers(1, 4))
def test_beam_of_one_is_greedy(seed, B):
    model = tiny_model(seed)
    src, _ = padded_batch(seed, B)
    greedy, beam = greedy_decode(model, src, 2, 3, max_len=10), beam_search(model, src, 2, 3, beam=1, max_len=10)
    assert [strip(r) for r in greedy.tolist()] == [strip(r) for r in beam.tolist()]


def test_beam_finds_a_sequence_at_least_as_likely_as_greedy():
    "Sin penalización de longitud (alpha = 0), el haz nunca acaba con una frase menos probable que la voraz."
    model = tiny_model(7)
    src, _ = padded_batch(7, 6)

    def logprob(row):
        row = strip(row)
        tgt = torch.tensor([[2, *row]])
        with torch.no_grad():
            logp = model(src[i:i + 1], tgt[:, :-1]).log_softmax(-1)
        return logp[0].gather(-1, tgt[0, 1:, None]).sum().item()

    greedy, beam = greedy_decode(model, src, 2, 3, max_len=8).tolist(), beam_search(model, src, 2, 3, 4, 0.0, 8).tolist()
    for i in range(len(src)):
        if 3 in greedy[i] and 3 in beam[i]:
            assert logprob(beam[i]) >= logprob(greedy[i]) - 1e-9


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), extra=st.integers(1, 5), smoothing=st.sampled_from([0.0, 0.1]))
def test_loss_ignores_padding(seed, extra, smoothing):
    model = tiny_model(seed).float()
    src, _ = padded_batch(seed, 3)
    tgt = torch.tensor([[2, 9, 10, 3, 0], [2, 11, 3, 0, 0], [2, 12, 13, 14, 3]])
    loss = translation_loss(model, (src, tgt), smoothing)
    longer = translation_loss(model, (F.pad(src, (0, extra)), F.pad(tgt, (0, extra))), smoothing)
    torch.testing.assert_close(loss, longer)


@settings(max_examples=20, deadline=None)
@given(lengths=st.lists(st.tuples(st.integers(1, 12), st.integers(1, 12)), min_size=1, max_size=60),
       max_tokens=st.integers(14, 80), seed=st.integers(0, 100))
def test_make_batches_keeps_every_pair_once_within_budget(lengths, max_tokens, seed):
    pairs = [([7 + i % 5] * s, [8 + i % 3] * t) for i, (s, t) in enumerate(lengths)]
    batches = make_batches(pairs, max_tokens, pad_id=0, bos_id=2, eos_id=3, seed=seed)
    seen = sorted((tuple(x for x in s.tolist() if x), tuple(x for x in t.tolist() if x))
                  for src, tgt in batches for s, t in zip(src, tgt))
    assert seen == sorted((tuple(s), (2, *t, 3)) for s, t in pairs)
    for src, tgt in batches:
        assert len(src) == 1 or max(src.shape[1], tgt.shape[1]) * len(src) <= max_tokens
        assert (tgt[:, 0] == 2).all()


def test_positional_encoding_rejects_long_sequences():
    with pytest.raises(ValueError, match="context_len"):
        SinusoidalPositionalEncoding(8, 4)(torch.zeros(1, 5, 8))
    with pytest.raises(ValueError, match="par"):
        SinusoidalPositionalEncoding(7)


def test_config_errors():
    with pytest.raises(ValueError, match="positional"):
        TransformerConfig(10, 10, positional="rotary")
    with pytest.raises(ValueError, match="share_embeddings"):
        TransformerConfig(10, 12)


PAIRS = [("Hola.", "Hello."), ("Adiós.", "Goodbye."), ("Tengo un gato.", "I have a cat."),
         ("Tom tiene un perro.", "Tom has a dog."), ("Me gusta leer.", "I like reading.")] * 4


@pytest.fixture(scope="module")
def translator():
    return Translator.fit(PAIRS, steps=3, vocab_size=300, max_tokens=64, d_model=16, n_heads=2, d_ff=32,
                          n_layers=1, context_len=32, progress=False)


def test_translator_round_trip(translator, tmp_path):
    path = tmp_path / "t.safetensors"
    translator.save(path)
    again = Translator.load(path)
    texts = ["Hola.", "Tengo un perro."]
    assert again.translate(texts, beam=2) == translator.translate(texts, beam=2)
    assert translator.translate([]) == []
    assert all(isinstance(t, str) for t in translator.translate(texts, beam=1))


def test_translator_errors(translator, tmp_path):
    with pytest.raises(ValueError, match="vacía"):
        translator.translate(["Hola.", "  "])
    with pytest.raises(TypeError, match="lista"):
        translator.translate("Hola.")
    with pytest.warns(UserWarning, match="primeros 32"):
        translator.translate(["hola " * 40])
    with pytest.raises(ValueError, match="pares"):
        Translator.fit([], steps=1)
    with pytest.raises(ValueError, match=r"pairs\[1\]"):
        Translator.fit([("a", "b"), ("solo uno",)], steps=1)
    other = BPETokenizer.train(["abc"], vocab_size=270)
    with pytest.raises(ValueError, match="tokenizador"):
        Translator(other, translator.model)
    path = tmp_path / "otro.safetensors"
    save_checkpoint(translator.model, path)                              # pesos sin tokenizador
    with pytest.raises(ValueError, match="no es un traductor"):
        Translator.load(path)
    before = path.read_bytes()
    path.write_bytes(before[:100])                                       # truncado
    with pytest.raises(ValueError, match="safetensors"):
        Translator.load(path)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_whole_model_equals_torch_transformer(seed):
    torch.manual_seed(seed)
    config = TransformerConfig(30, 30, d_model=16, n_heads=2, d_ff=32, n_layers=2, dropout=0.0)
    theirs = TorchTransformer(config).double().eval()
    ours = transformer_from_torch(theirs).double().eval()
    src, _ = padded_batch(seed, 3, vocab=30)
    tgt = torch.randint(7, 30, (3, 5))
    torch.testing.assert_close(ours(src, tgt), theirs(src, tgt))


def test_post_ln_torch_transformer_is_refused():
    with pytest.raises(ValueError, match="post-LN"):
        transformer_from_torch(TorchTransformer(TransformerConfig(30, 30, d_model=16, n_heads=2, norm_first=False)))


def tiny_rnn(seed: int, vocab: int = 20, n_layers: int = 1) -> RNNTranslator:
    torch.manual_seed(seed)
    model = RNNTranslator(RNNTranslatorConfig(vocab, vocab, d_model=16, hidden_size=16, n_layers=n_layers, dropout=0.0,
                                              context_len=40)).double().eval()
    with torch.no_grad():                                                # que <eos> (3) salga a menudo: frases cortas
        model.tgt_embed.weight[3] *= 3
    return model



@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), B=st.integers(1, 5), beam=st.sampled_from([1, 2, 3]), n_layers=st.integers(1, 2))
def test_rnn_batched_decoding_equals_sentence_by_sentence(seed, B, beam, n_layers):
    "Con la caché (el estado (h, c) en cache.cross) y sin ella, por lotes y frase a frase: los mismos tokens."
    model = tiny_rnn(seed, n_layers=n_layers)
    src, lengths = padded_batch(seed, B)
    assert_batched_equals_alone(model, src, lengths, beam)
    assert torch.equal(greedy_decode(model, src, 2, 3, max_len=12),
                       greedy_decode(model, src, 2, 3, max_len=12, use_cache=False))
    assert torch.equal(beam_search(model, src, 2, 3, beam=beam, max_len=12),
                       beam_search(model, src, 2, 3, beam=beam, max_len=12, use_cache=False))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), B=st.integers(1, 4), extra=st.integers(1, 4), n_layers=st.integers(1, 2))
def test_rnn_padding_invariance(seed, B, extra, n_layers):
    "Una frase sola = la misma frase en un lote rellenado; más relleno a la derecha no cambia la pérdida."
    model = tiny_rnn(seed, n_layers=n_layers)
    src, lengths = padded_batch(seed, B)
    words = torch.randint(7, 20, (B, 5), generator=torch.Generator().manual_seed(seed))
    tgt = torch.cat([torch.full((B, 1), 2), words], 1)
    logits = model(src, tgt)
    for i, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(logits[i:i + 1], model(src[i:i + 1, :n], tgt[i:i + 1]))
    wider = model(F.pad(src, (0, extra)), F.pad(tgt, (0, extra)))
    torch.testing.assert_close(wider[:, :tgt.shape[1]], logits)
    batch = (src, F.pad(tgt, (0, 1), value=3))
    longer = (F.pad(src, (0, extra)), F.pad(batch[1], (0, extra)))
    for smoothing in (0.0, 0.1):
        torch.testing.assert_close(translation_loss(model, batch, smoothing), translation_loss(model, longer, smoothing))


def test_rnn_errors_and_translator():
    with pytest.raises(ValueError, match="par"): RNNTranslatorConfig(20, 20, hidden_size=15)
    with pytest.raises(ValueError, match="vocabularios"): RNNTranslatorConfig(20, 21)
    model = tiny_rnn(0)
    with pytest.raises(ValueError, match=r"\[1\] son solo <pad>"): model.encode(torch.tensor([[7, 8], [0, 0]]))
    assert model.tgt_embed is model.src_embed                           # una tabla, también la de salida
    tok = BPETokenizer.train(["Hola.", "Tengo un perro.", "Hello.", "I have a dog."], 280)
    V = tok.vocab_size
    translator = Translator(tok, RNNTranslator(RNNTranslatorConfig(V, V, d_model=16, hidden_size=16, context_len=16)))
    for beam in (1, 2):                                                 # translate, con el código del Transformer
        out = translator.translate(["Hola.", "Tengo un perro."], beam=beam)
        assert len(out) == 2 and all(isinstance(t, str) for t in out)


def test_rnn_trains_with_the_chapter_loss():
    "translation_loss y un par de pasos de Adam: la pérdida de un lote fijo baja."
    model = tiny_rnn(1).float().train()
    src, _ = padded_batch(1, 4)
    tgt = torch.tensor([[2, 9, 10, 3, 0], [2, 11, 3, 0, 0], [2, 12, 13, 14, 3], [2, 15, 3, 0, 0]])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(20):
        loss = translation_loss(model, (src, tgt), 0.0)
        loss.backward(); optimizer.step(); optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 2
