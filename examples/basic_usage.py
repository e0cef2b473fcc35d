"""Basic usage: ask questions with the embedded default model (no download needed)."""

from __future__ import annotations

import music_reasoning as mr


def main() -> None:
    print(mr.generate_explanation("What notes are in a G7 chord?", preset="factual"))
    print(mr.generate_creative_suggestion("Suggest a chord to follow Am in C major."))
    try:
        mr.generate_explanation("   ")
    except mr.InvalidInputError as err:
        print(f"{err.code}: {err.message} ({err.suggestion})")
    print(mr.get_model_status().to_dict())


if __name__ == "__main__":
    main()
