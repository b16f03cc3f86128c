"""The other names of a country, so that a question may name it by any of them.

Members write "America" where an article writes "the United States", "Britain" where it writes
"the UK", "Holland" for the Netherlands. The names come from countryinfo's data on 250
countries: each one's name and its other spellings ("UK", "Great Britain", "United States of
America"). Not its capital: "Washington and Moscow agreed…" names two governments, but "the NATO
summit in Vilnius" a city, and reaching "Lithuania" for it answered a question the articles do
not (their Lithuania is not Vilnius's summit).
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from functools import lru_cache

from .tagging import is_english_word

log = logging.getLogger(__name__)

# Names written in the Latin alphabet: "Белоруссия" and "Zhōngguó" are no names members type.
_FORM_PREFIX = 4  # "Republika" and "Republic"
_LATIN_NAME = re.compile(r"[A-Za-z][A-Za-z .'’-]*")


def other_names(name: str) -> tuple[str, ...]:
    """The other names of the country ``name`` is a name of, as written ("America": "United
    States", "US", "USA", "United States of America"), or () when ``name`` names
    no country, or more than one ("Georgia" is one; "Ireland" is also a word of the UK's full
    name)."""
    countries = _countries_by_name().get(name.casefold(), ())
    if len(countries) != 1:
        return ()
    (names,) = countries
    return tuple(other for other in names if other.casefold() != name.casefold())


@lru_cache(maxsize=1)
def _countries_by_name() -> dict[str, tuple[tuple[str, ...], ...]]:
    """Each name (casefolded) -> the names of each country it names. A country is named by its
    whole names and by a word of one that is no English word and no other country's: "America"
    of "United States of America", "Britain" of "Great Britain", not "States" nor "Kingdom"."""
    countries = [names for names, _ in _countries()]
    # A people is no name of a country: "American" of "American Samoa" is the United States'.
    peoples = {people.casefold() for _, people in _countries() if people}
    named: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for names in countries:
        for whole in names:
            named[whole.casefold()].append(names)
    by_word: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for names in countries:
        words = {word for whole in names for word in whole.split()}
        for word in words:
            if len(word) <= 2 or not word.isalpha() or is_english_word(word) or word.casefold() in peoples:
                continue
            if not _is_a_form_of_another(word, words):
                by_word[word.casefold()].add(names)
    for word, owners in by_word.items():
        if word not in named:
            named[word].extend(owners)
    return {name: tuple(dict.fromkeys(owners)) for name, owners in named.items()}


def _is_a_form_of_another(word: str, words: set[str]) -> bool:
    """A form of another word of the country's names is no name of it on its own: the other
    languages' ("Republika" by "Republic", "Federatsiya" by "Federation") say nothing a member
    types."""
    start = word.casefold()[:_FORM_PREFIX]
    return any(other != word and other.casefold().startswith(start) for other in words)


@lru_cache(maxsize=1)
def _countries() -> tuple[tuple[tuple[str, ...], str], ...]:
    """Each country's names in the Latin alphabet (its name and other spellings), and what its
    people are called ("American")."""
    try:
        from countryinfo import all_countries

        countries = all_countries()
    except Exception as error:  # whatever breaks the data must not break answers
        log.warning("Answering without countries' other names (countryinfo could not be read: %s)", error)
        return ()
    found = []
    for country in countries:
        written = [country.name(), *(country.alt_spellings() or ())]
        names = tuple(dict.fromkeys(name.strip() for name in written if _LATIN_NAME.fullmatch(name.strip())))
        if names:
            found.append((names, country.demonym() or ""))
    return tuple(found)


def warm_up() -> None:
    """Read the countries' names now (about 0.1 s), not on the first question naming one."""
    _countries_by_name()
