"""La orden `transformer-course` de principio a fin, con modelos diminutos: entrenar, reanudar, muestrear,
evaluar, traducir, los errores y el entrenamiento con dos procesos de `torchrun` (gloo, un hilo cada uno)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from transformer_course.cli import LOG_FILE, main, replay_single_process
from transformer_course.data import load_pairs, load_text

BIN = Path(sys.executable).parent
TINY_GPT = ["--config", '{"n_layers": 2, "d_model": 32, "n_heads": 2, "context_len": 32}', "--batch-size", "8"]


@pytest.fixture(scope="module")
def texts(shared_data, tmp_path_factory):
    "Un trozo del Quijote para entrenar, uno de Niebla para evaluar y 2000 pares de Tatoeba (español<TAB>inglés)."
    folder = tmp_path_factory.mktemp("datos")
    (folder/"quijote.txt").write_text(load_text("quijote")[:60_000], encoding="utf-8")
    (folder/"niebla.txt").write_text(load_text("niebla")[:5_000], encoding="utf-8")
    pairs = load_pairs()[:2000]
    (folder/"pares.tsv").write_text("".join(f"{p.es}\t{p.en}\n" for p in pairs), encoding="utf-8")
    return folder


def run(*args, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    "La orden instalada por `pip install`, como la escribiría un usuario en la terminal."
    return subprocess.run([str(BIN/"transformer-course"), *map(str, args)], capture_output=True, text=True,
                          input=stdin, env={**os.environ, **(env or {})}, timeout=300)


def cli(*args) -> int:
    "La misma orden dentro de este proceso (más rápido): `main` con los argumentos como textos."
    return main([str(a) for a in args])


def weights(directory) -> dict:
    "Los tensores del checkpoint de una carpeta de entrenamiento (pesos y estado del optimizador)."
    return load_file(Path(directory)/"checkpoint.safetensors")


def test_help_in_spanish():
    result = run("train", "--help")
    assert result.returncode == 0 and result.stdout.startswith("uso: transformer-course train")
    assert "reanuda" in result.stdout and "torchrun" in result.stdout
    result = run("train", "gpt", "--out", "x")                          # falta --text: error de argparse en español
    assert result.returncode == 2 and "es obligatorio uno de" in result.stderr, result.stderr


def test_train_sample_eval(texts, tmp_path):
    out = tmp_path/"gpt"
    result = run("train", "gpt", "--text", texts/"quijote.txt", "--out", out, "--steps", 30, "--eval-every", 10, *TINY_GPT)
    assert result.returncode == 0, result.stderr
    assert "paso 30 de 30" in result.stdout and "bits_per_char" in result.stdout
    log = json.loads((out/LOG_FILE).read_text())
    assert log["history"]["val_steps"] == [10, 20, 30] and len(log["history"]["train_loss"]) == 30
    assert log["history"]["train_loss"][-1] < log["history"]["train_loss"][0]      # aprende algo
    assert 1 < log["validation"]["bits_per_char"] < 8
    result = run("sample", out, "--prompt", "En un lugar", "--max-new-tokens", 20, "--seed", 3)
    assert result.returncode == 0 and result.stdout.startswith("En un lugar") and len(result.stdout.strip()) > 15
    assert run("sample", out, "--prompt", "En un lugar", "--max-new-tokens", 20, "--seed", 3).stdout == result.stdout
    result = run("eval", out, "--text", texts/"niebla.txt")
    assert result.returncode == 0, result.stderr
    bpc = float(result.stdout.split("bits_per_char:")[1].split()[0])
    assert 1 < bpc < 8 and "chars: 5000" in result.stdout


def test_resume_is_exact(texts, tmp_path):
    "2 × N pasos con un corte en medio (--stop-at y la misma orden) = 2N pasos seguidos, bit a bit."
    common = ["train", "gpt", "--text", texts/"quijote.txt", "--steps", 24, "--eval-every", 6, "--quiet", *TINY_GPT]
    assert cli(*common, "--out", tmp_path/"seguido") == 0
    assert cli(*common, "--out", tmp_path/"cortado", "--stop-at", 12) == 0
    assert json.loads((tmp_path/"cortado"/LOG_FILE).read_text())["step"] == 12
    assert cli("train", "gpt", "--text", texts/"quijote.txt", "--out", tmp_path/"cortado", "--quiet") == 0
    straight, resumed = weights(tmp_path/"seguido"), weights(tmp_path/"cortado")
    assert straight.keys() == resumed.keys() and any(k.startswith("@optimizer") for k in straight)
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)   # pesos, optimizador y generadores


def test_errors_are_clear_and_lose_nothing(texts, tmp_path, capsys):
    out = tmp_path/"run"
    assert cli("train", "gpt", "--text", texts/"quijote.txt", "--out", out, "--steps", 4, "--quiet", *TINY_GPT) == 0
    before = (out/"checkpoint.safetensors").read_bytes()
    capsys.readouterr()
    cases = [  # (argumentos, lo que debe decir el error)
        (["train", "gpt", "--text", tmp_path/"no.txt", "--out", tmp_path/"a"], "No existe el archivo"),
        (["train", "gpt", "--text", texts/"quijote.txt", "--out", out, "--lr", "0.1"], "lr: 0.006 → 0.1"),
        (["train", "gpt", "--text", texts/"niebla.txt", "--out", out], "data_sha256"),
        (["train", "gpt", "--text", texts/"quijote.txt", "--out", tmp_path/"b", "--config", '{"n_layer": 2}'],
         "no tiene los campos ['n_layer']"),
        (["train", "gpt", "--text", texts/"quijote.txt", "--out", texts], "no es una carpeta de entrenamiento"),
        (["train", "translator", "--text", texts/"quijote.txt", "--out", tmp_path/"c"], "--pairs"),
        (["sample", tmp_path/"nada"], "No existe la carpeta"),
        (["sample", texts], "le falta run.json"),
        (["train", "gpt", "--text", texts/"quijote.txt", "--out", tmp_path/"e", "--lr", "-1"], None),
        (["eval", out], "hace falta un texto"),
        (["translate", out], "no un traductor"),
    ]
    for args, message in cases:
        if message is None:                                             # argparse: sale con SystemExit(2)
            with pytest.raises(SystemExit) as exit: cli(*args)
            assert exit.value.code == 2 and "debe ser un número > 0" in capsys.readouterr().err
            continue
        assert cli(*args) == 2, args
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (args, err)
    assert (out/"checkpoint.safetensors").read_bytes() == before         # ningún error tocó el entrenamiento
    assert not any((tmp_path/name).exists() for name in "abce")
    (out/"checkpoint.safetensors").write_bytes(before[:len(before) // 2])   # un checkpoint cortado a la mitad
    assert cli("sample", out) == 2 and "corrupto" in capsys.readouterr().err
    (tmp_path/"latin1.txt").write_bytes("año".encode("latin-1"))
    assert cli("train", "gpt", "--text", tmp_path/"latin1.txt", "--out", tmp_path/"d") == 2
    assert "no es texto UTF-8" in capsys.readouterr().err


def test_lstm_bert_translator(texts, tmp_path, capsys):
    assert cli("train", "lstm", "--text", texts/"quijote.txt", "--out", tmp_path/"lstm", "--steps", 20,
                 "--config", '{"hidden_size": 64}', "--quiet") == 0
    assert cli("sample", tmp_path/"lstm", "--prompt", "Sancho", "--max-new-tokens", 10) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("Sancho")
    assert cli("train", "bert", "--text", texts/"quijote.txt", "--out", tmp_path/"bert", "--steps", 10,
                 "--vocab-size", 300, "--batch-size", 8, "--config", '{"n_layers": 1, "d_model": 32, "d_ff": 64}',
                 "--quiet") == 0
    assert "mlm_accuracy" in capsys.readouterr().out
    assert cli("sample", tmp_path/"bert", "--prompt", "En un lugar de la <mask> de cuyo nombre") == 0
    assert len(capsys.readouterr().out.strip().split(") ")) == 5                   # cinco candidatos para el hueco
    assert cli("train", "translator", "--pairs", texts/"pares.tsv", "--out", tmp_path/"tr", "--steps", 10,
                 "--vocab-size", 400, "--config", '{"d_model": 32, "d_ff": 64, "n_layers": 1}', "--quiet") == 0
    result = run("translate", tmp_path/"tr", "--beam", 2, stdin="Hola.\n\nTengo hambre.\n")
    assert result.returncode == 0 and len(result.stdout.split("\n")) == 4 and result.stdout.split("\n")[1] == ""
    assert cli("eval", tmp_path/"tr", "--pairs", texts/"pares.tsv", "--beam", 1) == 0
    assert "bleu:" in capsys.readouterr().out


def torchrun(*args) -> subprocess.CompletedProcess:
    "La orden con dos procesos de torchrun en la CPU (gloo), un hilo cada uno."
    return subprocess.run([str(BIN/"torchrun"), "--nproc-per-node=2", "--no-python", str(BIN/"transformer-course"),
                           *map(str, args)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})


def test_ddp_two_processes(texts, tmp_path, capsys):
    common = ["train", "gpt", "--text", texts/"quijote.txt", "--steps", 16, "--eval-every", 8, "--accumulate", 2,
              "--quiet", *TINY_GPT]
    result = torchrun(*common, "--out", tmp_path/"ddp")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("paso 16 de 16") == 1                    # solo el proceso 0 informa
    log = json.loads((tmp_path/"ddp"/LOG_FILE).read_text())
    assert log["world_size"] == 2 and log["max_rank_difference"] == 0.0   # (a) los dos procesos, idénticos
    ddp = weights(tmp_path/"ddp")
    # (b) = un proceso con el mismo lote global (los microlotes de los dos generadores): con un hilo, como
    # cada proceso de torchrun, bit a bit (a/2 + b/2 en los dos casos); con dos hilos, salvo redondeo …
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        single = replay_single_process(tmp_path/"ddp", texts/"quijote.txt", world_size=2).state_dict()
        torch.set_num_threads(2)
        rounded = replay_single_process(tmp_path/"ddp", texts/"quijote.txt", world_size=2).state_dict()
    finally:
        torch.set_num_threads(threads)
    assert all(torch.equal(single[k], ddp[k]) for k in single)
    gap = max((rounded[k] - ddp[k]).abs().max().item() for k in single)
    assert gap < 1e-2, gap
    # … y no a uno con un solo flujo de lotes (el generador seed + 0): la comparación sí distingue
    assert cli(*common, "--out", tmp_path/"uno") == 0
    one = weights(tmp_path/"uno")
    assert max((one[k] - ddp[k]).abs().max().item() for k in single) > max(10 * gap, 1e-3)
    # reanudar con dos procesos es exacto; con otro número de procesos, un error claro
    assert torchrun(*common, "--out", tmp_path/"cortado", "--stop-at", 8).returncode == 0
    assert torchrun(*common, "--out", tmp_path/"cortado").returncode == 0
    resumed = weights(tmp_path/"cortado")
    assert ddp.keys() == resumed.keys() and all(torch.equal(ddp[k], resumed[k]) for k in ddp)
    capsys.readouterr()
    assert cli(*common, "--out", tmp_path/"ddp") == 2
    assert "con 2 proceso(s) y ahora hay 1" in capsys.readouterr().err


def test_defaults_are_the_chapters_recipes(tmp_path):
    "Lo que entrena la orden sin opciones es la receta de cada capítulo, tomada de su módulo (el registro KINDS)."
    from transformer_course.bert import BERT_RECIPE
    from transformer_course.cli import KINDS, RECIPE_OPTIONS, resolve_spec
    from transformer_course.gpt import GPT_BPE_RECIPE, GPT_RECIPE
    from transformer_course.rnn import LSTM_RECIPE
    from transformer_course.transformer import TRANSLATOR_RECIPE
    data = tmp_path/"datos.txt"
    data.write_text("Un texto cualquiera.\n", encoding="utf-8")
    expected = {("gpt", "char"): GPT_RECIPE, ("gpt", "bpe"): GPT_BPE_RECIPE, ("lstm", "char"): LSTM_RECIPE,
                ("bert", "bpe"): BERT_RECIPE, ("translator", "bpe"): TRANSLATOR_RECIPE}
    assert {(k, t) for k, kind in KINDS.items() if not kind.starts_from for t in kind.recipes} == set(expected)
    from transformer_course.assistant import DPO_RECIPE, SFT_RECIPE                # parten de --base: ver la prueba de sft
    assert (KINDS["sft"].recipes, KINDS["dpo"].recipes) == ({"bpe": SFT_RECIPE}, {"bpe": DPO_RECIPE})
    for (kind, tokenizer), recipe in expected.items():
        for options in ({}, {"tokenizer": tokenizer}):
            if options == {} and tokenizer != next(iter(KINDS[kind].recipes)): continue
            spec = resolve_spec(kind, data, tmp_path/f"{kind}-{tokenizer}-{len(options)}", options)
            assert spec.config == recipe.config
            assert {f: getattr(spec, f) for f in RECIPE_OPTIONS} == {f: getattr(recipe, f) for f in RECIPE_OPTIONS}
    spec = resolve_spec("lstm", data, tmp_path/"lstm-bpe", {"tokenizer": "bpe", "lr": 0.5})   # otra variante: la receta
    assert (spec.tokenizer, spec.vocab_size, spec.lr, spec.window) == ("bpe", 1000, 0.5, LSTM_RECIPE.window)


def test_plain_torchrun_trains_the_single_process_recipe(texts, tmp_path, capsys):
    "Sin --accumulate, dos procesos se reparten el lote de cada paso: la receta de un proceso, con el mismo lote global."
    common = ["train", "gpt", "--text", texts/"quijote.txt", "--steps", 12, "--eval-every", 6, "--quiet", *TINY_GPT]
    result = torchrun(*common, "--out", tmp_path/"ddp")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "lote de 2 × 4 secuencias: 1 × 4 en cada uno de 2 procesos" in result.stdout
    spec = json.loads((tmp_path/"ddp"/"run.json").read_text())
    assert (spec["batch_size"], spec["accumulate"], spec["processes"]) == (4, 2, 2)   # 8 secuencias por paso, 4 y 4
    log = json.loads((tmp_path/"ddp"/LOG_FILE).read_text())
    assert log["world_size"] == 2 and log["max_rank_difference"] == 0.0
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)                                       # un hilo, como cada proceso: bit a bit
        single = replay_single_process(tmp_path/"ddp", texts/"quijote.txt").state_dict()
    finally:
        torch.set_num_threads(threads)
    ddp = weights(tmp_path/"ddp")
    assert all(torch.equal(single[k], ddp[k]) for k in single)
    # un lote que no se reparte, o un --accumulate explícito que no divide: errores claros, nada escrito
    odd = torchrun(*common[:-2], "--batch-size", 7, "--out", tmp_path/"impar")
    assert odd.returncode != 0 and "múltiplo de 2" in odd.stderr and not (tmp_path/"impar").exists()
    three = torchrun(*common, "--accumulate", 3, "--out", tmp_path/"tres")
    assert three.returncode != 0 and "accumulate (3) debe ser múltiplo de 2" in three.stderr
    assert not (tmp_path/"tres").exists()


def test_sft_and_dpo_start_from_their_base_and_chat(texts, tmp_path, capsys):
    "sft parte de los pesos de un gpt (más dos filas de rol), dpo de los de un sft (su referencia); chat usa los dos."
    import math
    from transformer_course.assistant import SFT_RECIPE, DPO_RECIPE
    from transformer_course.cli import (_prepare, _read_data, _split_data, _train_tokenizer, _vocab_fields, load_run,
                                        resolve_spec)
    pairs = load_pairs()[:1500]
    (tmp_path/"inst.tsv").write_text("".join(f"Traduce al inglés: {p.es}\t{p.en}\n" for p in pairs), encoding="utf-8")
    (tmp_path/"pref.tsv").write_text("".join(f"Traduce al inglés: {p.es}\t{p.en}\t{p.es}\n" for p in pairs if p.es != p.en),
                                     encoding="utf-8")
    common = ["--steps", 6, "--eval-every", 3, "--quiet"]
    assert cli("train", "gpt", "--tokenizer", "bpe", "--vocab-size", 300, "--text", texts/"quijote.txt", "--out",
               tmp_path/"gpt", *common, *TINY_GPT) == 0
    for kind, base, data, recipe in (("sft", "gpt", "inst.tsv", SFT_RECIPE), ("dpo", "sft", "pref.tsv", DPO_RECIPE)):
        spec = resolve_spec(kind, tmp_path/data, tmp_path/f"nuevo-{kind}", {"base": tmp_path/base})
        assert (spec.lr, spec.batch_size, spec.weight_decay) == (recipe.lr, recipe.batch_size, recipe.weight_decay)
        base_spec, tokenizer, base_model = load_run(tmp_path/base, "cpu")
        spec.config = {**spec.config, **_vocab_fields(kind, _train_tokenizer(spec, None))}
        assert spec.config == {**base_spec.config, "vocab_size": tokenizer.vocab_size + 2}
        model, _, loss_fn, evals = _prepare(spec, tokenizer, *_split_data(spec, _read_data(spec, tmp_path/data)))
        ours, theirs = model.state_dict(), base_model.state_dict()
        assert all(torch.equal(ours[k][:len(v)], v) for k, v in theirs.items())   # los pesos de --base
        if kind == "dpo":                                                 # política = referencia: la pérdida es log 2
            with torch.no_grad(): assert math.isclose(loss_fn(model, evals[0]).item(), math.log(2), rel_tol=1e-5)
        assert cli("train", kind, "--base", tmp_path/base, "--pairs", tmp_path/data, "--out", tmp_path/kind, *common) == 0
        assert f"{kind}: paso 6 de 6" in capsys.readouterr().out
        assert cli("chat", tmp_path/kind, "--once", "Traduce al inglés: Hola.", "--max-new-tokens", 3) == 0
        assert capsys.readouterr().out.strip() != ""
    for args, message in (
            (("train", "dpo", "--base", tmp_path/"gpt", "--pairs", tmp_path/"pref.tsv", "--out", tmp_path/"x"), "dpo parte de un sft"),
            (("train", "sft", "--pairs", tmp_path/"inst.tsv", "--out", tmp_path/"x"), "di cuál con --base"),
            (("train", "gpt", "--base", tmp_path/"gpt", "--text", texts/"quijote.txt", "--out", tmp_path/"x"), "empieza de cero"),
            (("train", "sft", "--base", tmp_path/"gpt", "--pairs", tmp_path/"inst.tsv", "--out", tmp_path/"x",
              "--config", '{"n_layers": 3}'), "quita config"),
            (("train", "dpo", "--base", tmp_path/"sft", "--pairs", tmp_path/"inst.tsv", "--out", tmp_path/"x"), "tres textos"),
            (("chat", tmp_path/"gpt", "--once", "Hola."), "no un asistente"),
            (("sample", tmp_path/"sft"), "usa 'transformer-course chat'")):
        assert cli(*args) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path/"x").exists()                                  # ningún error escribió nada
