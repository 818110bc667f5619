"""Benchmark del capítulo 7 (BERT): velocidad de preentrenamiento frente a `BertForMaskedLM` de transformers.

Uso: TRANSFORMER_COURSE_DATA=../shared/data python bench/bert.py [--steps 40] [--shape chapter|base-mini]

Los dos modelos parten de los mismos pesos (`to_hf`) y entrenan con los mismos lotes de MLM (15 / 80-10-10,
sin NSP, que `BertForMaskedLM` no tiene), con AdamW. Se miden tokens por segundo (relleno incluido) en pasos
hacia delante y hacia atrás:

- «nuestro, cabeza dispersa»: la pérdida de `pretraining_loss` sin la NSP, con la cabeza del MLM calculada solo en
  las posiciones elegidas (lo que usa el capítulo);
- «nuestro, cabeza completa»: los logits de todas las posiciones, como hace transformers;
- «transformers»: `BertForMaskedLM` con `labels` (atención SDPA, la que trae por defecto).

Objetivo: cociente nuestro (cabeza dispersa) / transformers ≥ 1,0. Sale con código 1 si no se cumple.

Después (si `--pretrain-steps` > 0), la receta del capítulo con más preentrenamiento: el mismo BERT (2 capas,
d_model 128, contexto 64, 64 pares por lote, lr 2e-3) `--pretrain-steps` pasos en vez de 700, medido en la prueba
(MLM y NSP) y afinado con el presupuesto del capítulo (tildes: 400 pasos; autoría: 150 pasos, 3 semillas),
frente al mismo afinado sin preentrenar; las tildes, también con `--finetune-steps` pasos de afinado.
Todo se guarda (nunca pesos) en nbs/bench_bert.json.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import torch

from transformer_course.bert import (IGNORE, BertAccentRestorer, BertConfig, BertForPreTraining,
                                     BertForSequenceClassification, BertForTokenClassification, BertModel, accent_table,
                                     balanced_sentences, finetune, mask_tokens, mlm_loss, pad_rows, pretraining_batch,
                                     pretraining_loss, pretraining_metrics, to_hf)
from transformer_course.core import atomic_write, set_seed
from transformer_course.data import load_splits
from transformer_course.ngram import AccentRestorer, split_sentences, word_sentences
from transformer_course.tokenization import BPETokenizer
from transformer_course.training import train

OUT = Path(__file__).parents[1] / "nbs" / "bench_bert.json"
SHAPES = {"chapter": dict(d_model=128, n_heads=4, d_ff=512, n_layers=2, context_len=64),
          "base-mini": dict(d_model=256, n_heads=4, d_ff=1024, n_layers=4, context_len=128)}


def batches(n: int, batch_size: int, config: BertConfig, seed: int = 0):
    "Lotes de MLM de texto del Quijote: trozos de `context_len` tokens con <cls> y <sep>, enmascarados."
    q = load_splits("quijote")
    tok = BPETokenizer.train(q.train, config.vocab_size)
    ids = [i for s in split_sentences(q.train) for i in tok.encode(s)]
    g, L, out = torch.Generator().manual_seed(seed), config.context_len - 2, []
    for _ in range(n):
        starts = torch.randint(len(ids) - L, (batch_size,), generator=g).tolist()
        rows = pad_rows([[tok.cls_id] + ids[s:s + L] + [tok.sep_id] for s in starts])
        out.append(mask_tokens(rows, config.vocab_size, generator=g))
    return out


def speed(step, data, warmup: int = 3) -> float:
    for x, y in data[:warmup]: step(x, y)
    start = time.perf_counter()
    for x, y in data[warmup:]: step(x, y)
    return sum(x.numel() for x, _ in data[warmup:]) / (time.perf_counter() - start)


def longer_pretraining(steps: int, finetune_steps: int) -> dict:
    "La receta del capítulo con `steps` pasos de preentrenamiento, y los dos afinados con y sin él (las tildes, también más largo)."
    quijote, niebla = load_splits("quijote"), load_splits("niebla")
    tok = BPETokenizer.train([quijote.train, niebla.train], 4000)
    config = BertConfig(tok.vocab_size, d_model=128, n_heads=4, d_ff=512, n_layers=2, dropout=0.0, context_len=64)
    docs = [[tok.encode(s) for s in split_sentences(t)] for t in (quijote.train, niebla.train)]
    test_docs = [[tok.encode(s) for s in split_sentences(t)] for t in (quijote.test, niebla.test)]
    test_batches = [pretraining_batch(test_docs, 64, config, torch.Generator().manual_seed(100 + i)) for i in range(8)]
    set_seed(0)
    model = BertForPreTraining(config)
    chunk = max(1, steps // 10)
    history = train(model, lambda g: pretraining_batch(docs, 64, config, g), steps, lr=2e-3, warmup=steps // 10,
                    weight_decay=0.01, loss_fn=pretraining_loss, eval_every=chunk,
                    eval_fn=lambda m: pretraining_metrics(m, test_batches)["mlm_nats"], desc="preentrenando")
    curve = [{"step": s, "seconds": t, "test_mlm_nats": v}
             for s, t, v in zip(history.val_steps, history.val_seconds, history.val_loss)]
    out = {"pretrain_steps": steps, "pretrain_seconds": history.seconds, "curve": curve,
           "test": pretraining_metrics(model, test_batches)}
    print(f"preentrenado {steps} pasos en {history.seconds / 60:.1f} min: {out['test']}", flush=True)

    def fresh(pretrained):
        set_seed(1)
        bert = BertModel(config)
        if pretrained: bert.load_state_dict(model.bert.state_dict())
        return bert

    restorer = AccentRestorer(3).fit(word_sentences(quijote.train))
    n_forms = max(map(len, restorer.forms.values()))
    examples = BertAccentRestorer(tok, restorer.forms, BertForTokenClassification(fresh(False), n_forms)).examples(
        split_sentences(quijote.train))
    examples = [e for e in examples if any(l != IGNORE for l in e[1])]
    accent = {}
    for name, pretrained in (("preentrenado", True), ("sin preentrenar", False)):
        for steps_ in (400, finetune_steps):
            key = f"{name}, {steps_} pasos"
            accent[key] = BertAccentRestorer(tok, restorer.forms, BertForTokenClassification(fresh(pretrained), n_forms))
            finetune(accent[key].model, examples, steps_, desc=f"tildes, {key}")
    rows = accent_table(split_sentences(quijote.test), restorer, accent)
    names = ["trigrama", "forma más frecuente", *accent]
    out["accent"] = {name: sum(r[0] == r[k] for r in rows) / len(rows) for k, name in enumerate(names, start=1)}
    out["accent_words"] = len(rows)
    print("tildes:", out["accent"], flush=True)

    train_pairs = balanced_sentences([quijote.train, niebla.train], seed=0)
    test_pairs = balanced_sentences([quijote.test, niebla.test], seed=1)
    encode = lambda pairs: [([tok.cls_id] + tok.encode(s)[:62] + [tok.sep_id], a) for s, a in pairs]
    author_train, author_test = encode(train_pairs), encode(test_pairs)
    out["authorship"] = {}
    for name, pretrained in (("preentrenado", True), ("sin preentrenar", False)):
        runs = []
        for seed in (0, 1, 2):
            bert = fresh(pretrained)
            set_seed(seed)
            head = BertForSequenceClassification(bert, 2)
            finetune(head, author_train, 150, seed=seed, desc=f"autoría, {name}, semilla {seed}")
            head.eval()
            with torch.no_grad():
                pred = torch.cat([head(pad_rows([e[0] for e in author_test[i:i + 64]])).argmax(-1)
                                  for i in range(0, len(author_test), 64)])
            runs.append((pred == torch.tensor([a for _, a in author_test])).float().mean().item())
        out["authorship"][name] = runs
    print("autoría:", out["authorship"], flush=True)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--shape", choices=SHAPES, default="chapter")
    parser.add_argument("--pretrain-steps", type=int, default=8000, help="0: solo la velocidad")
    parser.add_argument("--finetune-steps", type=int, default=3000, help="afinado largo de las tildes")
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    config = BertConfig(4000, dropout=0.0, **SHAPES[args.shape])
    data = batches(args.steps + 3, args.batch_size, config)
    set_seed(0)
    ours = BertForPreTraining(config).train()
    hf = to_hf(ours).train()
    results = {}

    def ours_step(sparse: bool):
        opt = torch.optim.AdamW(ours.parameters(), lr=1e-4)
        def step(x, y):
            hidden = ours.bert(x)
            chosen = y != IGNORE
            loss = mlm_loss(ours.mlm_logits(hidden[chosen]), y[chosen]) if sparse else mlm_loss(ours.mlm_logits(hidden), y)
            loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
        return step

    opt_hf = torch.optim.AdamW(hf.parameters(), lr=1e-4)
    def hf_step(x, y):
        hf(input_ids=x, attention_mask=(x != 0).long(), labels=y).loss.backward()
        opt_hf.step(); opt_hf.zero_grad(set_to_none=True)

    for name, step in (("transformers", hf_step), ("nuestro, cabeza dispersa", ours_step(True)),
                       ("nuestro, cabeza completa", ours_step(False)), ("transformers (repetido)", hf_step)):
        results[name] = speed(step, data)
        print(f"{name:28s} {results[name]:10.0f} tokens/s", flush=True)
    reference = (results["transformers"] + results["transformers (repetido)"]) / 2
    ratios = {k: v / reference for k, v in results.items() if k.startswith("nuestro")}
    for k, v in ratios.items(): print(f"cociente {k} / transformers: {v:.2f}")
    summary = {"shape": args.shape, "config": SHAPES[args.shape], "batch_size": args.batch_size,
               "tokens_per_second": results, "ratios": ratios, "threads": torch.get_num_threads()}
    if args.pretrain_steps > 0: summary["longer"] = longer_pretraining(args.pretrain_steps, args.finetune_steps)
    with atomic_write(OUT, "w") as f: json.dump(summary, f, indent=1, ensure_ascii=False)
    if ratios["nuestro, cabeza dispersa"] < 1.0:
        print("✗ Objetivo no cumplido: el preentrenamiento es más lento que transformers.")
        sys.exit(1)
    print("✓ Objetivo cumplido (≥ 1,0).")


if __name__ == "__main__":
    main()
