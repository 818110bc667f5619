"""Benchmark del capítulo 7 (BERT): velocidad de preentrenamiento frente a `BertForMaskedLM` de transformers.

Uso: TRANSFORMER_COURSE_DATA=../shared/data python bench/bert.py [--parts speed,longer,lr] [--steps 40]
     [--shape chapter|base-mini] [--lrs 3e-5,1e-4,3e-4,1e-3,3e-3]

Partes (por defecto `speed,longer`; cada una reescribe solo su clave de nbs/bench_bert.json):

`speed`: los dos modelos parten de los mismos pesos (`to_hf`) y entrenan con los mismos lotes de MLM (15 / 80-10-10,
sin NSP, que `BertForMaskedLM` no tiene), con AdamW. Se miden tokens por segundo (relleno incluido) en pasos
hacia delante y hacia atrás:

- «nuestro, cabeza dispersa»: la pérdida de `pretraining_loss` sin la NSP, con la cabeza del MLM calculada solo en
  las posiciones elegidas (lo que usa el capítulo);
- «nuestro, cabeza completa»: los logits de todas las posiciones, como hace transformers;
- «transformers»: `BertForMaskedLM` con `labels` (atención SDPA, la que trae por defecto).

Objetivo: cociente nuestro (cabeza dispersa) / transformers ≥ 1,0. Sale con código 1 si no se cumple.

`longer` (si `--pretrain-steps` > 0): la receta del capítulo con más preentrenamiento: el mismo BERT (2 capas,
d_model 128, contexto 64, 64 pares por lote, lr 2e-3) `--pretrain-steps` pasos en vez de 700, medido en la prueba
(MLM y NSP) y afinado con el presupuesto del capítulo (tildes: 400 pasos; autoría: 150 pasos, 3 semillas),
frente al mismo afinado sin preentrenar; las tildes, también con `--finetune-steps` pasos de afinado.

`lr`: la tasa de aprendizaje del afinado, medida. El BERT del capítulo (700 pasos de preentrenamiento) se afina
con cada tasa de `--lrs` (la del capítulo es 1e-3; la habitual con BERT, 2e-5 a 5e-5), con y sin preentrenar:
tildes (400 pasos, una semilla) y autoría (150 pasos, semillas 0, 1 y 2).

Todo se guarda (nunca pesos) en nbs/bench_bert.json.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import torch

from transformer_course.bert import (BERT_RECIPE, IGNORE, BertAccentRestorer, BertConfig, BertForPreTraining,
                                     BertForSequenceClassification, BertForTokenClassification, BertModel, accent_table,
                                     balanced_sentences, finetune, mask_tokens, mlm_loss, pad_rows, pretraining_batch,
                                     pretraining_loss, pretraining_metrics, to_hf)
from transformer_course.core import atomic_write, set_seed
from transformer_course.data import load_splits, split_sentences, word_sentences
from transformer_course.ngram import AccentRestorer
from transformer_course.tokenization import BPETokenizer
from transformer_course.training import train

OUT = Path(__file__).parents[1] / "nbs" / "bench_bert.json"
PARTS = ("speed", "longer", "lr")
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


class Course:
    "Los datos, el tokenizador y las tareas de afinado del capítulo, preparados una vez."
    def __init__(self):
        quijote, niebla = load_splits("quijote"), load_splits("niebla")
        self.tok = tok = BPETokenizer.train([quijote.train, niebla.train], BERT_RECIPE.vocab_size)
        self.config = BertConfig(tok.vocab_size, **BERT_RECIPE.config)
        self.docs = [[tok.encode(s) for s in split_sentences(t)] for t in (quijote.train, niebla.train)]
        test_docs = [[tok.encode(s) for s in split_sentences(t)] for t in (quijote.test, niebla.test)]
        self.test_batches = [pretraining_batch(test_docs, BERT_RECIPE.batch_size, self.config,
                                               torch.Generator().manual_seed(100 + i)) for i in range(8)]
        self.restorer = restorer = AccentRestorer(3).fit(word_sentences(quijote.train))
        self.n_forms = max(map(len, restorer.forms.values()))
        examples = self.accent_restorer(self.fresh(None)).examples(split_sentences(quijote.train))
        self.accent_examples = [e for e in examples if any(l != IGNORE for l in e[1])]
        self.accent_test = split_sentences(quijote.test)
        encode = lambda pairs: [([tok.cls_id] + tok.encode(s)[:self.config.context_len - 2] + [tok.sep_id], a) for s, a in pairs]
        self.author_train = encode(balanced_sentences([quijote.train, niebla.train], seed=0))
        self.author_test = encode(balanced_sentences([quijote.test, niebla.test], seed=1))

    def pretrain(self, steps: int) -> tuple[BertForPreTraining, dict]:
        "La receta del capítulo (BERT_RECIPE) con `steps` pasos y el calentamiento en la misma proporción."
        set_seed(0)
        model = BertForPreTraining(self.config)
        options = {**BERT_RECIPE.options(), "warmup": steps // 10}
        history = train(model, lambda g: pretraining_batch(self.docs, BERT_RECIPE.batch_size, self.config, g), steps,
                        loss_fn=pretraining_loss, eval_every=max(1, steps // 10),
                        eval_fn=lambda m: pretraining_metrics(m, self.test_batches)["mlm_nats"], desc="preentrenando",
                        **options)
        curve = [{"step": s, "seconds": t, "test_mlm_nats": v}
                 for s, t, v in zip(history.val_steps, history.val_seconds, history.val_loss)]
        out = {"pretrain_steps": steps, "pretrain_seconds": history.seconds, "curve": curve,
               "test": pretraining_metrics(model, self.test_batches)}
        print(f"preentrenado {steps} pasos en {history.seconds / 60:.1f} min: {out['test']}", flush=True)
        return model, out

    def fresh(self, pretrained: BertForPreTraining | None) -> BertModel:
        "Un BertModel con la inicialización del capítulo (semilla 1) o con los pesos de `pretrained`."
        set_seed(1)
        bert = BertModel(self.config)
        if pretrained is not None: bert.load_state_dict(pretrained.bert.state_dict())
        return bert

    def accent_restorer(self, bert: BertModel) -> BertAccentRestorer:
        return BertAccentRestorer(self.tok, self.restorer.forms, BertForTokenClassification(bert, self.n_forms))

    def accents(self, runs: dict) -> dict:
        "Acierto en las palabras ambiguas de la prueba; `runs`: nombre -> (preentrenado o None, pasos, lr)."
        models = {}
        for name, (pretrained, steps, lr) in runs.items():
            models[name] = self.accent_restorer(self.fresh(pretrained))
            finetune(models[name].model, self.accent_examples, steps, lr=lr, desc=f"tildes, {name}")
        rows = accent_table(self.accent_test, self.restorer, models)
        names = ["trigrama", "forma más frecuente", *models]
        return {name: sum(r[0] == r[k] for r in rows) / len(rows) for k, name in enumerate(names, start=1)}, len(rows)

    def authorship(self, pretrained, lr: float = 1e-3, seeds=(0, 1, 2), steps: int = 150) -> list[float]:
        "Acierto en la prueba de autoría tras afinar `steps` pasos, una cifra por semilla."
        runs = []
        for seed in seeds:
            bert = self.fresh(pretrained)
            set_seed(seed)
            head = BertForSequenceClassification(bert, 2)
            finetune(head, self.author_train, steps, lr=lr, seed=seed, desc=f"autoría, lr {lr:g}, semilla {seed}")
            head.eval()
            with torch.no_grad():
                pred = torch.cat([head(pad_rows([e[0] for e in self.author_test[i:i + 64]])).argmax(-1)
                                  for i in range(0, len(self.author_test), 64)])
            runs.append((pred == torch.tensor([a for _, a in self.author_test])).float().mean().item())
        return runs


def longer_pretraining(course: Course, steps: int, finetune_steps: int) -> dict:
    "La receta del capítulo con `steps` pasos de preentrenamiento, y los dos afinados con y sin él (las tildes, también más largo)."
    model, out = course.pretrain(steps)
    sources = {"preentrenado": model, "sin preentrenar": None}
    out["accent"], out["accent_words"] = course.accents(
        {f"{name}, {n} pasos": (source, n, 1e-3) for name, source in sources.items() for n in (400, finetune_steps)})
    print("tildes:", out["accent"], flush=True)
    out["authorship"] = {name: course.authorship(source) for name, source in sources.items()}
    print("autoría:", out["authorship"], flush=True)
    return out


def lr_sweep(course: Course, steps: int, lrs) -> dict:
    "El BERT del capítulo (`steps` pasos de preentrenamiento) afinado con cada tasa de `lrs`, con y sin preentrenar."
    model, out = course.pretrain(steps)
    sources = {"preentrenado": model, "sin preentrenar": None}
    out["lrs"] = [f"{lr:g}" for lr in lrs]
    accent, out["accent_words"] = course.accents(
        {f"{name}, lr {lr:g}": (source, 400, lr) for name, source in sources.items() for lr in lrs})
    out["accent"] = {"trigrama": accent["trigrama"], "forma más frecuente": accent["forma más frecuente"],
                     **{name: {f"{lr:g}": accent[f"{name}, lr {lr:g}"] for lr in lrs} for name in sources}}
    print("tildes:", out["accent"], flush=True)
    out["authorship"] = {name: {f"{lr:g}": course.authorship(source, lr) for lr in lrs} for name, source in sources.items()}
    print("autoría:", out["authorship"], flush=True)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--shape", choices=SHAPES, default="chapter")
    parser.add_argument("--pretrain-steps", type=int, default=8000, help="0: solo la velocidad")
    parser.add_argument("--finetune-steps", type=int, default=3000, help="afinado largo de las tildes")
    parser.add_argument("--parts", default="speed,longer", help=f"partes, separadas por comas: {', '.join(PARTS)}")
    parser.add_argument("--sweep-pretrain-steps", type=int, default=700, help="preentrenamiento del barrido (el del capítulo)")
    parser.add_argument("--lrs", default="3e-5,1e-4,3e-4,1e-3,3e-3", help="tasas de afinado del barrido (lr)")
    args = parser.parse_args()
    parts = args.parts.split(",")
    if unknown := [p for p in parts if p not in PARTS]:
        parser.error(f"partes desconocidas: {', '.join(unknown)}; las partes son {', '.join(PARTS)}.")
    summary = json.loads(OUT.read_text(encoding="utf-8")) if OUT.exists() else {}   # las partes que no se repiten, se quedan
    course = Course() if {"longer", "lr"} & set(parts) else None
    if "lr" in parts:
        summary["lr_sweep"] = lr_sweep(course, args.sweep_pretrain_steps, [float(x) for x in args.lrs.split(",")])
        with atomic_write(OUT, "w") as f: json.dump(summary, f, indent=1, ensure_ascii=False)
    if "longer" in parts and args.pretrain_steps > 0:
        summary["longer"] = longer_pretraining(course, args.pretrain_steps, args.finetune_steps)
        with atomic_write(OUT, "w") as f: json.dump(summary, f, indent=1, ensure_ascii=False)
    if "speed" not in parts: return
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
    summary.update({"shape": args.shape, "config": SHAPES[args.shape], "batch_size": args.batch_size,
                    "tokens_per_second": results, "ratios": ratios, "threads": torch.get_num_threads()})
    with atomic_write(OUT, "w") as f: json.dump(summary, f, indent=1, ensure_ascii=False)
    if ratios["nuestro, cabeza dispersa"] < 1.0:
        print("✗ Objetivo no cumplido: el preentrenamiento es más lento que transformers.")
        sys.exit(1)
    print("✓ Objetivo cumplido (≥ 1,0).")


if __name__ == "__main__":
    main()
