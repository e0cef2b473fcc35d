"""The hybrid decision path with scripted backends (pure logic; real models in integration)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from music_reasoning.config import load_settings
from music_reasoning.errors import InferenceError, InferenceTimeoutError, MusicReasoningError
from music_reasoning.params import GenerationParams
from music_reasoning.sdk.facts import chord_facts, progression_facts
from music_reasoning.sdk.hybrid import Hybrid
from music_reasoning.sdk.tiers import CloudQuota
from music_reasoning.theory import analyze_progression, build_chord

G7 = build_chord("G7")
TRUE = "G7 stacks G, B, D and F."
FALSE = "G7 stacks G, B, D and F#."


class Scripted:
    """Answers from a script: a string, or an exception to raise."""

    def __init__(self, name: str, *answers: str | MusicReasoningError) -> None:
        self.name = name
        self.answers = list(answers)
        self.temperatures: list[float] = []

    def model_id(self) -> str:
        return f"{self.name}-model"

    def generate(self, prompt: str, params: GenerationParams) -> tuple[str, dict[str, Any]]:
        assert prompt.startswith("Facts:")
        self.temperatures.append(params.temperature)
        answer = self.answers.pop(0)
        if isinstance(answer, MusicReasoningError):
            raise answer
        return answer, {"model": self.model_id()}


class DictCache:
    def __init__(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}

    @staticmethod
    def make_key(**parts: Any) -> str:
        return repr(sorted(parts.items()))

    def get(self, key: str) -> dict[str, Any] | None:
        return self.data.get(key)

    def put(self, key: str, value: dict[str, Any]) -> None:
        self.data[key] = value


def hybrid(tmp_path: Path, **kw: Any) -> Hybrid:
    kw.setdefault("tier", "creator")
    kw.setdefault("mode", "auto")
    return Hybrid(settings=load_settings(), quota=CloudQuota(tmp_path / "q.json"), **kw)


def explain(h: Hybrid, **kw: Any) -> Any:
    return h.explain(G7, chord_facts(G7), **kw)


def test_verified_local_answer(tmp_path: Path) -> None:
    local = Scripted("local", TRUE)
    r = explain(hybrid(tmp_path, local=local))
    assert (r.source, r.explanation, r.verified, r.error) == ("local", TRUE, True, None)
    assert r.data is G7 and local.temperatures == [0.3]


def test_contradiction_regenerates_at_zero_then_passes(tmp_path: Path) -> None:
    local = Scripted("local", FALSE, TRUE)
    r = explain(hybrid(tmp_path, local=local))
    assert r.source == "local" and r.explanation == TRUE
    assert local.temperatures == [0.3, 0.0]
    assert "F#" in r.corrections[0] and "regenerated" in r.corrections[0]


def test_persistent_contradiction_is_replaced_by_the_facts(tmp_path: Path) -> None:
    r = explain(hybrid(tmp_path, local=Scripted("local", FALSE, FALSE)))
    assert r.source == "deterministic" and r.verified
    assert r.explanation == chord_facts(G7).sentence
    assert "replaced" in r.corrections[-1]


def test_a_failed_regeneration_still_gives_the_facts_sentence(tmp_path: Path) -> None:
    local = Scripted("local", FALSE, InferenceTimeoutError("slow"), TRUE)
    h = hybrid(tmp_path, local=local, cloud=Scripted("cloud", TRUE), cache=DictCache())
    r = explain(h)
    assert (r.source, r.verified, r.error) == ("deterministic", True, None)
    assert r.explanation == chord_facts(G7).sentence
    assert "regeneration failed [TIMEOUT]" in r.corrections[-1]
    assert explain(h).source == "local"  # not cached: the next call asks the model again


@pytest.mark.parametrize(
    "failure",
    [InferenceTimeoutError("slow"), InferenceError("boom")],
)
def test_auto_mode_falls_back_to_cloud_only_for_listed_codes(
    tmp_path: Path, failure: MusicReasoningError
) -> None:
    cloud = Scripted("cloud", TRUE)
    r = explain(hybrid(tmp_path, local=Scripted("local", failure), cloud=cloud))
    if failure.code == "TIMEOUT":
        assert r.source == "cloud" and r.explanation == TRUE
        assert "local failed: [TIMEOUT]" in r.corrections[0]
    else:
        assert r.source == "deterministic" and r.explanation is None
        assert r.error is not None and r.error.code == "INFERENCE_FAILED"
        assert cloud.temperatures == []


def test_cloud_failure_degrades_to_data(tmp_path: Path) -> None:
    local = Scripted("local", InferenceTimeoutError("slow"))
    cloud = Scripted("cloud", InferenceError("cloud down"))
    r = explain(hybrid(tmp_path, local=local, cloud=cloud))
    assert r.explanation is None and r.data is G7 and r.error is not None
    assert r.error.code == "INFERENCE_FAILED" and len(r.corrections) == 2


def test_free_tier_gets_data_and_a_tier_error(tmp_path: Path) -> None:
    local = Scripted("local", TRUE)
    r = explain(hybrid(tmp_path, tier="free", local=local, cloud=Scripted("cloud", TRUE)))
    assert r.explanation is None and r.error is not None and r.error.code == "TIER_LIMIT"
    assert local.temperatures == []


def test_modes_pick_backends(tmp_path: Path) -> None:
    local, cloud = Scripted("local", TRUE), Scripted("cloud", TRUE)
    assert explain(hybrid(tmp_path, mode="cloud-only", local=local, cloud=cloud)).source == "cloud"
    assert local.temperatures == []
    r = explain(hybrid(tmp_path, mode="cloud-only", local=local))
    assert r.error is not None and r.error.code == "CLOUD_UNAVAILABLE"
    r = explain(hybrid(tmp_path, mode="local-only", local=local, cloud=cloud))
    assert r.source == "local" and cloud.temperatures == [0.3]


def test_cloud_quota_is_per_tier_and_shared(tmp_path: Path) -> None:
    cloud = Scripted("cloud", *([TRUE] * 60))
    h = hybrid(tmp_path, mode="cloud-only", cloud=cloud)
    results = [explain(h, use_cache=False) for _ in range(51)]
    assert [r.source for r in results[:50]] == ["cloud"] * 50
    assert results[50].error is not None and results[50].error.code == "TIER_LIMIT"
    assert CloudQuota(tmp_path / "q.json").used() == 50
    studio = hybrid(tmp_path, tier="studio", mode="cloud-only", cloud=cloud)
    assert explain(studio, use_cache=False).source == "cloud"


def test_known_weakness_is_answered_from_theory(tmp_path: Path) -> None:
    info = analyze_progression(["Fm7", "Bb7", "Cmaj7"])
    local = Scripted("local", "never used")
    h = hybrid(tmp_path, local=local, weaknesses={"backdoor_progression": "accuracy 0"})
    r = h.explain(info, progression_facts(info))
    assert r.source == "deterministic" and r.verified and "backdoor" in r.corrections[0]
    assert local.temperatures == []


def test_cache_hit_skips_the_model_and_use_cache_false_bypasses(tmp_path: Path) -> None:
    local = Scripted("local", TRUE, TRUE)
    h = hybrid(tmp_path, local=local, cache=DictCache())
    assert explain(h).source == "local"
    hit = explain(h)
    assert (hit.source, hit.explanation, hit.verified) == ("cache", TRUE, True)
    assert explain(h, use_cache=False).source == "local"
    assert local.temperatures == [0.3, 0.3]


def test_a_cloud_fallback_answer_is_cached_under_the_cloud_model(tmp_path: Path) -> None:
    local = Scripted("local", InferenceTimeoutError("slow"), TRUE)
    cache = DictCache()
    h = hybrid(tmp_path, local=local, cloud=Scripted("cloud", "G7: G, B, D, F."), cache=cache)
    assert explain(h).source == "cloud"
    assert len(cache.data) == 1 and "cloud-model" in next(iter(cache.data))
    again = explain(h)  # a verified answer, whoever wrote it, is served from the cache
    assert (again.source, again.explanation) == ("cache", "G7: G, B, D, F.")
    assert local.temperatures == [0.3]
    assert explain(h, use_cache=False).source == "local"


def test_telemetry_records_one_event_per_call(tmp_path: Path) -> None:
    events: list[tuple[str, dict[str, Any]]] = []

    class Sink:
        def record(self, event: str, **fields: Any) -> None:
            events.append((event, fields))

    explain(hybrid(tmp_path, local=Scripted("local", TRUE), telemetry=Sink()))
    ((event, fields),) = events
    assert event == "explain.chord" and fields["source"] == "local"
    assert fields["tier"] == "creator" and fields["error_code"] is None


def test_batch_uses_parallel_first_answers(tmp_path: Path) -> None:
    class Batched(Scripted):
        def __init__(self) -> None:
            super().__init__("local", FALSE.replace("G7", "C"))
            self.batches: list[int] = []

        def generate_many(self, prompts: list[str], params: GenerationParams) -> list[Any]:
            self.batches.append(len(prompts))
            return [(TRUE, {}), (FALSE, {}), InferenceError("seq failed")]

    local = Batched()
    local.answers = [TRUE, TRUE]  # regeneration of item 1, retry of item 2
    h = hybrid(tmp_path, local=local)
    items = [(G7, chord_facts(G7))] * 3
    results = h.explain_many(items)
    assert local.batches == [3]
    assert [r.source for r in results[:2]] == ["local", "local"]
    assert "regenerated" in results[1].corrections[0]
    assert results[2].error is not None and results[2].error.code == "INFERENCE_FAILED"


def test_bad_tier_or_mode_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(MusicReasoningError) as exc:
        hybrid(tmp_path, tier="gold")
    assert exc.value.code == "INVALID_INPUT"
    with pytest.raises(MusicReasoningError):
        hybrid(tmp_path, mode="sometimes")
    with pytest.raises(MusicReasoningError) as exc:
        Hybrid(settings=load_settings(timeout=0.0), quota=CloudQuota(tmp_path / "q.json"))
    assert exc.value.code == "INVALID_INPUT" and "timeout" in exc.value.message


def test_a_missing_model_never_raises_from_the_cache_key(tmp_path: Path) -> None:
    class Missing(Scripted):
        def model_id(self) -> str:
            raise InferenceError("no model file")

    local = Missing("local", InferenceTimeoutError("no model"))
    r = explain(hybrid(tmp_path, local=local, cache=DictCache()))
    assert r.explanation is None and r.error is not None and r.error.code == "TIMEOUT"


def test_any_backend_exception_becomes_an_error_not_a_raise(tmp_path: Path) -> None:
    class Broken(Scripted):
        def generate(self, prompt: str, params: GenerationParams) -> tuple[str, dict[str, Any]]:
            raise RuntimeError("socket exploded")

    r = explain(hybrid(tmp_path, local=Broken("local")))
    assert r.explanation is None and r.error is not None
    assert r.error.code == "INFERENCE_FAILED" and "socket exploded" in r.error.message


# -- the teacher's lesson ---------------------------------------------------------------


def test_verified_model_words_come_first_then_the_lesson(tmp_path: Path) -> None:
    from music_reasoning.sdk.teacher import teach_chord

    lesson = teach_chord(G7, "intermediate")
    local = Scripted("local", "G7 pulls to C: its B rises to C. " + TRUE)
    r = hybrid(tmp_path, local=local).explain(G7, chord_facts(G7), lesson=lesson)
    assert r.source == "local" and r.verified
    assert r.explanation is not None
    words, _, rest = r.explanation.partition("\n\n")
    assert words.startswith("G7 pulls to C") and rest == lesson.text
    assert r.to_dict()["lesson"]["text"] == lesson.text


def test_the_lesson_replaces_the_facts_sentence_and_stands_in_for_missing_ai(
    tmp_path: Path,
) -> None:
    from music_reasoning.sdk.teacher import teach_chord

    lesson = teach_chord(G7, "beginner")
    wrong = Scripted("local", FALSE, FALSE)
    r = hybrid(tmp_path, local=wrong).explain(G7, chord_facts(G7), lesson=lesson)
    assert (r.source, r.explanation, r.verified) == ("deterministic", lesson.text, True)
    assert "F#" not in r.explanation
    free = hybrid(tmp_path, tier="free", local=Scripted("local"))
    r = free.explain(G7, chord_facts(G7), lesson=lesson)
    assert r.explanation == lesson.text and r.error is not None and r.error.code == "TIER_LIMIT"
    offline = hybrid(tmp_path, mode="deterministic", local=Scripted("local"))
    r = offline.explain(G7, chord_facts(G7), lesson=lesson)
    assert (r.source, r.explanation, r.error) == ("deterministic", lesson.text, None)


def test_a_model_may_repeat_what_the_lesson_computed_but_not_invent(tmp_path: Path) -> None:
    from music_reasoning.sdk.teacher import teach_chord

    lesson = teach_chord(G7, "intermediate")
    said = "G7 is V7 in C major and resolves to C."  # not in the bare facts' lines
    r = hybrid(tmp_path, local=Scripted("local", said)).explain(G7, chord_facts(G7), lesson=lesson)
    assert r.source == "local" and r.explanation is not None and r.explanation.startswith(said)
    lie = "G7 is V7 in F major and resolves to F."
    r = hybrid(tmp_path, local=Scripted("local", lie, lie)).explain(
        G7, chord_facts(G7), lesson=lesson
    )
    assert r.source == "deterministic" and r.explanation == lesson.text
