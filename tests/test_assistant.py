"Propiedades del asistente: la máscara de la respuesta, LoRA (fusionar = sin fusionar), DPO (= la fórmula), la generación en grupo y los errores."
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from transformer_course.assistant import (IGNORE, TASKS, Assistant, ChatTemplate, Example, LoRALinear, add_lora,
                                          build_instructions, dpo_batches, dpo_finetune, dpo_loss, few_shot_prompt,
                                          generate_batch, head_to_head, load_lora, merge_lora, save_lora, score,
                                          sequence_logps, sft_batches)
from transformer_course.gpt import GPT, GPTConfig
from transformer_course.tokenization import BPETokenizer

TOKENIZER = BPETokenizer.train(["Traduce al inglés: Hola. Hello. ¿Quién escribió esto? Cervantes, Unamuno."] * 3, 300)
TEMPLATE = ChatTemplate(TOKENIZER)
words = st.text(alphabet="abcdeñáéí ¿?.", min_size=1, max_size=30).filter(str.strip)


def small(seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    return GPT(GPTConfig(TEMPLATE.vocab_size, context_len=48, d_model=16, n_heads=2, n_layers=2)).double().eval()


@settings(max_examples=40, deadline=None)
@given(instruction=words, answer=st.text(alphabet="abcdeñáéí ¿?.", max_size=30))
def test_answer_mask(instruction, answer):
    "La máscara es 0 en <bos>, los roles y la instrucción, y 1 exactamente en la respuesta y su <eos>."
    ids, mask = TEMPLATE.render(instruction, answer)
    n_prompt = len(TEMPLATE.prompt(instruction))
    assert mask == [0] * n_prompt + [1] * (len(TOKENIZER.encode(answer)) + 1)
    assert ids[n_prompt - 1] == TEMPLATE.assistant_id and ids[-1] == TOKENIZER.eos_id
    assert TEMPLATE.decode(ids) == f"<bos><|usuario|>{instruction}<|asistente|>{answer}<eos>"
    [(rows, targets)] = sft_batches([Example("autor", "{x}", "", instruction, answer)], TEMPLATE, 1, 10_000)
    assert rows[0].tolist() == ids[:-1]
    assert [t for t in targets[0].tolist() if t != IGNORE] == ids[n_prompt:]         # solo la respuesta cuenta
    [(_, whole)] = sft_batches([Example("autor", "{x}", "", instruction, answer)], TEMPLATE, 1, 10_000, False)
    assert whole[0].tolist() == ids[1:]


@settings(max_examples=20, deadline=None)
@given(r=st.integers(1, 16), alpha=st.floats(0.5, 64), seed=st.integers(0, 10_000))
def test_lora_merge_equals_unmerged(r, alpha, seed):
    "Con A y B cualesquiera, fusionar no cambia la salida; al empezar (B = 0) el adaptador no cambia nada."
    model, ids = small(seed), torch.randint(0, TEMPLATE.vocab_size, (2, 12), generator=torch.Generator().manual_seed(seed))
    with torch.no_grad(): before = model(ids)
    add_lora(model, r=r, alpha=alpha)
    with torch.no_grad():
        assert torch.allclose(model(ids), before)
        for m in model.modules():
            if isinstance(m, LoRALinear): m.lora_B.normal_(generator=torch.Generator().manual_seed(seed))
        adapted = model(ids)
    assert not torch.allclose(adapted, before)
    assert all(("lora_" in n) == p.requires_grad for n, p in model.named_parameters())
    with torch.no_grad(): merged = merge_lora(model)(ids)
    assert torch.allclose(merged, adapted, atol=1e-9)
    assert not any(isinstance(m, LoRALinear) for m in model.modules()) and all(p.requires_grad for p in model.parameters())


@settings(max_examples=50, deadline=None)
@given(logps=st.lists(st.tuples(*[st.floats(-50, 0)] * 4), min_size=1, max_size=8), beta=st.floats(0.01, 5))
def test_dpo_loss_is_the_formula(logps, beta):
    "−log σ(β·[(πθ − πref)(elegida) − (πθ − πref)(rechazada)]), escrita a mano en float64."
    pc, pr, rc, rr = (torch.tensor(col, dtype=torch.float64) for col in zip(*logps))
    expected = sum(math.log1p(math.exp(-beta * ((a - c) - (b - d)))) for a, b, c, d in logps) / len(logps)
    assert math.isclose(dpo_loss(pc, pr, rc, rr, beta).item(), expected, rel_tol=1e-9, abs_tol=1e-12)


def test_sequence_logps_counts_only_the_mask():
    model = small()
    ids, mask = TEMPLATE.render("Hola.", "Hello.")
    ids, mask = torch.tensor([ids]), torch.tensor([mask])
    with torch.no_grad():
        logps = model(ids[:, :-1]).log_softmax(-1)[0]
        n = int((mask == 0).sum())
        by_hand = sum(logps[t - 1, ids[0, t]].item() for t in range(n, ids.shape[1]))
        assert math.isclose(sequence_logps(model, ids, mask).item(), by_hand, rel_tol=1e-6)   # suma en float32


def test_generate_batch_equals_one_by_one():
    model = small(3).float()
    prompts = [TEMPLATE.prompt(t) for t in ("Hola.", "¿Quién escribió esto?", "Hola.", "Cervantes")]
    together = generate_batch(model, prompts, 10, stop_id=TOKENIZER.eos_id)
    assert together == [generate_batch(model, [p], 10, stop_id=TOKENIZER.eos_id)[0] for p in prompts]
    with pytest.raises(ValueError, match="entre 1 y"): generate_batch(model, [[1] * 48], 4, stop_id=0)


def test_assistant_round_trip_and_errors(tmp_path):
    assistant = Assistant(small().float(), TOKENIZER)
    assert assistant.ask([]) == []
    answers = assistant.ask(["Hola.", "Traduce al inglés: Hola."], max_new_tokens=5)
    assistant.save(tmp_path / "asistente")
    assert Assistant.load(tmp_path / "asistente").ask(["Hola.", "Traduce al inglés: Hola."], max_new_tokens=5) == answers
    with pytest.raises(ValueError, match="instrucción vacía|está vacía"): assistant.ask(["  "])
    with pytest.raises(TypeError, match="lista"): assistant.ask("Hola.")
    with pytest.warns(UserWarning, match="tokens"): assistant.ask(["Hola. " * 40], max_new_tokens=2)
    with pytest.raises(FileNotFoundError, match="no es la carpeta de un asistente"): Assistant.load(tmp_path)
    with pytest.raises(ValueError, match="no son el uno del otro"):
        Assistant(GPT(GPTConfig(TOKENIZER.vocab_size, context_len=8, d_model=8, n_heads=2, n_layers=1)), TOKENIZER)


def test_lora_and_dpo_errors():
    model = small()
    with pytest.raises(ValueError, match="rango r"): add_lora(small(), r=0)
    with pytest.raises(ValueError, match="rango r"): add_lora(small(), r=17)      # d_model = 16
    with pytest.raises(ValueError, match="Ninguna capa"): add_lora(small(), targets=("no_existe",))
    add_lora(model, r=2)
    with pytest.raises(ValueError, match="ya tiene adaptadores"): add_lora(model, r=2)
    merge_lora(model)
    with pytest.raises(ValueError, match="ya los fusionaste"): merge_lora(model)
    with pytest.raises(ValueError, match="misma respuesta"): dpo_batches([("Hola.", "Hello.", " Hello. ")], TEMPLATE, 4)
    with pytest.raises(ValueError, match="beta"): dpo_loss(*[torch.zeros(2)] * 4, beta=0)
    with pytest.raises(ValueError, match="Tarea desconocida"): few_shot_prompt("resumir", [], "x")
    with pytest.raises(ValueError, match="No hay datos"): build_instructions({"autor": [("a", "b")]}, 1)
    assert set(TASKS) == {"es-en", "en-es", "tildes", "autor", "ortografía", "continuar"}
    with pytest.raises(ValueError, match="Tarea desconocida"): score("resumir", ["a"], ["a"])
    assert score("continuar", ["la casa"], ["la casa"]) == 100.0
    assert score("ortografía", ["Va a casa.", "Sí."], ["Va a casa. ", "Si."]) == 0.5   # la frase entera, o nada


def test_head_to_head_counts_per_task_in_order():
    "Gana, pierde o empata instrucción a instrucción, con la métrica de cada tarea; las tareas en el orden de TASKS."
    examples = [Example("continuar", "{x}", "la casa", "Sigue: la casa", "es grande y blanca"),
                Example("autor", "{x}", "—Sancho.", "¿Autor? —Sancho.", "Cervantes"),
                Example("es-en", "{x}", "Hola.", "Traduce al inglés: Hola.", "Hello.")]
    answers, others = ["es grande y blanca", "Unamuno", "Hello."], ["el perro", "Cervantes", "Hello."]
    assert head_to_head(examples, answers, others) == {"es-en": [0, 0, 1], "autor": [0, 1, 0], "continuar": [1, 0, 0]}
    assert list(head_to_head(examples, answers, others)) == [t for t in TASKS if t in ("es-en", "autor", "continuar")]
    assert all(w == l == 0 for w, l, _ in head_to_head(examples, answers, answers).values())   # contra sí, empates
    with pytest.raises(ValueError, match="una respuesta de cada lado"): head_to_head(examples, answers, others[:2])


def test_dpo_finetune_moves_the_policy_towards_the_chosen_answer():
    "Tras unos pasos de DPO, la política prefiere la elegida más que la referencia, en cada par; la referencia no cambia."
    policy, reference = small().float(), small().float().requires_grad_(False)
    before = [p.clone() for p in reference.parameters()]
    pairs = [("Hola.", "Hello.", "Cervantes."), ("¿Quién escribió esto?", "Cervantes.", "Hello.")]
    [(ids, mask)] = dpo_batches(pairs, TEMPLATE, 2)
    margin = lambda m: (sequence_logps(m, ids, mask) - sequence_logps(reference, ids, mask)).view(-1, 2) @ torch.tensor([1.0, -1.0])
    with torch.no_grad(): assert torch.equal(margin(policy), torch.zeros(2))                    # parte de la referencia
    dpo_finetune(policy, reference, pairs, TEMPLATE, 20, progress=False)
    with torch.no_grad(): assert (margin(policy) > 0).all()
    assert all(torch.equal(a, b) for a, b in zip(before, reference.parameters()))


@settings(max_examples=10, deadline=None)
@given(r=st.integers(1, 16), alpha=st.floats(0.5, 64), seed=st.integers(0, 10_000))
def test_lora_adapter_round_trip_and_shape_guard(tmp_path_factory, r, alpha, seed):
    "save_lora → load_lora en el modelo base da la misma salida; en otro modelo, un error y el modelo intacto."
    base, ids = small(seed), torch.randint(0, TEMPLATE.vocab_size, (2, 12), generator=torch.Generator().manual_seed(seed))
    tuned = add_lora(small(seed), r=r, alpha=alpha)
    with torch.no_grad():
        for m in tuned.modules():
            if isinstance(m, LoRALinear): m.lora_B.normal_(generator=torch.Generator().manual_seed(seed))
    path = tmp_path_factory.mktemp("lora") / "adaptador.safetensors"
    save_lora(tuned, path)
    with torch.no_grad(): assert torch.equal(load_lora(base, path)(ids), tuned(ids))
    assert all(("lora_" in n) == p.requires_grad for n, p in base.named_parameters())
    with pytest.raises(ValueError, match="ya tiene adaptadores"): load_lora(base, path)
    torch.manual_seed(seed)
    other = GPT(GPTConfig(TEMPLATE.vocab_size, context_len=48, d_model=32, n_heads=2, n_layers=2)).double()
    before = {k: v.clone() for k, v in other.state_dict().items()}
    with pytest.raises(ValueError, match="es 16×16, y en este es 32×32"): load_lora(other, path)
    assert not any(isinstance(m, LoRALinear) for m in other.modules())
    assert all(torch.equal(v, other.state_dict()[k]) for k, v in before.items())
    with pytest.raises(ValueError, match="no tiene adaptadores"): save_lora(other, path)
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(ValueError, match="no es un safetensors válido"): load_lora(small(seed), path)


def test_chat_command(tmp_path, capsys, monkeypatch):
    "La orden `chat`: --once contesta una línea, sin él una por línea de la entrada; otra carpeta, error claro."
    import io

    from transformer_course.cli import main
    assistant = Assistant(small().float(), TOKENIZER)
    assistant.save(tmp_path / "asistente")
    assert main(["chat", str(tmp_path / "asistente"), "--once", "Hola.", "--max-new-tokens", "3"]) == 0
    assert capsys.readouterr().out == assistant.ask(["Hola."], max_new_tokens=3)[0] + "\n"
    monkeypatch.setattr("sys.stdin", io.StringIO("Hola.\nCervantes\n\nno llega\n"))
    assert main(["chat", str(tmp_path / "asistente"), "--max-new-tokens", "3"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2                          # para en la línea vacía
    assert main(["chat", str(tmp_path), "--once", "Hola."]) == 2
    assert "no es la carpeta de un asistente" in capsys.readouterr().err
