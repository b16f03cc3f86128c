"""One analyzer for passages and questions: words → searchable terms.

Lowercase, Unicode-aware words; numbers and codes stay searchable ("400,000" → ``400000``,
"F-35" → ``f35``, "BMP-1" → ``bmp1``, with their parts; "$" → ``dollar``); English stopwords out; Snowball
stemming (PyStemmer). The same function must analyse both sides, or nothing matches.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import Sequence

import Stemmer
from bm25s.stopwords import STOPWORDS_EN_PLUS

from .columns import Memo

# NLTK's English list (shipped by bm25s): question words ("what", "who", "how") are in it,
# content words that other lists drop ("new", "billion", "fire", "general") are not.
# NLTK's list has "should" and "can" but not their siblings, nor "many" and "much": the "how
# many / how much" of a question asks for a number, and the answer rarely says "many" ("killing
# 2 people"), so matching it only lends weight to passages about something else.
# NLTK also lists the pieces of contractions split at the apostrophe ("won" of "won't", "don" of
# "don't"); this analyzer keeps "won't" whole, so a lone "won" is the verb ("Who won the
# election?") and "Don" a river or a name.
STOPWORDS = (frozenset(STOPWORDS_EN_PLUS) - {"won", "don"}) | {"would", "could", "might", "must", "shall", "many", "much"}

# Numbers with thousands separators or decimals, initialisms written with full stops ("U.S.",
# "U.N."), then words (Unicode \w) joined by hyphens or apostrophes, so "F-35", "BMP-1",
# "S-300", "don't" and "Zelensky's" come out whole. Split at its stops, "U.S." was two single
# letters and no term: news writes it so (Reuters 9,604 times), members type "US".
# Python's \w leaves out combining marks, which are part of words in Hindi, Arabic, Hebrew, Thai
# and accented Latin written in decomposed form; they are added back here.
_MARKS = "\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0900-\u0963\u0966-\u0dff\u0e31-\u0e3a\u0e47-\u0e4e\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_WORD = rf"[\w{_MARKS}]+"


def _currency_words() -> dict[str, str]:
    """Each currency sign (Unicode category Sc) → the word its Unicode name gives it: "$" →
    "dollar", "£" → "pound", "€" → "euro", "₴" → "hryvnia". News writes "$40 billion" where
    members ask "how many dollars", and the other way round."""
    words: dict[str, str] = {}
    # Planes 0 and 1 only (15 ms, not 100): the others hold ideographs, tags and private use.
    for code in range(_PLANES_WITH_SYMBOLS):
        sign = chr(code)
        if unicodedata.category(sign) == "Sc":
            name = [part for part in re.split(r"[ -]", unicodedata.name(sign, "")) if part not in _NOT_THE_CURRENCY]
            if name:
                words[sign] = name[-1].lower()
    return words


# What a currency sign's name says besides the currency ("FULLWIDTH DOLLAR SIGN", "THAI
# CURRENCY SYMBOL BAHT", "BENGALI RUPEE MARK").
_NOT_THE_CURRENCY = {"SIGN", "SYMBOL", "MARK", "CURRENCY"}
_PLANES_WITH_SYMBOLS = 0x20000
_CURRENCY_WORDS = _currency_words()
CURRENCY_NAMES = frozenset(_CURRENCY_WORDS.values())
_CURRENCY = "".join(map(re.escape, _CURRENCY_WORDS))
_NUMBER = r"\d+(?:[.,]\d+)*"
_AMOUNT = re.compile(_NUMBER)
_INITIALISM = rf"(?:[^\W\d_]\.)+[^\W\d_](?![\w{_MARKS}])\.?"
# A hyphen may join a word to an initialism ("Russia-U.S. talks"): split there, "U.S." came
# out as a stray "russiau" and a lone "s".
_TOKEN = re.compile(rf"{_NUMBER}(?![\w{_MARKS}])|{_INITIALISM}|{_WORD}(?:[-'’](?:{_INITIALISM}|{_WORD}))*|[{_CURRENCY}]")
_HAS_DIGIT = re.compile(r"\d")
_THOUSANDS = re.compile(r"^\d{1,3}(?:,\d{3})+$")
# The endings of English contractions, and the host words "n't" changes ("can't" is "ca" + "n't"
# as the Penn Treebank splits it).
_CLITICS = ("n't", "'re", "'ve", "'ll", "'d", "'m")
_NEGATED_HOSTS = {"ca": "can", "wo": "will", "sha": "shall"}


# A possessive's ending: "Zelensky's" names Zelensky.
POSSESSIVE = re.compile(r"['’]s\Z")

# Bump when the analyzer's output changes, so cached indexes built by the old one are not used.
ANALYZER_VERSION = 4
_MAX_CHUNK_MEMO = 1 << 20


def highlight_end(text: str, start: int, end: int) -> int:
    """Where the highlight of the word at ``text[start:end]`` ends: a currency sign's takes in
    the amount written right after it ("**$53** million", not a bold "$" before "53")."""
    amount = _AMOUNT.match(text, end) if text[start:end] in _CURRENCY_WORDS else None
    return amount.end() if amount else end


def word_parts(word: str) -> list[str]:
    """The parts of a word joined by hyphens or apostrophes ("long-range" → "long", "range")."""
    return [part for part in re.split(r"[-']", word) if part]


@dataclass(frozen=True)
class Token:
    """A term found in a text, with the span of the word it came from (for highlighting)."""

    term: str
    start: int
    end: int


class Analyzer:
    def __init__(self, *, stem: bool = True, stopwords: frozenset[str] | None = STOPWORDS) -> None:
        self.stem = stem
        self.stopwords = stopwords or frozenset()
        self._stemmer = Stemmer.Stemmer("english") if stem else None
        if self._stemmer is not None:
            # PyStemmer's own cache (10,000 words) thrashes on a corpus vocabulary and makes each
            # new word 2-3x slower to stem; every word's terms are kept anyway (the memos below
            # for questions, the build's per-process word tables for passages).
            self._stemmer.maxCacheSize = 0
        # Per-word memo: real text repeats a small vocabulary, so this makes analysis cheap.
        self._terms_of_word = lru_cache(maxsize=1 << 20)(self._analyze_word)
        # Per-chunk memo (a chunk is what ``str.split()`` returns: a word with its punctuation).
        # No term spans whitespace, so a text's terms are its chunks' terms in order; looking
        # chunks up in a dict keeps the regex off all but new chunks (3x faster on passages).
        self._terms_of_chunk: Memo[tuple[str, ...]] = Memo(self._analyze_chunk)

    @property
    def fingerprint(self) -> str:
        """What decides this analyzer's output, for keys of cached indexes."""
        stopwords = hashlib.blake2b("\n".join(sorted(self.stopwords)).encode("utf-8"), digest_size=8).hexdigest()
        return f"stem={self.stem};stopwords={stopwords};version={ANALYZER_VERSION}"

    def memo_entries(self) -> int:
        """Words and chunks memoised so far (questions' included)."""
        return self._terms_of_word.cache_info().currsize + len(self._terms_of_chunk)

    def clear_memos(self) -> None:
        """Forget the memoised words and chunks (they are only caches)."""
        self._terms_of_word.cache_clear()
        self._terms_of_chunk.clear()

    def analyze(self, text: str) -> list[str]:
        memo = self._terms_of_chunk
        if len(memo) > _MAX_CHUNK_MEMO:
            memo.clear()
        return list(chain.from_iterable(map(memo.__getitem__, text.split())))

    def chunk_terms(self, chunk: str) -> tuple[str, ...]:
        """The terms of one whitespace-free chunk of text (not memoised here)."""
        if chunk.isascii() and chunk.isalpha():
            # Most chunks are plain ASCII words: one word for _TOKEN, which folding only
            # lowercases, with no digits, hyphen or "'s"; so straight to its plain terms.
            return self._plain_terms(chunk.lower())
        return tuple(term for word in _TOKEN.findall(chunk) for term in self._terms_of_word(word))

    _analyze_chunk = chunk_terms

    def chunks_terms(self, chunks: Sequence[str]) -> list[tuple[str, ...]]:
        """``chunk_terms`` of each chunk, with the plain ASCII words stemmed in one call (a
        corpus brings tens of thousands of new words, and most are plain)."""
        found: list[tuple[str, ...]] = [()] * len(chunks)
        plain_at: list[int] = []
        plain: list[str] = []
        stopwords = self.stopwords
        for at, chunk in enumerate(chunks):
            if chunk.isascii() and chunk.isalpha():
                word = chunk.lower()  # what _plain_terms would get: no digits, nothing to fold
                if len(word) > 1 and word not in stopwords:
                    plain_at.append(at)
                    plain.append(word)
            else:
                found[at] = self.chunk_terms(chunk)
        stems = self._stemmer.stemWords(plain) if self._stemmer is not None else plain
        for at, stem in zip(plain_at, stems):
            found[at] = (stem,)
        return found

    def tokens(self, text: str) -> list[Token]:
        """Terms with the character span of the word that produced them."""
        found: list[Token] = []
        for match in _TOKEN.finditer(text):
            for term in self._terms_of_word(match.group()):
                found.append(Token(term, match.start(), match.end()))
        return found

    def _analyze_word(self, word: str) -> tuple[str, ...]:
        currency = _CURRENCY_WORDS.get(word)
        if currency is not None:
            return self._plain_terms(currency)
        word = fold_word(word)
        if word[0].isdigit():
            return (normalize_number(word),)
        if word.endswith("'s"):
            word = word[:-2]
        if "." in word and "-" not in word:  # an initialism: "u.s." and "u.s" are "us"
            return self._plain_terms(word.replace(".", ""))
        if self._is_stopword_contraction(word):
            return ()
        if "-" not in word:
            return self._plain_terms(word)
        parts = [part.replace(".", "") for part in word_parts(word)]  # "russia-u.s.": "russia", "us"
        # The joined form plus the parts, so "F35", "F-35" and "F 35" all meet, and so do
        # "re-election" and "reelection".
        joined = "".join(parts)
        terms = [joined] if _HAS_DIGIT.search(word) else list(self._plain_terms(joined))
        for part in parts:
            terms.extend(term for term in self._plain_terms(part) if term not in terms)
        return tuple(terms)

    def _is_stopword_contraction(self, word: str) -> bool:
        """"can't", "he'd", "they're", "we've", "I'm": stopwords run together. NLTK's list has
        some ("don't", "won't", "you're") but not these, which were kept whole as rare terms; a
        question's "can't" then counted as a word the corpus lacks (it writes "cannot")."""
        for clitic in _CLITICS:
            if word.endswith(clitic):
                host = word[: -len(clitic)]
                if clitic == "n't":
                    host = _NEGATED_HOSTS.get(host, host)
                return host in self.stopwords
        return False

    def _plain_terms(self, word: str) -> tuple[str, ...]:
        if not word or word in self.stopwords:
            return ()
        if len(word) == 1 and not word.isdigit():
            return ()
        if _HAS_DIGIT.search(word) or self._stemmer is None:
            return (word,)
        return (self._stemmer.stemWord(word),)


def fold_word(word: str) -> str:
    """Casefold and drop accents from Latin letters ("Kyïv" → "kyiv"); other scripts untouched."""
    word = word.replace("’", "'").casefold()
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFKD", word)
    kept: list[str] = []
    for char in decomposed:
        # A combining mark after a Latin letter is an accent; after other scripts it is a vowel
        # sign or similar and part of the letter, so it stays.
        if unicodedata.combining(char) and kept and kept[-1].isascii():
            continue
        kept.append(char)
    # Compatibility forms ("𝓐", "ﬁ") only fold to their plain letters here, so fold case again.
    return unicodedata.normalize("NFC", "".join(kept)).casefold()


def normalize_number(word: str) -> str:
    """"400,000" → "400000"; decimals keep their point ("3.5")."""
    if _THOUSANDS.match(word):
        return word.replace(",", "")
    return word.replace(",", ".")
