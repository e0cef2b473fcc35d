"""Many threads asking at once share the engine's decode loop (continuous batching).

Eight questions are asked one after another, then from eight threads at once, with no
batching code on the caller's side; the second way is faster because every step of the
decode loop serves all the sequences in flight.  Run: ``python examples/many_callers.py``.
"""

from __future__ import annotations

import threading
import time

from music_reasoning import generate_explanation, warmup_model

QUESTIONS = [
    f"Explain the {chord} chord in one sentence."
    for chord in ("C", "G7", "Am", "F", "Dm7", "E7", "Bb", "Cmaj7")
]


def main() -> None:
    warmup_model()
    started = time.perf_counter()
    for q in QUESTIONS:
        generate_explanation(q, temperature=0.0)
    sequential = time.perf_counter() - started

    answers: dict[str, str] = {}

    def ask(q: str) -> None:
        answers[q] = generate_explanation(q, temperature=0.0)

    threads = [threading.Thread(target=ask, args=(q,)) for q in QUESTIONS]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    together = time.perf_counter() - started
    print(f"{len(answers)} answers")
    print(
        f"one after another {sequential:.2f} s, eight threads at once {together:.2f} s: "
        f"{sequential / together:.2f}x"
    )


if __name__ == "__main__":
    main()
