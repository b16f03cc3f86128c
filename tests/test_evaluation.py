"""Evaluation: the metric code on a hand-made example, the naive reference, and the figures on the
two seed question sets."""

from __future__ import annotations

import pytest

from bot.answers import Answer, Hit
from bot.evaluation import (
    EvalQuestion,
    NaiveBm25,
    Scores,
    evaluate,
    evaluate_naive,
    fold,
    load_questions,
    rank_of_first_hit,
    unknown_sources,
)
from bot.passages import Passage
from tests.conftest import (
    BLIND2_QUESTIONS,
    BLIND_QUESTIONS,
    CHAT_QUESTIONS,
    FRESH_QUESTIONS,
    LITERAL_QUESTIONS,
    NEAR_TOPIC_QUESTIONS,
    PLAIN_QUESTIONS,
    QUESTIONS,
    SEEDS,
)


def answer_with(*hits: tuple[str, str]) -> Answer:
    return Answer(
        "q",
        tuple(Hit(Passage(source, 1, 1, text), 1.0, 1.0, 1.0, (), (0, len(text))) for source, text in hits),
        0.1,
    )


def test_a_hit_needs_the_right_file_and_the_phrase_folded():
    question = EvalQuestion("q", "a.txt", "Forty  Billion", "fact")
    assert rank_of_first_hit(question, answer_with(("b.txt", "forty billion"), ("a.txt", "about forty\nbillion"))) == 2
    assert rank_of_first_hit(question, answer_with(("a.txt", "forty"))) is None
    none = EvalQuestion("q", None, None, "none")
    assert rank_of_first_hit(none, answer_with()) == 1
    assert rank_of_first_hit(none, answer_with(("a.txt", "x"))) is None


def test_a_phrase_copied_from_the_raw_file_matches_the_cleaned_passage():
    # The seed headline of 002 says "Ukraine’s" and "“surrender”"; the corpus is cleaned to
    # plain quotes, and a question file written from the raw article must still score.
    question = EvalQuestion("q", "002.txt", "Ukraine’s senior officials", "fact")
    assert rank_of_first_hit(question, answer_with(("002.txt", "Ukraine's senior officials disagreed"))) == 1
    assert fold("asked to “surrender”\u00a0now") == 'asked to "surrender" now'


def test_question_files_from_other_editors_load(tmp_path):
    path = tmp_path / "questions.jsonl"
    lines = [
        '{"question": "Who?", "source": ".\\\\news\\\\a.txt", "must_contain": "x", "kind": "fact"}',
        "",
        '{"question": "Why?", "source": "./b.txt", "must_contain": "y"}',
        '{"question": "When?", "source": null, "must_contain": null, "kind": "none", "id": 3}',
        '{"question": "How many?", "source": "b.txt", "must_contain": 48, "kind": "fact"}',
    ]
    path.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")  # with a byte-order mark
    questions = load_questions(path)
    assert [(q.source, q.kind) for q in questions] == [("news/a.txt", "fact"), ("b.txt", "unknown"), (None, "none"), ("b.txt", "fact")]
    assert questions[-1].must_contain == "48"  # a number written bare is the phrase "48"
    assert unknown_sources(questions, ["b.txt", "news/c.txt"]) == ["news/a.txt"]


def test_scores_by_hand():
    scores = Scores()
    for rank in (1, 2, None, 4):
        scores.add(rank)
    assert scores.as_dict() == {"questions": 4, "hit@1": 0.25, "hit@3": 0.5, "mrr": round((1 + 0.5 + 0.25) / 4, 6)}


def test_figures_printed_to_three_places_are_rounded_once():
    scores = Scores()
    for rank in [1] * 68 + [None] * 16:
        scores.add(rank)
    assert f"{scores.as_dict()['hit@1']:.3f}" == "0.810"  # 68/84, not 0.8095 rounded again


@pytest.mark.parametrize(
    "path",
    [QUESTIONS, BLIND_QUESTIONS, LITERAL_QUESTIONS, FRESH_QUESTIONS, PLAIN_QUESTIONS, CHAT_QUESTIONS, BLIND2_QUESTIONS],
    ids=["ours", "blind", "literal", "fresh", "plain", "chat", "blind2"],
)
def test_question_files_are_well_formed(path):
    questions = load_questions(path)
    kinds = {q.kind for q in questions}
    assert len(questions) >= 40
    assert kinds == {"fact", "paraphrase", "stem", "variant", "none"}
    for q in questions:
        assert (q.source is None) == (q.kind == "none") == (q.must_contain is None)
        if q.source is not None:  # the phrase is in the article (so a right answer can hold it)
            assert fold(q.must_contain) in fold((SEEDS / q.source).read_text(encoding="utf-8"))


def test_seed_question_set_figures(engine):
    """Regression floors at the measured figures (README, "Evaluation"); raise them as they improve."""
    report = evaluate(engine, load_questions(QUESTIONS)).as_dict()
    kinds = report["per_kind"]
    assert kinds["fact"]["hit@1"] == 1.0
    assert kinds["stem"]["hit@3"] >= 0.93
    assert kinds["variant"]["hit@1"] >= 0.88
    assert kinds["none"]["hit@1"] == 1.0
    # The issue's targets: hit@1 0.90, hit@3 0.97 (README, "Evaluation").
    assert report["overall"]["hit@1"] >= 0.92  # 78 of 84
    assert report["overall"]["hit@3"] >= 0.97  # 82 of 84


def test_blind_question_set_figures(engine):
    """Floors at the measured figures on the questions written without seeing the engine."""
    report = evaluate(engine, load_questions(BLIND_QUESTIONS)).as_dict()
    assert report["overall"]["hit@1"] >= 0.88
    assert report["per_kind"]["fact"]["hit@1"] == 1.0
    assert report["overall"]["hit@3"] >= 0.9
    assert report["per_kind"]["variant"]["hit@1"] >= 0.75
    assert report["per_kind"]["none"]["hit@1"] == 1.0


def test_literal_question_set_figures(engine):
    """Floors at the measured figures on the blind questions that reuse the articles' words."""
    report = evaluate(engine, load_questions(LITERAL_QUESTIONS)).as_dict()
    kinds = report["per_kind"]
    assert report["overall"]["hit@1"] >= 0.92
    assert report["overall"]["hit@3"] >= 0.95
    assert kinds["fact"]["hit@1"] == kinds["stem"]["hit@3"] == kinds["variant"]["hit@1"] == 1.0
    # Near-topic questions the articles do not answer are the weak spot: "Who is the
    # Secretary-General of the United Nations?" is answered with NATO's (README, "Evaluation").
    assert kinds["none"]["hit@1"] >= 0.91


def test_fresh_question_set_figures(engine):
    """Floors at the measured figures on the blind questions with the most paraphrases."""
    report = evaluate(engine, load_questions(FRESH_QUESTIONS)).as_dict()
    kinds = report["per_kind"]
    assert report["overall"]["hit@1"] >= 0.77
    assert report["overall"]["hit@3"] >= 0.81
    assert kinds["fact"]["hit@1"] == kinds["stem"]["hit@3"] == 1.0
    assert kinds["none"]["hit@1"] == 1.0
    # Paraphrases in other words than the articles' are refused more often than not: most share
    # too little with the passage that answers them (README, "Evaluation").
    assert kinds["paraphrase"]["hit@3"] >= 0.25


def test_plain_question_set_figures(engine):
    """Floors at the measured figures on the blind questions in a reader's plain words."""
    report = evaluate(engine, load_questions(PLAIN_QUESTIONS)).as_dict()
    kinds = report["per_kind"]
    assert report["overall"]["hit@1"] >= 0.9
    assert report["overall"]["hit@3"] >= 0.94
    assert kinds["fact"]["hit@1"] == kinds["variant"]["hit@1"] == 1.0
    # "What is the new minimum conscription age in Ukraine?" is answered from the passage on
    # Ukraine's call-up of 400,000 soldiers: the corpus has every word of it but "minimum".
    assert kinds["none"]["hit@1"] >= 0.91


def test_chat_question_set_figures(engine):
    """Floors at the measured figures on the blind questions typed as in chat."""
    report = evaluate(engine, load_questions(CHAT_QUESTIONS)).as_dict()
    kinds = report["per_kind"]
    assert report["overall"]["hit@1"] >= 0.83
    assert report["overall"]["hit@3"] >= 0.85
    assert kinds["fact"]["hit@1"] == kinds["stem"]["hit@1"] == kinds["variant"]["hit@1"] == 1.0
    # Typed in lowercase, "when did finland officially become a NATO member" and "…the battle for
    # bakhmut" are refused as they are with capitals.
    assert kinds["none"]["hit@1"] == 1.0
    # Its paraphrases share almost no word with their answers: most are refused (README).
    assert kinds["paraphrase"]["hit@3"] >= 0.16


def test_second_blind_question_set_figures(engine):
    """Floors at the measured figures on the eighteenth session's blind file (0.800 / 0.833 then;
    "How has Minsk been helping Moscow…" answered first since capitals name their countries)."""
    report = evaluate(engine, load_questions(BLIND2_QUESTIONS)).as_dict()
    kinds = report["per_kind"]
    assert report["overall"]["hit@1"] >= 0.81
    assert report["overall"]["hit@3"] >= 0.85
    assert kinds["fact"]["hit@1"] == kinds["variant"]["hit@1"] == 1.0
    # "on what date did russia start the full-scale invasion" is answered from a passage on the
    # war's start (README, "Evaluation").
    assert kinds["none"]["hit@1"] >= 0.91


def test_near_topic_questions_the_articles_do_not_answer_are_refused(engine):
    """Floor at the measured figure: 19 of 21 refused. Two are answered from passages holding
    most of their weight: "Who is Russia's defense minister?" from NATO's meeting of defense
    ministers (all but Russia), "Who commands the Russian forces in Ukraine?" from Ryabkov's
    warning (all but "commands")."""
    questions = load_questions(NEAR_TOPIC_QUESTIONS)
    assert {q.kind for q in questions} == {"none"}
    refused = sum(not engine.ask(q.question).hits for q in questions)
    assert refused >= 19


def test_the_naive_reference_is_the_issues_baseline():
    # rank-bm25 over raw lines, lowercase split, always three results: never right on a "none"
    # question, and far below the engine (README, "Evaluation").
    report = evaluate_naive(NaiveBm25.from_folder(SEEDS), load_questions(QUESTIONS)).figures()
    assert report["per_kind"]["none"]["hit@3"] == 0.0
    overall = report["overall"]
    assert overall["questions"] == 84
    assert (overall["hit@1"], overall["hit@3"], overall["mrr"]) == pytest.approx((45 / 84, 53 / 84, 0.5794), abs=5e-5)


def test_naive_reference_reads_lines_and_ranks_by_bm25(tmp_path):
    (tmp_path / "a.txt").write_text("Kyiv is the capital of Ukraine.\n\nParis is in France.\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("Tanks and howitzers.\n", encoding="utf-8")
    naive = NaiveBm25.from_folder(tmp_path)
    assert [text for _, text in naive.lines] == ["Kyiv is the capital of Ukraine.", "Paris is in France.", "Tanks and howitzers."]
    assert naive.top("what is the capital of ukraine", k=1) == [("a.txt", "Kyiv is the capital of Ukraine.")]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert NaiveBm25.from_folder(empty).top("anything") == []
