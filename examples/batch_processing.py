"""Batch processing: many prompts decoded as parallel sequences in one llama.cpp context."""

from __future__ import annotations

import time

import music_reasoning as mr

QUESTIONS = [
    "What notes are in a C major chord?",
    "What is a perfect fourth above G?",
    "",  # invalid on purpose: it becomes an error item, the rest still answer
    "What is the relative minor of G major?",
    "What is a deceptive cadence?",
    "How many sharps does D major have?",
    "What is a tritone?",
    "What notes are in an A minor chord?",
]


def main() -> None:
    start = time.perf_counter()
    items = mr.batch_generate_explanations(QUESTIONS, preset="factual", max_tokens=40)
    elapsed = time.perf_counter() - start
    for item in items:
        if item.ok:
            print(f"{item.index}: {item.text}")
        else:
            assert item.error is not None
            print(f"{item.index}: error {item.error.code}: {item.error.message}")
    tokens = sum(i.metrics.completion_tokens for i in items if i.metrics)
    print(f"{len(items)} items, {tokens} tokens in {elapsed:.1f}s ({tokens / elapsed:.1f} tok/s)")


if __name__ == "__main__":
    main()
