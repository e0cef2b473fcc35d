"""``music-reasoning eval``: factual accuracy of the raw model against the hybrid SDK.

Two question sets, both with answers from the theory layer:

* the **diagnostic**: eight questions in the roadmap's spirit (G7 notes, Cmaj7, a mode,
  a cadence, a secondary dominant, a tritone substitution, a borrowed chord, the
  backdoor progression);
* the **generated** set: chord spellings (12 roots x 10 qualities), scales (12 roots x
  7 types), and progressions in all 12 major keys (ii-V-I, I-V-vi-IV, a secondary
  dominant, a plagal cadence) — 252 questions.

Scoring, per question:

* **raw**: the model answers the plain question (few-shot prompt, greedy).  Correct
  when its text states every expected fact (all notes; the numerals, cadence or chord
  asked for) and contradicts none.
* **hybrid**: the SDK answers (grounded, verified).  Its answer is ``data`` plus
  ``explanation``; correct when ``data`` holds the expected facts and the explanation
  contradicts none.  ``prose_states_answer`` reports how often the explanation text
  alone states them.

``sources`` counts where hybrid explanations came from (``local``: the model's own
words passed verification; ``deterministic``: replaced by the facts' sentence).
``contradicted`` is the share of answers whose text names a note, chord, numeral,
key, quality, interval or cadence the facts do not contain.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from music_reasoning.sdk.facts import Facts, chord_facts, progression_facts, scale_facts
from music_reasoning.sdk.hybrid import Hybrid
from music_reasoning.sdk.verify import _roman_key, _sound, extract_claims, find_contradictions
from music_reasoning.theory import analyze_progression, build_chord, get_scale
from music_reasoning.theory.notes import pitch_class, spell_above

__all__ = ["EvalReport", "Question", "diagnostic_questions", "generated_questions", "run_eval"]

ROOTS = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
CHORD_SUFFIXES = ("", "m", "7", "maj7", "m7", "dim", "aug", "m7b5", "dim7", "sus4")
SCALE_TYPES = (
    "major",
    "natural_minor",
    "harmonic_minor",
    "dorian",
    "mixolydian",
    "lydian",
    "major_pentatonic",
)


@dataclass(frozen=True)
class Question:
    """One question with the facts that answer it and what a correct answer must state."""

    category: str
    text: str
    data: Any
    facts: Facts
    notes: frozenset[int] = frozenset()
    romans: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    symbols: tuple[str, ...] = ()

    def stated_by(self, text: str) -> bool:
        """Whether ``text`` states every expected fact."""
        claims = extract_claims(text)
        named = {pitch_class(n) for n in claims.notes}
        if not self.notes <= named:
            return False
        written = {_roman_key(r) for r in claims.romans}
        if any(_roman_key(r) not in written for r in self.romans):
            return False
        sounds = {_sound(s) for s in claims.symbols}
        if any(_sound(s) not in sounds for s in self.symbols):
            return False
        return all(w.lower() in text.lower() for w in self.words)

    def data_holds_answer(self) -> bool:
        """Whether the layer-1 data returned to the user contains the expected facts."""
        d = self.data.to_dict()
        if self.notes and not self.notes <= {pitch_class(n) for n in _all_notes(d)}:
            return False
        romans = {_roman_key(a["roman"]) for a in d.get("analysis", ())}
        return all(_roman_key(r) in romans for r in self.romans)


def _all_notes(d: dict[str, Any]) -> list[str]:
    if "analysis" in d:
        return [n for a in d["analysis"] for n in a["notes"]]
    return list(d["notes"])


def _chord_q(category: str, symbol: str, text: str | None = None) -> Question:
    info = build_chord(symbol)
    return Question(
        category,
        text or f"What notes are in a {symbol} chord?",
        info,
        chord_facts(info),
        notes=frozenset(pitch_class(n) for n in info.notes),
    )


def _scale_q(category: str, root: str, kind: str) -> Question:
    info = get_scale(root, kind)
    name = kind.replace("_", " ")
    return Question(
        category,
        f"What notes are in the {root} {name} scale?",
        info,
        scale_facts(info),
        notes=frozenset(pitch_class(n) for n in info.notes),
    )


def _prog_q(category: str, chords: Sequence[str], key: str, text: str, **expect: Any) -> Question:
    info = analyze_progression(list(chords), key=key)
    return Question(category, text, info, progression_facts(info), **expect)


def diagnostic_questions() -> list[Question]:
    """The eight diagnostic questions."""
    return [
        _chord_q("diagnostic", "G7"),
        _chord_q("diagnostic", "Cmaj7"),
        _scale_q("diagnostic", "D", "dorian"),
        _prog_q(
            "diagnostic",
            ["G7", "C"],
            "C",
            "In C major, what kind of cadence is G7 to C?",
            words=("authentic",),
        ),
        _prog_q(
            "diagnostic",
            ["C", "A7", "Dm"],
            "C",
            "In the progression C A7 Dm in C major, what is the roman numeral of A7?",
            romans=("V7/ii",),
        ),
        _prog_q(
            "diagnostic",
            ["Dm7", "Db7", "Cmaj7"],
            "C",
            "What is the tritone substitution for G7 in C major?",
            symbols=("Db7",),
        ),
        _prog_q(
            "diagnostic",
            ["C", "Fm", "C"],
            "C",
            "In C major, what is the roman numeral of the borrowed Fm chord in C Fm C?",
            romans=("iv",),
        ),
        _prog_q(
            "diagnostic",
            ["Fm7", "Bb7", "Cmaj7"],
            "C",
            "What chords make the backdoor ii-V progression into Cmaj7 in C major?",
            symbols=("Fm7", "Bb7"),
        ),
    ]


def generated_questions() -> list[Question]:
    """The generated set (252 questions, answers from the theory layer)."""
    out = [_chord_q("chord_notes", f"{r}{s}") for r in ROOTS for s in CHORD_SUFFIXES]
    out += [_scale_q("scale_notes", r, t) for r in ROOTS for t in SCALE_TYPES]
    for root in ROOTS:
        two, four, five, six = (spell_above(root, i) for i in ("M2", "P4", "P5", "M6"))
        out.append(
            _prog_q(
                "progression_roman",
                [f"{two}m7", f"{five}7", f"{root}maj7"],
                root,
                f"In {root} major, what are the roman numerals of {two}m7 {five}7 {root}maj7?",
                romans=("ii7", "V7", "Imaj7"),
            )
        )
        out.append(
            _prog_q(
                "progression_roman",
                [root, five, f"{six}m", four],
                root,
                f"In {root} major, what are the roman numerals of {root} {five} {six}m {four}?",
                romans=("I", "V", "vi", "IV"),
            )
        )
        sec = spell_above(two, "P5")
        out.append(
            _prog_q(
                "secondary_dominant",
                [root, f"{sec}7", f"{two}m"],
                root,
                f"In {root} major, what is the roman numeral of {sec}7 in {root} {sec}7 {two}m?",
                romans=("V7/ii",),
            )
        )
        out.append(
            _prog_q(
                "cadence",
                [four, root],
                root,
                f"In {root} major, what kind of cadence is {four} to {root}?",
                words=("plagal",),
            )
        )
    return out


@dataclass
class _Tally:
    total: int = 0
    correct: int = 0
    contradicted: int = 0
    prose: int = 0


@dataclass
class EvalReport:
    """Accuracy per category for one backend and mode."""

    mode: str
    model: str
    categories: dict[str, dict[str, float]] = field(default_factory=dict)
    overall: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    failures: list[dict[str, Any]] = field(default_factory=list)
    sources: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "model": self.model,
            "categories": self.categories,
            "overall": self.overall,
            "sources": self.sources,
            "seconds": self.seconds,
            "failures": self.failures[:20],
        }


def _summarise(t: _Tally) -> dict[str, float]:
    return {
        "questions": t.total,
        "accuracy": t.correct / t.total if t.total else 0.0,
        "contradicted": t.contradicted / t.total if t.total else 0.0,
        "prose_states_answer": t.prose / t.total if t.total else 0.0,
    }


def run_eval(
    questions: Sequence[Question],
    *,
    mode: str,
    hybrid: Hybrid | None = None,
    ask_raw: Callable[[list[str]], list[str | None]] | None = None,
    model: str = "",
    progress: Callable[[int], object] | None = None,
) -> EvalReport:
    """Score ``questions`` in ``mode`` (``raw`` or ``hybrid``), eight at a time.

    ``ask_raw`` answers plain questions in raw mode (None for a failed item);
    ``hybrid`` answers in hybrid mode.
    """
    started = time.perf_counter()
    tallies: dict[str, _Tally] = defaultdict(_Tally)
    report = EvalReport(mode=mode, model=model)
    for start in range(0, len(questions), 8):
        group = list(questions[start : start + 8])
        if mode == "raw":
            if ask_raw is None:
                raise ValueError("raw mode needs ask_raw")
            texts = ask_raw([q.text for q in group])
            verdicts = []
            for q, text in zip(group, texts, strict=True):
                body = text or ""
                contradicted = bool(find_contradictions(body, q.facts)) if body else False
                stated = bool(body) and q.stated_by(body)
                verdicts.append((q, body, stated and not contradicted, contradicted, stated))
        else:
            if hybrid is None:
                raise ValueError("hybrid mode needs a Hybrid")
            results = hybrid.explain_many([(q.data, q.facts) for q in group], use_cache=False)
            verdicts = []
            for q, r in zip(group, results, strict=True):
                report.sources[r.source] = report.sources.get(r.source, 0) + 1
                body = r.explanation or ""
                contradicted = bool(find_contradictions(body, q.facts)) if body else False
                stated = bool(body) and q.stated_by(body)
                correct = q.data_holds_answer() and not contradicted
                verdicts.append((q, body, correct, contradicted, stated))
        for q, body, correct, contradicted, stated in verdicts:
            for name in (q.category, "all"):
                t = tallies[name]
                t.total += 1
                t.correct += correct
                t.contradicted += contradicted
                t.prose += stated
            if not correct:
                report.failures.append({"category": q.category, "question": q.text, "answer": body})
        if progress:
            progress(len(group))
    report.categories = {k: _summarise(v) for k, v in tallies.items() if k != "all"}
    report.overall = _summarise(tallies["all"])
    report.seconds = time.perf_counter() - started
    return report


def raw_asker(model: str | None = None) -> Callable[[list[str]], list[str | None]]:
    """Answer plain questions with the local model alone (few-shot prompt, greedy)."""
    from music_reasoning.engine.runtime import get_engine
    from music_reasoning.params import GenerationParams

    engine = get_engine(model)
    params = GenerationParams(temperature=0.0, max_tokens=120, timeout=engine.settings.timeout)

    def ask(texts: list[str]) -> list[str | None]:
        return [item.text for item in engine.batch(texts, params)]

    return ask


def evaluate(
    *,
    modes: Sequence[str] = ("raw", "hybrid"),
    question_set: str = "all",
    limit: int | None = None,
    model: str | None = None,
    progress: Callable[[int], object] | None = None,
    on_total: Callable[[int], object] | None = None,
) -> list[EvalReport]:
    """Run the chosen question set in each mode against the local model.

    ``progress(n)`` is called as questions are scored; ``on_total(n)`` once, before the
    first, with how many there are over all modes.
    """
    from music_reasoning.sdk.backends import LocalBackend

    questions: list[Question] = []
    if question_set in ("diagnostic", "all"):
        questions += diagnostic_questions()
    if question_set in ("generated", "all"):
        questions += generated_questions()
    if limit is not None:
        questions = questions[:limit]
    if on_total:
        on_total(len(questions) * len(modes))
    local = LocalBackend(model)
    name = local.model_file().name
    reports = []
    for mode in modes:
        if mode == "raw":
            reports.append(
                run_eval(
                    questions, mode="raw", ask_raw=raw_asker(model), model=name, progress=progress
                )
            )
        else:
            hybrid = Hybrid(mode="local-only", local=local)
            reports.append(
                run_eval(questions, mode="hybrid", hybrid=hybrid, model=name, progress=progress)
            )
    return reports
