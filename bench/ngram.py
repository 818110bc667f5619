"""Benchmarks del capítulo de n-gramas, con las referencias medidas en la misma ejecución.

Uso: TRANSFORMER_COURSE_DATA=../shared/data python bench/ngram.py [--sin-pyspellchecker]

Mide (en un solo proceso de Python, es decir, en un núcleo):
- entrenar un trigrama de palabras Kneser–Ney con el Quijote entero (objetivo ≤ 5 s) y lo mismo con
  `nltk.lm.KneserNeyInterpolated`;
- la perplejidad de la partición de prueba (objetivo ≤ 2 s) y la de NLTK, extrapolada desde una muestra
  de tokens porque NLTK tarda decenas de milisegundos por token (objetivo: al menos 20 veces más rápido);
- restaurar las tildes de toda la partición de prueba (objetivo ≤ 30 s);
- el acierto@1 de pyspellchecker en todos los errores de prueba (tarda unos minutos).
Sale con código 1 si algún objetivo no se cumple.
"""
import sys
import time

from nltk.lm import KneserNeyInterpolated
from nltk.lm.vocabulary import Vocabulary

from transformer_course.data import load_splits, load_table, load_text, split, strip_accents, word_sentences
from transformer_course.ngram import BOS, EOS, UNK, AccentRestorer, NgramLM, sentence_ngrams


def timed(f, *args):
    start = time.perf_counter()
    result = f(*args)
    return result, time.perf_counter() - start


def main(with_peer: bool) -> int:
    goals, report = [], []
    whole = word_sentences(load_text("quijote"))
    train_text, _, test_text = load_splits("quijote")
    train, test = word_sentences(train_text), word_sentences(test_text)
    n_predictions = sum(len(s) + 1 for s in test)

    ours, fit_s = timed(lambda: NgramLM(3, "kneser-ney").fit(whole))
    vocab = Vocabulary(sorted(ours.vocab - {UNK}), unk_cutoff=1, unk_label=UNK)
    nltk_lm = KneserNeyInterpolated(3, discount=0.75, vocabulary=vocab)
    _, nltk_fit_s = timed(lambda: nltk_lm.fit([sentence_ngrams(s, 3) for s in whole]))
    report.append(f"Entrenar trigrama KN, Quijote entero ({sum(map(len, whole)):,} tokens): nosotros {fit_s:.2f} s, "
                  f"NLTK {nltk_fit_s:.2f} s → {nltk_fit_s / fit_s:.1f}×")
    goals.append(("entrenar ≤ 5 s", fit_s <= 5))

    model = NgramLM(3, "kneser-ney").fit(train)
    ppl, ppl_s = timed(model.perplexity, test)
    nltk_train = KneserNeyInterpolated(3, discount=0.75, vocabulary=Vocabulary(sorted(model.vocab - {UNK}), unk_cutoff=1, unk_label=UNK))
    nltk_train.fit([sentence_ngrams(s, 3) for s in train])
    sample = []  # (token, contexto) sin <s> ni palabras desconocidas: NLTK falla en esos contextos
    for s in test[:40]:
        history, tokens = [BOS, *s], [*s, EOS]
        for i in range(2, len(tokens)):
            h = tuple(history[i - 1:i + 1])
            if all(t in model.vocab for t in h): sample.append((tokens[i], h))
    sample = sample[:300]
    start = time.perf_counter()
    for w, h in sample: nltk_train.score(w, h)
    nltk_per_token = (time.perf_counter() - start) / len(sample)
    nltk_ppl_s = nltk_per_token * n_predictions
    report.append(f"Perplejidad de la prueba ({n_predictions:,} predicciones, PP = {ppl:.1f}): nosotros {ppl_s:.2f} s; "
                  f"NLTK {1000 * nltk_per_token:.1f} ms por token (muestra de {len(sample)}) → {nltk_ppl_s:.0f} s "
                  f"extrapolados → {nltk_ppl_s / ppl_s:,.0f}×")
    goals.append(("perplejidad ≤ 2 s", ppl_s <= 2))
    goals.append(("≥ 20× más rápido que NLTK (entrenar + perplejidad)",
                  (nltk_fit_s + nltk_ppl_s) / (fit_s + ppl_s) >= 20))
    report.append(f"Entrenar + perplejidad: {(nltk_fit_s + nltk_ppl_s) / (fit_s + ppl_s):,.0f}× más rápido que NLTK")

    restorer = AccentRestorer(3).fit(train)
    _, accent_s = timed(restorer.restore_accents, strip_accents(test_text))
    report.append(f"Restaurar las tildes de toda la prueba ({len(test_text):,} caracteres): {accent_s:.1f} s")
    goals.append(("tildes ≤ 30 s", accent_s <= 30))

    if with_peer:
        from spellchecker import SpellChecker
        errors = [(r["misspelling"].lower(), r["first_correction"].lower()) for r in load_table("misspellings-es")
                  if r["case_sensitive"] == "0" and " " not in r["first_correction"]]
        errors_test = split(errors, key=lambda pair: pair[0]).test
        peer = SpellChecker(language="es")
        guesses, peer_s = timed(lambda: [peer.correction(x) for x, _ in errors_test])
        accuracy = sum(g == y for g, (_, y) in zip(guesses, errors_test)) / len(errors_test)
        report.append(f"pyspellchecker en los {len(errors_test)} errores de prueba: acierto@1 {accuracy:.1%} ({peer_s:.0f} s)")

    print("\n".join(report))
    print()
    for name, ok in goals: print(("✓ " if ok else "✗ ") + name)
    return 0 if all(ok for _, ok in goals) else 1


if __name__ == "__main__":
    sys.exit(main(with_peer="--sin-pyspellchecker" not in sys.argv))
