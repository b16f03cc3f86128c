"""How a member types a question does not change its answer: every question of the seven
question files opened with a greeting or a request, with its spaces doubled or thanks after it
is answered (or refused) as typed plainly, and shouted in capitals as typed in lowercase. A
slip of the keyboard in one long word changes few answers."""

from __future__ import annotations

import random
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


def _slipped(question: str, slip: str, rng: random.Random) -> str:
    """The question with one slip of the keyboard inside one of its words of 6+ letters."""
    words = question.split()
    long_words = [index for index, word in enumerate(words) if len(word) >= 6 and word.isascii() and word.isalpha()]
    if not long_words:
        return question
    index = rng.choice(long_words)
    word, cut = words[index], rng.randrange(1, len(words[index]) - 1)
    if slip == "swapped":
        word = word[:cut] + word[cut + 1] + word[cut] + word[cut + 2 :]
    elif slip == "left out":
        word = word[:cut] + word[cut + 1 :]
    elif slip == "doubled":
        word = word[:cut] + word[cut] + word[cut:]
    else:  # the key to the right on the keyboard
        keys = "qwertyuiopasdfghjklzxcvbnm"
        word = word[:cut] + keys[(keys.index(word[cut].lower()) + 1) % len(keys)] + word[cut + 1 :]
    words[index] = word
    return " ".join(words)


# Of the 475 questions (415 before the eighteenth session's file), how many get another first
# quote (or a refusal instead of one, or the other way round) with the slip: what the sixteenth session measured, slips drawn with seed 1
# (at the fifteenth's start: 20, 30, 18 and 25; at its end 9, 20, 12, 19). Those left are mostly
# names a slip takes further than a spelling ("mliley", "zeensky"), typos one slip from two
# words ("poand": "Poland", "pound"), and near ties. "will *russa* take kiev eventually?" is
# one more left out: a slip of a name reaches its spellings but not its other forms
# ("russian"), through which the question as typed is answered. In the seventeenth session,
# "*roughly* what dollar value of arms has the alliance handed to ukraine so far", answered
# since "$" is "dollar", wins a near tie (7.65 against 7.28) that a slip of "roughly", read at
# 0.8, loses whichever the slip (one more of each), and a misspelt name stopped weighing as
# its rarest spelling ("Rusian" as a stray "russiau"), which had answered `none` questions
# refused as typed right (seven fewer), nor a slip of a verb as the first word of a name ("Who
# *replced* Zaluzhnyi…", eight fewer), a name the stemmer cuts is spelled as typed ("Belaris",
# two fewer), and a passage names a name only by a word the corpus writes as one ("Seden" is
# not named by "sudden", two fewer). In the eighteenth session, 41 of the 415, and 8 of its
# new file's 60. In the nineteenth, 50 of the 475: "Did Washington and Moscow agree to begin
# talks…", refused while its capitals were no countries, is answered (from passages on the
# talks that do not hold its answer), and a slip in "limitation" changes which (three more); a
# slipped country before "capital" is read as the country ("Ukraiian capital"), and its
# answer changes no more (two fewer). In the twentieth, 49: "after leaving kherspn where did the
# russian troops pull back to" is answered as typed right (one fewer).
MOST_CHANGED_BY_A_SLIP = {"swapped": 10, "left out": 18, "doubled": 8, "next key": 13}


@pytest.mark.parametrize("slip", sorted(MOST_CHANGED_BY_A_SLIP))
def test_a_slip_of_the_keyboard_changes_few_answers(engine: Engine, questions: list[str], slip: str):
    rng = random.Random(1)
    changed = [
        question for question in questions if _outcome(engine.ask(_slipped(question, slip, rng))) != _outcome(engine.ask(question))
    ]
    assert len(changed) <= MOST_CHANGED_BY_A_SLIP[slip], changed
