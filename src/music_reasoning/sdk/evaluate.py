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

import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from music_reasoning.sdk._coverage import (
    TeachingPoint,
    chord_points,
    concept_points,
    progression_points,
    scale_points,
    stated,
)
from music_reasoning.sdk._types import ExplanationResult
from music_reasoning.sdk.concepts import ConceptInfo, ConceptQuestion, concept_questions
from music_reasoning.sdk.facts import Facts, chord_facts, progression_facts, scale_facts
from music_reasoning.sdk.hybrid import Hybrid
from music_reasoning.sdk.teacher import Lesson, Level, teach_chord, teach_progression, teach_scale
from music_reasoning.sdk.verify import (
    _roman_key,
    chord_sound,
    extract_claims,
    false_relations,
    find_contradictions,
    normalize,
)
from music_reasoning.theory import (
    ChordInfo,
    ScaleInfo,
    analyze_progression,
    build_chord,
    get_scale,
)
from music_reasoning.theory.notes import pitch_class, spell_above

__all__ = [
    "ConceptItem",
    "EvalReport",
    "Question",
    "concept_items",
    "diagnostic_questions",
    "generated_questions",
    "run_eval",
]

#: The level of the teacher's lesson that ends a hybrid explanation in the eval.
LESSON_LEVEL: Level = "intermediate"
#: How often the model paths are timed one request at a time (every Nth question).
LATENCY_EVERY = 10

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
        sounds = {chord_sound(s) for s in claims.symbols}
        if any(chord_sound(s) not in sounds for s in self.symbols):
            return False
        return all(w.lower() in text.lower() for w in self.words)

    def data_holds_answer(self) -> bool:
        """Whether the layer-1 data returned to the user contains the expected facts."""
        d = self.data.to_dict()
        if self.notes and not self.notes <= {pitch_class(n) for n in _all_notes(d)}:
            return False
        romans = {_roman_key(a["roman"]) for a in d.get("analysis", ())}
        return all(_roman_key(r) in romans for r in self.romans)

    def contradicted(self, text: str) -> bool:
        """Whether ``text`` names something the facts (widened by what the lesson
        computed, as the hybrid checks them) do not contain."""
        return bool(text) and bool(find_contradictions(text, self._checked))

    @cached_property
    def _checked(self) -> Facts:
        return self.facts.widened(self.lesson())

    @cached_property
    def points(self) -> tuple[TeachingPoint, ...]:
        """The teaching points an explanation of the subject should state."""
        if isinstance(self.data, ChordInfo):
            return chord_points(self.data)
        if isinstance(self.data, ScaleInfo):
            return scale_points(self.data)
        return progression_points(self.data)

    def lesson(self) -> Lesson:
        """The teacher's lesson on the subject at :data:`LESSON_LEVEL`."""
        if isinstance(self.data, ChordInfo):
            return teach_chord(self.data, LESSON_LEVEL)
        if isinstance(self.data, ScaleInfo):
            return teach_scale(self.data, LESSON_LEVEL)
        return teach_progression(self.data, LESSON_LEVEL)


@dataclass(frozen=True)
class ConceptItem:
    """A concept question (:func:`~music_reasoning.sdk.concepts.concept_questions`).

    A correct answer names the concept and states its first example realized in the
    question's key (its chords, or else its notes); the grounded path must also reach
    that concept and key.  ``contradicted`` counts only claims true or false on their
    own terms: a chord's numeral in a named key, a note an interval above another.
    """

    question: ConceptQuestion
    category: str = "concept"

    @property
    def text(self) -> str:
        return self.question.question

    @cached_property
    def _info(self) -> ConceptInfo:
        from music_reasoning.sdk.concepts import explain_concept

        data = explain_concept(self.question.concept, key=self.question.key).data
        assert isinstance(data, ConceptInfo)
        return data

    @cached_property
    def points(self) -> tuple[TeachingPoint, ...]:
        example = self._info.examples[0]
        return concept_points(
            self._info.definition, (c.symbol for c in example.chords), example.notes
        )

    def stated_by(self, text: str) -> bool:
        """Whether ``text`` names the concept and states its realized example."""
        named = self._info.name.lower() in text.lower()
        return named and self.points[1].stated_by(text)

    def contradicted(self, text: str) -> bool:
        return bool(text) and bool(_false_relations(text))

    def holds(self, result: ExplanationResult | None) -> bool:
        """Whether the grounded path reached the concept in the question's key."""
        data = result.data if result is not None else None
        return (
            isinstance(data, ConceptInfo)
            and data.id == self.question.concept
            and data.key == self.question.key
        )


def _false_relations(text: str) -> list[str]:
    """Claims wrong on their own terms: "G7 is the V7 of F major", "the M3 of C is Eb"."""
    return false_relations(extract_claims(normalize(text)))


def concept_items() -> list[ConceptItem]:
    """The concept set: every knowledge-base entry asked three ways (291 questions)."""
    return [ConceptItem(q) for q in concept_questions()]


Item = Question | ConceptItem


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
    points: int = 0
    points_stated: int = 0
    own_words: int = 0
    first_try: int = 0
    per_point: dict[str, list[int]] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)


@dataclass
class EvalReport:
    """Accuracy, coverage, own-words share and latency per category for one mode.

    ``categories`` and ``overall`` rows hold ``questions``, ``accuracy``,
    ``contradicted``, ``prose_states_answer`` and ``coverage`` (the share of teaching
    points the answers state); hybrid and deterministic rows add ``own_words`` (the
    share whose text has the model's own words, verified: source ``local``/``cloud``)
    and ``own_words_first_try`` (the same, with no regeneration).  ``points`` is the
    coverage of each teaching point per category.  ``latency`` is p50/p95 in ms of
    single requests (every question in deterministic mode; every
    :data:`LATENCY_EVERY`-th, after scoring, on the model paths).
    """

    mode: str
    model: str
    categories: dict[str, dict[str, float]] = field(default_factory=dict)
    overall: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    failures: list[dict[str, Any]] = field(default_factory=list)
    sources: dict[str, int] = field(default_factory=dict)
    points: dict[str, dict[str, float]] = field(default_factory=dict)
    latency: dict[str, Any] = field(default_factory=dict)
    uncovered: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "model": self.model,
            "categories": self.categories,
            "overall": self.overall,
            "sources": self.sources,
            "points": self.points,
            "latency": self.latency,
            "seconds": self.seconds,
            "failures": self.failures[:20],
            "uncovered": self.uncovered[:20],
        }


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _percentiles(ms: Sequence[float]) -> dict[str, float]:
    if not ms:
        return {}
    if len(ms) == 1:
        return {"n": 1, "p50_ms": ms[0], "p95_ms": ms[0]}
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {"n": len(ms), "p50_ms": statistics.median(ms), "p95_ms": cuts[94]}


def _summarise(t: _Tally, mode: str) -> dict[str, float]:
    row = {
        "questions": t.total,
        "accuracy": _share(t.correct, t.total),
        "contradicted": _share(t.contradicted, t.total),
        "prose_states_answer": _share(t.prose, t.total),
        "coverage": _share(t.points_stated, t.points),
    }
    if mode != "raw":
        row["own_words"] = _share(t.own_words, t.total)
        row["own_words_first_try"] = _share(t.first_try, t.total)
    row.update(_percentiles(t.latencies))
    return row


@dataclass
class _Verdict:
    item: Item
    body: str
    correct: bool
    contradicted: bool
    stated: bool
    result: ExplanationResult | None = None
    latency_ms: float | None = None


def _score_raw(group: Sequence[Item], texts: Sequence[str | None]) -> list[_Verdict]:
    out = []
    for q, text in zip(group, texts, strict=True):
        body = text or ""
        contradicted = q.contradicted(body)
        stated_ = bool(body) and q.stated_by(body)
        out.append(_Verdict(q, body, stated_ and not contradicted, contradicted, stated_))
    return out


def _judge(q: Item, r: ExplanationResult | None, ms: float | None = None) -> _Verdict:
    body = (r.explanation if r is not None else None) or ""
    contradicted = q.contradicted(body)
    stated_ = bool(body) and q.stated_by(body)
    holds = q.holds(r) and stated_ if isinstance(q, ConceptItem) else q.data_holds_answer()
    return _Verdict(q, body, holds and not contradicted, contradicted, stated_, r, ms)


def _answer(q: Item, hybrid: Hybrid) -> ExplanationResult | None:
    if isinstance(q, ConceptItem):
        from music_reasoning.sdk.question import explain_question

        return explain_question(q.text, hybrid=hybrid, use_cache=False, level=LESSON_LEVEL)
    return hybrid.explain(q.data, q.facts, use_cache=False, lesson=q.lesson())


def _score_hybrid(group: Sequence[Item], hybrid: Hybrid, *, one_by_one: bool) -> list[_Verdict]:
    if one_by_one:  # no model: each answer is timed on its own
        out = []
        for q in group:
            started = time.perf_counter()
            r = _answer(q, hybrid)
            out.append(_judge(q, r, (time.perf_counter() - started) * 1000))
        return out
    subjects = [q for q in group if isinstance(q, Question)]
    results = hybrid.explain_many(
        [(q.data, q.facts) for q in subjects],
        use_cache=False,
        lessons=[q.lesson() for q in subjects],
    )
    answered: dict[int, ExplanationResult | None] = {
        id(q): r for q, r in zip(subjects, results, strict=True)
    }
    return [
        _judge(q, answered[id(q)] if isinstance(q, Question) else _answer(q, hybrid)) for q in group
    ]


def answer_record(v: _Verdict, mode: str) -> dict[str, Any]:
    """One answer for reading: the question, the verdict, and the model's own words
    apart from the lesson that follows them."""
    r = v.result
    own = None
    if r is not None and r.source in ("local", "cloud") and r.explanation:
        lesson = getattr(r.lesson, "text", "")
        own = r.explanation.removesuffix(lesson).strip() if lesson else r.explanation
    return {
        "mode": mode,
        "category": v.item.category,
        "question": v.item.text,
        "correct": v.correct,
        "contradicted": v.contradicted,
        "source": r.source if r is not None else None,
        "verified": r.verified if r is not None else None,
        "own_words": own,
        "corrections": list(r.corrections) if r is not None else [],
        "answer": v.body,
    }


def _own_words(r: ExplanationResult | None) -> tuple[bool, bool]:
    """Whether the model's own verified words are in the answer, and at the first try."""
    if r is None or r.source not in ("local", "cloud"):
        return False, False
    return True, not any("regenerated" in c for c in r.corrections)


def run_eval(
    questions: Sequence[Item],
    *,
    mode: str,
    hybrid: Hybrid | None = None,
    ask_raw: Callable[[list[str]], list[str | None]] | None = None,
    model: str = "",
    progress: Callable[[int], object] | None = None,
    latency_every: int | None = None,
    on_answer: Callable[[dict[str, Any]], object] | None = None,
) -> EvalReport:
    """Score ``questions`` in ``mode`` (``raw``, ``hybrid`` or ``deterministic``).

    ``ask_raw`` answers plain questions in raw mode (None for a failed item), eight at
    a time; ``hybrid`` answers in the other modes (chords, scales and progressions with
    the teacher's lesson, concepts through :func:`~music_reasoning.sdk.question.
    explain_question`).  In deterministic mode every answer is timed; in the others,
    with ``latency_every=N``, every Nth question is asked again on its own and timed.
    ``on_answer`` receives each answer as a JSON-ready record (:func:`answer_record`).
    """
    if mode == "raw" and ask_raw is None:
        raise ValueError("raw mode needs ask_raw")
    if mode != "raw" and hybrid is None:
        raise ValueError(f"{mode} mode needs a Hybrid")
    started = time.perf_counter()
    tallies: dict[str, _Tally] = defaultdict(_Tally)
    report = EvalReport(mode=mode, model=model)
    for start in range(0, len(questions), 8):
        group = list(questions[start : start + 8])
        if ask_raw is not None and mode == "raw":
            verdicts = _score_raw(group, ask_raw([q.text for q in group]))
        else:
            assert hybrid is not None
            verdicts = _score_hybrid(group, hybrid, one_by_one=mode == "deterministic")
        for v in verdicts:
            _tally(report, tallies, v)
            if on_answer is not None:
                on_answer(answer_record(v, mode))
        if progress:
            progress(len(group))
    report.seconds = time.perf_counter() - started
    if latency_every:
        for q in questions[::latency_every]:
            ms = _time_one(q, mode, hybrid, ask_raw)
            tallies[q.category].latencies.append(ms)
            tallies["all"].latencies.append(ms)
    report.categories = {k: _summarise(v, mode) for k, v in tallies.items() if k != "all"}
    report.overall = _summarise(tallies["all"], mode)
    report.points = {
        k: {p: _share(sum(hits), len(hits)) for p, hits in v.per_point.items()}
        for k, v in tallies.items()
    }
    lat = tallies["all"].latencies
    how = "every question" if mode == "deterministic" else f"every {latency_every}th, alone"
    report.latency = {**_percentiles(lat), "how": how} if lat else {}
    return report


def _tally(report: EvalReport, tallies: dict[str, _Tally], v: _Verdict) -> None:
    q = v.item
    if v.result is not None:
        report.sources[v.result.source] = report.sources.get(v.result.source, 0) + 1
    own, first = _own_words(v.result)
    hits = stated(q.points, v.body) if v.body else {p.name: False for p in q.points}
    for name in (q.category, "all"):
        t = tallies[name]
        t.total += 1
        t.correct += v.correct
        t.contradicted += v.contradicted
        t.prose += v.stated
        t.points += len(hits)
        t.points_stated += sum(hits.values())
        t.own_words += own
        t.first_try += first
        for point, hit in hits.items():
            t.per_point.setdefault(point, []).append(hit)
        if v.latency_ms is not None:
            t.latencies.append(v.latency_ms)
    if not v.correct:
        report.failures.append({"category": q.category, "question": q.text, "answer": v.body})
    missing = [p for p, hit in hits.items() if not hit]
    if missing and report.mode != "raw":
        report.uncovered.append({"category": q.category, "question": q.text, "missing": missing})


def _time_one(
    q: Item,
    mode: str,
    hybrid: Hybrid | None,
    ask_raw: Callable[[list[str]], list[str | None]] | None,
) -> float:
    started = time.perf_counter()
    if mode == "raw" and ask_raw is not None:
        ask_raw([q.text])
    elif hybrid is not None:
        _answer(q, hybrid)
    return (time.perf_counter() - started) * 1000


def raw_asker(model: str | None = None) -> Callable[[list[str]], list[str | None]]:
    """Answer plain questions with the local model alone (few-shot prompt, greedy)."""
    from music_reasoning.engine.runtime import get_engine
    from music_reasoning.params import GenerationParams

    engine = get_engine(model)
    params = GenerationParams(temperature=0.0, max_tokens=120, timeout=engine.settings.timeout)

    def ask(texts: list[str]) -> list[str | None]:
        return [item.text for item in engine.batch(texts, params)]

    return ask


def select_questions(question_set: str = "all", limit: int | None = None) -> list[Item]:
    """The questions of a set (``diagnostic``, ``generated``, ``concepts`` or ``all``)."""
    questions: list[Item] = []
    if question_set in ("diagnostic", "all"):
        questions += diagnostic_questions()
    if question_set in ("generated", "all"):
        questions += generated_questions()
    if question_set in ("concepts", "all"):
        questions += concept_items()
    return questions[:limit] if limit is not None else questions


def evaluate(
    *,
    modes: Sequence[str] = ("raw", "hybrid"),
    question_set: str = "all",
    limit: int | None = None,
    model: str | None = None,
    progress: Callable[[int], object] | None = None,
    on_total: Callable[[int], object] | None = None,
    latency_every: int | None = LATENCY_EVERY,
    on_answer: Callable[[dict[str, Any]], object] | None = None,
) -> list[EvalReport]:
    """Run the chosen question set in each mode (``raw``, ``hybrid``, ``deterministic``).

    ``raw`` and ``hybrid`` use the local model; ``deterministic`` needs none (the
    teacher's lesson, or the concept knowledge base).  ``progress(n)`` is called as
    questions are scored; ``on_total(n)`` once, before the first, with how many there
    are over all modes; ``on_answer(record)`` with every answer (:func:`answer_record`).
    """
    from music_reasoning.sdk.backends import LocalBackend

    questions = select_questions(question_set, limit)
    if on_total:
        on_total(len(questions) * len(modes))
    local = LocalBackend(model) if set(modes) - {"deterministic"} else None
    name = local.model_file().name if local is not None else "none"
    reports = []
    for mode in modes:
        if mode == "raw":
            ask = raw_asker(model)
            reports.append(
                run_eval(
                    questions,
                    mode="raw",
                    ask_raw=ask,
                    model=name,
                    progress=progress,
                    latency_every=latency_every,
                    on_answer=on_answer,
                )
            )
        else:
            deterministic = mode == "deterministic"
            hybrid = Hybrid(
                mode="deterministic" if deterministic else "local-only",
                local=None if deterministic else local,
            )
            reports.append(
                run_eval(
                    questions,
                    mode=mode,
                    hybrid=hybrid,
                    model="none" if deterministic else name,
                    progress=progress,
                    latency_every=None if deterministic else latency_every,
                    on_answer=on_answer,
                )
            )
    return reports
