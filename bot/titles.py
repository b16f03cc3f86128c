"""People the corpus names by their title, so that a question may name them by it.

News introduces a person once with a place and a title ("Serbian President Vucic said…",
"British Prime Minister Johnson took the lead") and by the name alone after that. A member asks
about "the Serbian leader" or "Ukraine's president", words the passages that quote them lack.
The corpus itself says who holds which title: this module reads it there, from the capitalised
words that follow a place, and the engine adds the name to a question that asks by the title.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from .analyzer import POSSESSIVE

# A run of capitalised words right after a place: "| President Vladimir Putin said".
_NEXT_WORD = re.compile(r"[ \t]+([^\W\d_][\w'’-]*)(\.?)")
MAX_TITLED_WORDS = 6
MIN_NAME_LETTERS = 2  # "NATO Article V" names no one


@dataclass(frozen=True)
class TitledName:
    """A person as the corpus names them after a place: ``title`` "Prime Minister", ``name``
    "Johnson"."""

    title: str
    name: str


def titled_name_after(text: str, end: int, is_name_word: Callable[[str], bool]) -> TitledName | None:
    """The title and name written right after ``end`` in ``text`` (where a place's word ends):
    capitalised words, first the title's (everyday English: "Deputy Foreign Minister") then
    the name's ("Ryabkov"). None when the words there are not a title followed by a name
    ("the Russian Foreign Ministry", "Russian troops")."""
    title: list[str] = []
    name: list[str] = []
    at = end
    for _ in range(MAX_TITLED_WORDS):
        found = _NEXT_WORD.match(text, at)
        if found is None or not found.group(1)[0].isupper():
            break
        word = POSSESSIVE.sub("", found.group(1))
        if len(word) >= MIN_NAME_LETTERS and is_name_word(word):
            name.append(word)
        elif name:  # a name ends at the first word that is not one
            break
        else:
            title.append(word)
        at = found.end()
        if found.group(2):  # a full stop ends the sentence, and the run with it
            break
    if not (title and name):
        return None
    return TitledName(" ".join(title), " ".join(name))
