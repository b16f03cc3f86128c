"""The other names of a country, so that a question may name it by any of them.

Members write "America" where an article writes "the United States", "Britain" where it writes
"the UK", "Holland" for the Netherlands. The names come from countryinfo's data on 250
countries: each one's name and its other spellings ("UK", "Great Britain", "United States of
America"), what its people are called and its capital. A capital names its government where
the question does not place something in it ("How has Minsk been helping Moscow…", not "the
NATO summit in Vilnius": the articles' Lithuania is not Vilnius's summit), which the engine
decides; "the Ukrainian capital" is Kyiv.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterable

from rapidfuzz import process
from rapidfuzz.distance import OSA

from .analyzer import POSSESSIVE
from .tagging import is_english_word

log = logging.getLogger(__name__)

# Names written in the Latin alphabet: "Белоруссия" and "Zhōngguó" are no names members type.
_FORM_PREFIX = 4  # "Republika" and "Republic"
MIN_SLIPPED_NAME_LETTERS = 5
_LATIN_NAME = re.compile(r"[A-Za-z][A-Za-z .'’-]*")


@dataclass(frozen=True)
class Country:
    names: tuple[str, ...]  # its name and other spellings, in the Latin alphabet
    people: str  # what its people are called ("American"), or ""
    capital: str  # as countryinfo writes it ("Washington D.C."), or ""
    population: int


def other_names(name: str) -> tuple[str, ...]:
    """The other names of the country ``name`` is a name of, as written ("America": "United
    States", "US", "USA", "United States of America"), or () when ``name`` names
    no country, or more than one ("Georgia" is one; "Ireland" is also a word of the UK's full
    name)."""
    countries = _countries_by_name().get(name.casefold(), ())
    if len(countries) != 1:
        return ()
    (country,) = countries
    return tuple(other for other in country.names if other.casefold() != name.casefold())


@lru_cache(maxsize=4096)  # the same names come back question after question
def capital_of(place: str) -> str | None:
    """The capital of the country ``place`` names, by one of its names or by its people
    ("Ukraine", "Ukrainian", "Ukraine's": "Kyiv"), as countryinfo writes it; None when
    ``place`` names no country. Of several, the most populous one's: "French" is Paris, not
    Cayenne, and "American" Washington."""
    key = POSSESSIVE.sub("", place).casefold()
    countries = [*_looked_up(_countries_by_name(), key), *_looked_up(_countries_by_people(), key)]
    with_a_capital = [country for country in countries if country.capital]
    if not with_a_capital:
        return None
    return max(with_a_capital, key=lambda country: country.population).capital


@lru_cache(maxsize=4096)
def country_of_capital(name: str) -> tuple[str, ...]:
    """The names of the country whose capital ``name`` is ("Moscow": "Russia", "Russian
    Federation"…; "Washington": "United States"…), or () when it is no capital, or the country's
    own name too ("Singapore")."""
    key = POSSESSIVE.sub("", name).casefold()
    countries = _looked_up(_countries_by_capital(), key)
    if len(countries) != 1 or key in (other.casefold() for other in countries[0].names):
        return ()
    return countries[0].names


def _looked_up(table: dict[str, tuple[Country, ...]], key: str) -> tuple[Country, ...]:
    """``table``'s countries for ``key``, or for the one key a slip of the keyboard away from it
    ("Mscow", "Ukrainain"), in a name long enough to tell."""
    if key in table or len(key) < MIN_SLIPPED_NAME_LETTERS:
        return table.get(key, ())
    close = process.extract(key, table.keys(), scorer=OSA.distance, score_cutoff=1, limit=2)
    return table[close[0][0]] if len(close) == 1 else ()


def _grouped(keys_of: Callable[[Country], Iterable[str]]) -> dict[str, list[Country]]:
    """Each key (casefolded, not empty) -> the countries ``keys_of`` gives it for."""
    grouped: dict[str, list[Country]] = defaultdict(list)
    for country in _countries():
        for key in {key.casefold() for key in keys_of(country)} - {""}:
            grouped[key].append(country)
    return grouped


@lru_cache(maxsize=1)
def _countries_by_capital() -> dict[str, tuple[Country, ...]]:
    def capitals(country: Country) -> tuple[str, str]:
        # "Washington D.C." is "Washington" to members
        return country.capital, " ".join(word for word in country.capital.split() if "." not in word)

    return {name: tuple(countries) for name, countries in _grouped(capitals).items()}


@lru_cache(maxsize=1)
def _countries_by_people() -> dict[str, tuple[Country, ...]]:
    return {people: tuple(countries) for people, countries in _grouped(lambda country: (country.people,)).items()}


@lru_cache(maxsize=1)
def _countries_by_name() -> dict[str, tuple[Country, ...]]:
    """Each name (casefolded) -> each country it names. A country is named by its whole names
    and by a word of one that is no English word and no other country's: "America" of "United
    States of America", "Britain" of "Great Britain", not "States" nor "Kingdom"."""
    countries = _countries()
    # A people is no name of a country: "American" of "American Samoa" is the United States'.
    peoples = set(_countries_by_people())
    named = _grouped(lambda country: country.names)
    by_word: dict[str, list[Country]] = defaultdict(list)
    for country in countries:
        words = {word for whole in country.names for word in whole.split()}
        for word in words:
            if len(word) <= 2 or not word.isalpha() or is_english_word(word) or word.casefold() in peoples:
                continue
            if not _is_a_form_of_another(word, words):
                by_word[word.casefold()].append(country)
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
def _countries() -> tuple[Country, ...]:
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
            found.append(Country(names, country.demonym() or "", _capital(country), country.population() or 0))
    return tuple(found)


def _capital(country) -> str:
    capital = country.capital() or ""
    if isinstance(capital, list):  # one country's is a list of one ("Vatican City")
        capital = capital[0] if len(capital) == 1 else ""
    return capital if _LATIN_NAME.fullmatch(capital) else ""


def warm_up() -> None:
    """Read the countries' names now (about 0.1 s), not on the first question naming one."""
    _countries_by_name()
