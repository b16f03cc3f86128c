"""How a member types a question does not change its answer: every question of the seven
question files opened with a greeting or a request, with its spaces doubled or thanks after it
is answered (or refused) as typed plainly, and shouted in capitals as typed in lowercase."""

from __future__ import annotations

from typing import Callable

import pytest

from bot.answers import Answer, Engine
from bot.evaluation import load_questions
from tests.conftest import ALL_QUESTION_FILES


def _lowered_first(question: str) -> str:
    return question[:1].lower() + question[1:]


# How a member may type a question, and how it reads the same: (retyped, plain).
RETYPINGS: dict[str, tuple[Callable[[str], str], Callable[[str], str]]] = {
    "shouted": (str.upper, str.lower),
    "greeted": (lambda question: "hey bot, " + _lowered_first(question), str),
    "requested": (lambda question: "Can you tell me " + _lowered_first(question), str),
    "spaced": (lambda question: "  " + question.replace(" ", "  ") + "\n", str),
    "thanked": (lambda question: question + " thanks!", str),
}


def _outcome(answer: Answer) -> str:
    """What a member sees first: the first passage quoted, or that nothing answers. (The words
    around the question, "hey bot" or "thanks", may reorder the quotes after it by meaning.)"""
    return answer.hits[0].passage.citation if answer.hits else "refused"


@pytest.fixture(scope="module")
def questions() -> list[str]:
    return [question.question for path in ALL_QUESTION_FILES for question in load_questions(path)]


@pytest.mark.parametrize("retyping", sorted(RETYPINGS))
def test_a_question_retyped_is_answered_as_typed_plainly(engine: Engine, questions: list[str], retyping: str):
    retype, plain = RETYPINGS[retyping]
    changed = [
        question
        for question in questions
        if _outcome(engine.ask(retype(question))) != _outcome(engine.ask(plain(question)))
    ]
    assert len(questions) >= 400
    assert changed == []
