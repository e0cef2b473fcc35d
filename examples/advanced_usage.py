"""Advanced usage: metrics hooks, logging, streaming, warmup and a chat session."""

from __future__ import annotations

import logging

import music_reasoning as mr


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    warm = mr.warmup_model()
    print(f"warmup: load {warm.model_load_ms} ms")

    def report(m: mr.Metrics) -> None:
        print(
            f"[metrics] prompt={m.prompt_tokens} completion={m.completion_tokens} "
            f"ttft={m.time_to_first_token_ms:.0f}ms tok/s={m.tokens_per_second} "
            f"finish={m.finish_reason}"
        )

    mr.add_metrics_hook(report)
    try:
        for chunk in mr.stream_explanation("Explain the ii-V-I progression.", max_tokens=60):
            print(chunk, end="", flush=True)
        print()
        chat = mr.ChatSession(preset="factual", max_tokens=40)
        print(chat.ask("What is a dominant seventh chord?"))
        print(chat.ask("Which note makes it dominant?"))
        print(f"turns={chat.turns}")
    finally:
        mr.remove_metrics_hook(report)


if __name__ == "__main__":
    main()
