"""Music endpoints without the model: deterministic explanations and theory facts."""

from __future__ import annotations

import json
import threading

import pytest

from .conftest import MakeClient
from .fake_engine import ScriptedEngine


@pytest.mark.parametrize(
    ("path", "body", "notes"),
    [
        ("/v1/music/chord", {"chord": "G7"}, ["G", "B", "D", "F"]),
        ("/v1/music/chord", {"chord": ["C", "E", "G"]}, ["C", "E", "G"]),
        ("/v1/music/scale", {"root": "D", "type": "dorian"}, ["D", "E", "F", "G", "A", "B", "C"]),
    ],
)
def test_deterministic_explanations_need_no_model(
    make_client: MakeClient, path: str, body: dict[str, object], notes: list[str]
) -> None:
    gate = threading.Event()  # the model never loads in this test
    client = make_client(ScriptedEngine(load_gate=gate), wait=False)
    r = client.post(path, json={**body, "mode": "deterministic", "level": "beginner"})
    gate.set()
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["data"]["notes"] == notes
    assert result["source"] == "deterministic" and result["verified"] is True
    assert result["lesson"] is not None and result["explanation"]


def test_a_progression_is_analysed_in_the_key_given(make_client: MakeClient) -> None:
    r = make_client().post(
        "/v1/music/progression",
        json={"chords": "Dm7 G7 Cmaj7", "key": "C", "mode": "deterministic", "level": "advanced"},
    )
    data = r.json()["data"]
    assert data["key"] == "C major"
    assert [a["roman"] for a in data["analysis"]] == ["ii7", "V7", "Imaj7"]


def test_questions_are_routed_or_refused(make_client: MakeClient) -> None:
    client = make_client()
    chord = client.post(
        "/v1/music/question",
        json={"question": "What notes are in a G7 chord?", "mode": "deterministic"},
    )
    assert chord.status_code == 200 and chord.json()["data"]["symbol"] == "G7"
    none = client.post("/v1/music/question", json={"question": "How are you today?"})
    assert none.status_code == 422
    assert none.json()["error"]["code"] == "INVALID_INPUT"
    assert none.json()["error"]["param"] == "question"


def test_a_concept_is_explained_with_examples_in_the_key(make_client: MakeClient) -> None:
    r = make_client().post(
        "/v1/music/concept", json={"concept": "plagal cadence", "key": "Eb", "level": "beginner"}
    )
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["data"]["id"] == "plagal-cadence"
    assert "Ab" in json.dumps(result["data"]["examples"])  # IV in Eb
    unknown = make_client().post("/v1/music/concept", json={"concept": "zzzz qqqq"})
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "INVALID_INPUT"


def test_theory_lookups(make_client: MakeClient) -> None:
    client = make_client()
    chord = client.get("/v1/theory/chord", params={"chord": "C E G"}).json()
    assert chord["symbol"] == "C" and chord["notes"] == ["C", "E", "G"]
    scale = client.get("/v1/theory/scale", params={"root": "A", "type": "harmonic minor"}).json()
    assert scale["notes"] == ["A", "B", "C", "D", "E", "F", "G#"]
    prog = client.get("/v1/theory/progression", params={"chords": "F,G,C"}).json()
    assert prog["key"] == "C major"
    concepts = client.get("/v1/theory/concepts").json()["concepts"]
    assert "plagal-cadence" in concepts and len(concepts) > 50
    bad = client.get("/v1/theory/chord", params={"chord": "H9"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "INVALID_INPUT"
    missing = client.get("/v1/theory/scale")
    assert missing.status_code == 422 and missing.json()["error"]["param"] == "root"


def test_a_music_request_that_needs_the_model_waits_for_it(make_client: MakeClient) -> None:
    gate = threading.Event()
    client = make_client(ScriptedEngine(load_gate=gate), wait=False)
    r = client.post("/v1/music/chord", json={"chord": "G7", "mode": "local-only"})
    gate.set()
    assert r.status_code == 503 and r.json()["error"]["code"] == "SERVER_BUSY"
