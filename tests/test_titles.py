"""Who the corpus names by a title: the words after a place, a title's then a name's."""

from __future__ import annotations

import pytest

from bot.tagging import is_english_word
from bot.titles import TitledName, titled_name_after


def is_a_name(word: str) -> bool:
    return not is_english_word(word)


def after(text: str, place: str) -> TitledName | None:
    return titled_name_after(text, text.index(place) + len(place), is_a_name)


@pytest.mark.parametrize(
    "text, place, titled",
    [
        ("Serbian President Vucic said that some countries…", "Serbian", TitledName("President", "Vucic")),
        ("British Prime Minister Johnson took the lead", "British", TitledName("Prime Minister", "Johnson")),
        ("a call with Russian President Vladimir Putin on Friday", "Russian", TitledName("President", "Vladimir Putin")),
        ("US National Security Adviser Sullivan's secret visit", "US", TitledName("National Security Adviser", "Sullivan")),
        ("NATO Secretary General Jens Stoltenberg recently said", "NATO", TitledName("Secretary General", "Jens Stoltenberg")),
        ("talks with Belarusian President Lukashenko. Then…", "Belarusian", TitledName("President", "Lukashenko")),
    ],
)
def test_a_title_and_a_name_after_a_place_are_read(text, place, titled):
    assert after(text, place) == titled


@pytest.mark.parametrize(
    "text, place",
    [
        ("The Russian Foreign Ministry said", "Russian"),  # a title and no name
        ("Russian troops withdrew", "Russian"),  # not capitalised
        ("Ukrainian Zelensky intervened", "Ukrainian"),  # a name and no title
        ("under NATO Article V of the treaty", "NATO"),  # a numeral is no name
        ("said the Ukrainian President. Zelensky then…", "Ukrainian"),  # the sentence ends
    ],
)
def test_words_that_are_not_a_title_then_a_name_name_no_one(text, place):
    assert after(text, place) is None
