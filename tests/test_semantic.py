"""Re-ranking by meaning: WordLlama's embeddings, loaded from its wheel with no network."""

from __future__ import annotations

import dataclasses
import socket

import pytest

from bot import semantic
from bot.answers import Engine

WORRIED = "Why are some NATO members worried about letting Ukraine into the alliance?"
CONCERNED = "concerned that once Ukraine joins NATO"


def test_the_model_loads_from_its_wheel_with_the_network_cut(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    semantic._model.cache_clear()
    try:
        assert semantic._model() is not None
    finally:
        semantic._model.cache_clear()


def test_a_reworded_passage_is_closer_than_one_on_another_subject():
    cosines = semantic.similarities(
        "How many people died?",
        ["Two people were killed and five injured.", "The ministers met in Bucharest to discuss winter aid."],
    )
    assert cosines is not None and cosines.shape == (2,)
    assert cosines[0] > 0.3 > cosines[1]


def test_meaning_lifts_the_passage_worded_otherwise_above_a_close_score(engine: Engine):
    # The question's "giving" and "since the war broke out" are the article's "providing it with
    # military channels" "since the outbreak of the conflict". On the question's words, a passage
    # on a Ukrainian village shelled from Belarus scores a little higher; by meaning, the one on
    # what Belarus provides comes before it.
    question = "What has Belarus been giving Russia since the war broke out?"
    providing, village = "001_ba5d04ac19317d3f.txt:19", "001_ba5d04ac19317d3f.txt:17"

    def order(answer):
        citations = [hit.passage.citation for hit in answer.hits]
        return citations.index(providing), citations.index(village)

    bm25_only = _without_meaning(engine).ask(question)
    answer = engine.ask(question)
    assert "providing it with military channels" in next(h.text for h in answer.hits if h.passage.citation == providing)
    providing_at, village_at = order(bm25_only)
    assert providing_at > village_at
    providing_at, village_at = order(answer)
    assert providing_at < village_at


def test_meaning_reorders_but_never_decides_what_answers(engine: Engine):
    questions = [WORRIED, "Who is the Secretary-General of the United Nations?", "What causes the northern lights?"]
    for question in questions:
        with_meaning = engine.ask(question, top_k=10)
        bm25_only = _without_meaning(engine).ask(question, top_k=10)
        assert {hit.passage.citation for hit in with_meaning.hits} == {hit.passage.citation for hit in bm25_only.hits}
        assert with_meaning.no_match_reason == bm25_only.no_match_reason


def test_scores_stay_in_order_and_only_rise(engine: Engine):
    question = "Why did the United States want Ukraine to negotiate with Russia?"
    # By passage, not citation: a long paragraph is several passages with one line number.
    boosted = {hit.passage: hit.score for hit in engine.ask(question, top_k=10).hits}
    plain = {hit.passage: hit.score for hit in _without_meaning(engine).ask(question, top_k=10).hits}
    scores = list(boosted.values())
    assert len(scores) >= 4 and scores == sorted(scores, reverse=True)
    assert all(boosted[passage] >= plain[passage] for passage in boosted)


def test_more_goes_on_in_the_first_pages_order(engine: Engine):
    question = "Why did the United States want Ukraine to negotiate with Russia?"
    first = engine.ask(question, top_k=3)
    second = engine.ask(question, top_k=3, offset=3)
    assert first.more_available and len(second.hits) == 3
    pages = [(hit.passage, hit.score) for hit in first.hits + second.hits]
    assert pages == [(hit.passage, hit.score) for hit in engine.ask(question, top_k=6).hits]
    assert len({passage for passage, _ in pages}) == 6


def test_a_model_that_fails_to_load_is_logged_not_raised(monkeypatch, caplog):
    import wordllama

    def broken(*args, **kwargs):
        raise RuntimeError("weights file damaged")

    monkeypatch.setattr(wordllama.WordLlama, "load", broken)
    semantic._model.cache_clear()
    try:
        assert semantic.similarities("Who is Stoltenberg?", ["NATO Secretary General Stoltenberg said"]) is None
        assert "Ranking without the semantic model" in caplog.text and "weights file damaged" in caplog.text
    finally:
        semantic._model.cache_clear()


def test_words_close_in_meaning_are_those_above_the_cosine_asked_for():
    words = ("side", "military", "war", "command", "soldiers")
    assert semantic.close_words("army", words, 0.45) == ("military", "soldiers")
    assert semantic.close_words("army", words, 0.7) == ("military",)
    # Remembered embeddings give the same cosines as embedding the words with the question.
    direct = semantic.similarities("army", list(words))
    assert semantic.close_words("army", words, 0.45) == tuple(w for w, c in zip(words, direct) if c >= 0.45)
    assert semantic.close_words("army", (), 0.45) == ()


def test_without_the_model_no_word_is_close_to_another(monkeypatch):
    monkeypatch.setattr(semantic, "_model", lambda: None)
    assert semantic.close_words("army", ("military",), 0.45) == ()


def test_without_the_model_answers_are_ranked_by_bm25_alone(engine: Engine, monkeypatch):
    monkeypatch.setattr(semantic, "_model", lambda: None)
    answer = engine.ask(WORRIED)
    bm25_only = _without_meaning(engine).ask(WORRIED)
    assert [(h.passage.citation, h.score) for h in answer.hits] == [(h.passage.citation, h.score) for h in bm25_only.hits]


@pytest.mark.parametrize("question", [WORRIED, "How many F-35 pilots will the US send to Britain?"])
def test_benchmark_rankings_are_re_ranked_like_answers(engine: Engine, question):
    # `ranked` (BEIR, benchmarks) scores as `ask` does, without the no-match rules.
    first_answer = engine.ask(question).hits[0]
    position, score = engine.ranked(question, 20)[0]
    assert engine.index.passages[position].citation == first_answer.passage.citation
    assert score == pytest.approx(first_answer.score)


def _without_meaning(engine: Engine) -> Engine:
    return dataclasses.replace(engine, options=dataclasses.replace(engine.options, semantic_weight=0.0))


def test_the_weight_is_a_setting(monkeypatch):
    from bot.config import SettingsError, load_engine_settings

    monkeypatch.setenv("SEMANTIC_WEIGHT", "0")
    assert load_engine_settings().semantic_weight == 0.0
    monkeypatch.setenv("SEMANTIC_WEIGHT", "lots")
    with pytest.raises(SettingsError, match="SEMANTIC_WEIGHT"):
        load_engine_settings()
    monkeypatch.delenv("SEMANTIC_WEIGHT")
    assert load_engine_settings().semantic_weight == 0.5
