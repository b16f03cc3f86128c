"""Evaluation: the metric code on a hand-made example, and the seed question set's figures."""

from __future__ import annotations

from bot.answers import Answer, Hit
from bot.evaluation import EvalQuestion, Scores, evaluate, load_questions, rank_of_first_hit
from bot.passages import Passage
from tests.conftest import QUESTIONS


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


def test_scores_by_hand():
    scores = Scores()
    for rank in (1, 2, None, 4):
        scores.add(rank)
    assert scores.as_dict() == {"questions": 4, "hit@1": 0.25, "hit@3": 0.5, "mrr": round((1 + 0.5 + 0.25) / 4, 4)}


def test_question_file_is_well_formed():
    questions = load_questions(QUESTIONS)
    kinds = {q.kind for q in questions}
    assert len(questions) >= 40
    assert kinds == {"fact", "paraphrase", "stem", "variant", "none"}
    for q in questions:
        assert (q.source is None) == (q.kind == "none") == (q.must_contain is None)


def test_seed_question_set_figures(engine):
    """Regression floors at the measured figures (README, "Evaluation"); raise them as they improve."""
    report = evaluate(engine, load_questions(QUESTIONS)).as_dict()
    kinds = report["per_kind"]
    assert kinds["fact"]["hit@1"] == 1.0
    assert kinds["stem"]["hit@3"] >= 0.95
    assert kinds["variant"]["hit@1"] >= 0.85
    assert kinds["none"]["hit@1"] >= 0.8
    assert report["overall"]["hit@1"] >= 0.78
    assert report["overall"]["hit@3"] >= 0.86
