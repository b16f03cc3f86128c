"""The BM25 index over passages, and spelling-variant lookup in its vocabulary.

Scoring is rank-bm25's ``BM25Okapi`` formula on pre-analysed terms, computed over an inverted
index (``bot.postings``) so a question only touches its terms' postings. One deliberate change:
the Lucene IDF ``log(1 + (N - df + 0.5) / (df + 0.5))``. BM25Okapi's own IDF goes to zero or below
for any term in more than half the passages, which on a tiny corpus (one or two articles) makes
every score zero or negative; the Lucene form is always positive and ranks rare terms first
just the same.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
import string
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

import numpy as np
from rank_bm25 import BM25Okapi
from rapidfuzz import process
from rapidfuzz.distance import OSA, Levenshtein

from .analyzer import POSSESSIVE, Analyzer, fold_word
from .passages import Passage, encoding
from .passage_store import PassageStore
from .postings import ForwardIndex, Postings, unseen_idf
from .tagging import is_english_word
from .titles import TitledName, titled_name_after
from .topk import TopK

# Spelling variants: "Zelenskyy"/"Zelensky", "Kyiv"/"Kiev", "Milley"/"Mili". Compared on a
# transliteration-folded key so y/i and doubled letters do not count as differences.
_KEY_FOLDS = (("y", "i"), ("w", "v"), ("kh", "h"), ("zh", "z"), ("ck", "k"), ("ph", "f"))
_DOUBLED = re.compile(r"(.)\1+")
_VOWELS = re.compile(r"[aeiou]")
_MIN_SIMILARITY = 0.75
_MIN_FORM_PREFIX = 5
# ... and the shared start is at least this share of the longer one: "afghan"/"afghanistan"
# and "deliv"/"deliveri" are forms of one word; "photo" is only the start of "photosynthesi", and
# reaching it let "How does photosynthesis work?" be answered from photographers' software.
_MIN_FORM_SHARE = 0.5
_FORM_SIMILARITY = 0.8
_MIN_VARIANT_CHARS = 4
_MAX_VARIANTS = 3
# A typo one slip from several everyday words the corpus has ("afect": "affect", "effect") may
# mean either; more readings would only add noise.
_MAX_CORRECTIONS = 2
# British and American spellings of the same everyday word, as stems: "defence"/"defense",
# "colour"/"color", "organise"/"organize", "analyse"/"analyze", "centre"/"center",
# "programme"/"program", "catalogue"/"catalog".
_REGIONAL_SPELLINGS = (("enc", "ens"), ("our", "or"), ("is", "iz"), ("ys", "yz"), ("tr", "ter"), ("mm", "m"), ("ogu", "og"))
# How the corpus writes a term inside its sentences ("Finland", "NATO"), read from the first few
# passages that hold it, so it costs the same on any corpus. Most of them must agree: news
# capitalises a common word in titles and names ("the Foreign Ministers' meeting").
CAPITALISED = "capitalised"
IN_CAPITALS = "capitals"
_CASE_SAMPLE_PASSAGES = 16
_CASE_AGREEMENT = 0.75
_MAX_CACHED_LOOKUPS = 100_000
_CASE_PREFIX = 3
# Who the corpus names by a title after a place is read from this many of the place's passages
# (commonest first): news names a country's leaders by their titles often.
_TITLE_SAMPLE_PASSAGES = 64
# One word of letters, with a possessive: "Finland", "sullivan's".
WORD_OF_LETTERS = re.compile(r"[^\W\d_]+(?:['’]s)?")
_SENTENCE_ENDS = ".!?:;"
# The word right before another, on the same line ("European| Union").
_WORD_BEFORE = re.compile(r"([^\W\d_]+)[ \t]+$")
_WORD_BEFORE_REACH = 64
_WORD_AFTER = re.compile(r"[ \t]+([^\W\d_]+)\b")

_Key = TypeVar("_Key")
_Value = TypeVar("_Value")


class LuceneIdfBM25(BM25Okapi):
    """rank-bm25's BM25Okapi with an IDF that never goes negative (see the module docstring)."""

    def _calc_idf(self, nd: dict[str, int]) -> None:  # noqa: D401 - rank-bm25's hook
        n = self.corpus_size
        for term, df in nd.items():
            self.idf[term] = math.log(1.0 + (n - df + 0.5) / (df + 0.5))


@dataclass(frozen=True)
class Bm25Params:
    k1: float = 1.2
    b: float = 0.75


@dataclass(frozen=True)
class Variant:
    term: str  # a vocabulary term
    similarity: float  # 1.0 = same spelling key, lower = further apart


def _folded(text: str) -> str:
    for old, new in _KEY_FOLDS:
        text = text.replace(old, new)
    return _DOUBLED.sub(r"\1", text)


@lru_cache(maxsize=1 << 20)  # a reload sees the same vocabulary again
def spelling_key(term: str) -> str:
    return _folded(term)


def spelling_keys(terms: list[str]) -> list[str]:
    """``spelling_key`` of every term of a vocabulary (no fold and no doubled-letter run reaches
    across a newline)."""
    return _line_by_line(terms, _folded, spelling_key)


def _line_by_line(items: list[str], transform: Callable[[str], str], one: Callable[[str], str]) -> list[str]:
    """``one(item)`` for every item, computed as ``transform`` of all of them joined by newlines:
    a few passes over one string instead of calls per item (5x faster over a vocabulary). Only
    for a ``transform`` that never reaches across a newline; item by item when an item holds one."""
    joined = "\n".join(items)
    if not items or joined.count("\n") != len(items) - 1:
        return [one(item) for item in items]
    return transform(joined).split("\n")


def allowed_distance(key: str, known: bool) -> int:
    """Edits allowed between spelling keys. A word the corpus already has is only expanded to
    near-identical spellings ("kyiv" → "kiev"); an unknown one may be further off."""
    if known or len(key) <= 7:
        return 1
    return 2 if len(key) <= 11 else 3


def consonants(key: str) -> str:
    return _VOWELS.sub("", key[1:])


def skeleton(key: str) -> str:
    """The first letter and the consonants: spellings that differ only in vowels share it."""
    return key[0] + consonants(key)


_LATER_VOWEL = re.compile(r"(?<=.)[aeiou]")  # a vowel that does not start its line


def spelling_tables(terms: list[str]) -> tuple[dict[str, list[str]], dict[tuple[str, int], list[str]], dict[str, list[str]]]:
    """For ``SearchIndex.variants``: the terms of each spelling key (in ``terms``' order); the
    distinct keys by first letter and length (a lookup only compares keys whose length is within
    the allowed distance: the others are further away by length alone); and the keys by
    ``skeleton`` (a known word only reaches keys with its consonants).

    Built for a whole vocabulary at once (every reload does it), with joined-string passes
    (``_line_by_line``) rather than per-key calls."""
    keys = spelling_keys(terms)
    terms_by_key = {key: [term] for key, term in zip(keys, terms)}
    if len(terms_by_key) < len(keys):  # a few keys shared by several terms
        shared = {key for key, count in Counter(keys).items() if count > 1}
        for key in shared:
            terms_by_key[key] = []
        for key, term in zip(keys, terms):
            if key in shared:
                terms_by_key[key].append(term)
    distinct = list(terms_by_key)
    by_shape: dict[tuple[str, int], list[str]] = defaultdict(list)
    for key in distinct:
        by_shape[key[0], len(key)].append(key)
    by_skeleton: dict[str, list[str]] = defaultdict(list)
    skeletons = _line_by_line(distinct, lambda joined: _LATER_VOWEL.sub("", joined), skeleton)
    for key, found in zip(distinct, skeletons):
        by_skeleton[found].append(key)
    return terms_by_key, by_shape, by_skeleton


def regional_spellings(term: str) -> set[str]:
    """The term with one British spelling made American or the other way round (whether or
    not the result is a word: the caller keeps those in its vocabulary)."""
    found = set()
    for british, american in _REGIONAL_SPELLINGS:
        for old, new in ((british, american), (american, british)):
            if old in term:
                found.add(term.replace(old, new))
    found.discard(term)
    return found


@lru_cache(maxsize=1 << 16)  # questions repeat their words
def is_common_word(word: str) -> bool:
    """An everyday English word: one the cl100k tokenizer, trained on a web-scale corpus, holds
    whole ("tanks", "plant", "address"). Names and misspellings take several tokens ("kiev",
    "zelenskiy", "milley", "goverment")."""
    return fold_word(word).removesuffix("'s") in _common_words()


_MIN_SLIP_LENGTH = 5


def is_slip_of_a_common_word(word: str) -> bool:
    """One slip of the keyboard from an everyday English word (a letter left out, added, changed
    or two swapped: "headcahe", "chambr", "actualy"): a typo, not a name. Short words are one
    letter from too many others."""
    return bool(everyday_words_one_slip_from(word))


@lru_cache(maxsize=1 << 16)
def everyday_words_one_slip_from(word: str) -> tuple[str, ...]:
    """The everyday words (``is_common_word``) one slip of the keyboard from ``word``, likeliest
    first: "cpaital" → ("capital",), "rason" → ("reason", …, "raison", "arson"). cl100k numbers
    its tokens in the order it learned them, most frequent first, so a lower number is the
    commoner word (Norvig's spelling corrector picks the most frequent candidate the same way)."""
    word = fold_word(word)
    if len(word) < _MIN_SLIP_LENGTH or not (word.isascii() and word.isalpha()):
        return ()
    words = _common_words()
    return tuple(sorted(_one_slip_away(word) & words.keys(), key=words.__getitem__))


def warm_up_everyday_words() -> None:
    """Read the everyday words now, not on the first question that needs them."""
    _common_words()


@lru_cache(maxsize=1)
def _common_words() -> dict[str, int]:
    """The lowercase words cl100k holds whole (a token that is a space and the word), each with
    its token number, read once from its vocabulary (0.07 s): a word one slip away from another
    has hundreds of neighbours to look up, each a dictionary lookup here instead of an encoding."""
    vocabulary = encoding()
    words: dict[str, int] = {}
    for token in range(vocabulary.n_vocab):
        try:
            text = vocabulary.decode_single_token_bytes(token)
        except KeyError:  # the numbering has gaps
            continue
        if text.startswith(b" ") and text[1:].isalpha() and text[1:].islower():
            words.setdefault(text[1:].decode("ascii"), token)
    return words


def _one_slip_away(word: str) -> set[str]:
    splits = [(word[:cut], word[cut:]) for cut in range(len(word) + 1)]
    left_out = {left + right[1:] for left, right in splits if right}
    swapped = {left + right[1] + right[0] + right[2:] for left, right in splits if len(right) > 1}
    changed = {left + letter + right[1:] for left, right in splits if right for letter in string.ascii_lowercase}
    added = {left + letter + right for left, right in splits for letter in string.ascii_lowercase}
    return (left_out | swapped | changed | added) - {word}


def same_consonants(a: str, b: str) -> bool:
    """Two spelling keys that differ only in their vowels ("kiev"/"kiiv")."""
    return consonants(a) == consonants(b)


def same_name_sounds(a: str, b: str) -> bool:
    """Two spelling keys of one name: the same consonants, once "l" and "r" count as one (they
    are one sound in Chinese, Japanese or Korean, whence "Zerensky" for "Zelensky"). Another
    consonant makes another name: "Iran"/"Iraq", "Ireland"/"Iceland", "Johnson"/"Johnston"."""
    return same_consonants(a.replace("l", "r"), b.replace("l", "r"))


def is_word_form(a: str, b: str) -> bool:
    """"russia"/"russian": one is the other plus an ending — the stemmer's job, not a variant."""
    return a.startswith(b) or b.startswith(a)


@dataclass
class SearchIndex:
    """Passages, their BM25 postings, and the vocabulary's spelling keys."""

    passages: Sequence[Passage]  # a tuple, or a PassageStore that decodes passages on demand
    analyzer: Analyzer
    params: Bm25Params = field(default_factory=Bm25Params)
    postings: Postings | None = None
    forward: ForwardIndex | None = None  # each passage's terms (built from the passages if not given)

    def __post_init__(self) -> None:
        if self.postings is None:
            if self.forward is None:
                self.forward = ForwardIndex.from_terms(self.analyzer.analyze(p.text) for p in self.passages)
            self.postings = Postings.from_forward(self.forward, k1=self.params.k1, b=self.params.b)
        self._top_k = TopK(self.postings)
        self._source_ranges = None if isinstance(self.passages, PassageStore) else _source_ranges(self.passages)
        # The vocabulary is sorted, so this is too.
        self._sorted_terms = [t for t in self.postings.terms if len(t) >= _MIN_VARIANT_CHARS and t.isalpha()]
        self._terms_by_key, self._keys_by_shape, self._keys_by_skeleton = spelling_tables(self._sorted_terms)
        self._cases: dict[str, str | None] = {}  # term -> how the corpus writes it, as read so far
        self._variants: dict[tuple[str, bool], tuple[Variant, ...]] = {}  # (term, everyday) -> its spellings
        self._titled: dict[str, tuple[TitledName, ...]] = {}  # place term -> who is named by a title after it
        self._openers: dict[str, frozenset[str] | None] = {}  # term -> the words of names it ends, as read so far
        self._after: dict[str, tuple[str, ...]] = {}  # term -> the everyday words written after it

    @property
    def size(self) -> int:
        return len(self.passages)

    @property
    def vocabulary(self) -> Sequence[str]:
        return self.postings.terms

    @property
    def sources(self) -> tuple[str, ...]:
        if self._source_ranges is None:
            return tuple(self.passages.sources)
        return tuple(self._source_ranges)

    def has_term(self, term: str) -> bool:
        return term in self.postings.term_ids

    def idf(self, term: str) -> float:
        """IDF of a term; a term no passage has gets the IDF of the rarest possible term."""
        if self.size == 0:
            return 0.0
        term_id = self.postings.term_ids.get(term)
        return self.unseen_idf if term_id is None else self.postings.idf(term_id)

    @property
    def unseen_idf(self) -> float:
        return unseen_idf(self.size)

    @property
    def rare_idf(self) -> float:
        """IDF of a term found in exactly one passage: the unit for "how much matched"."""
        return math.log(1.0 + (self.size - 0.5) / 1.5) if self.size else 0.0

    def scores(self, weighted_terms: dict[str, float]) -> np.ndarray:
        """BM25 score of every passage for a weighted bag of terms."""
        return self.score(weighted_terms)[0]

    def score(self, weighted_terms: dict[str, float]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Scores of every passage, and the passage ids each known term touched (exhaustive:
        the reference ``top`` must agree with)."""
        scores = np.zeros(self.size, dtype=np.float32)
        touched: list[np.ndarray] = []
        for term, weight in weighted_terms.items():
            term_id = self.postings.term_ids.get(term)
            if weight > 0 and term_id is not None:
                touched.append(self.postings.accumulate(scores, term_id, weight))
        return scores, touched

    def top(self, weighted_terms: dict[str, float], k: int, source: str | None = None) -> list[tuple[int, float]]:
        """(position, score) of the ``k`` best passages, best first (ties by position), only
        among ``source``'s passages if given: the same as exhaustive scoring, without it."""
        term_ids = self.postings.term_ids
        query = [(term_ids[term], weight) for term, weight in weighted_terms.items() if term in term_ids]
        passages = None if source is None else self.source_range(source)
        return self._top_k.search(query, k, passages)

    def source_of(self, position: int) -> str:
        """The file of the passage at ``position`` (without decoding a stored passage's text)."""
        if isinstance(self.passages, PassageStore):
            return self.passages.source_of(position)
        return self.passages[position].source

    def text_of(self, position: int) -> str:
        """The text of the passage at ``position`` (a stored one without looking up its file)."""
        if isinstance(self.passages, PassageStore):
            return self.passages.text_of(position)
        return self.passages[position].text

    def follows_in_its_file(self, position: int) -> bool:
        """Whether the passage before ``position`` is of the same file."""
        return self.source_range(self.source_of(position))[0] < position

    def holding(self, terms: Iterable[str], positions: np.ndarray) -> np.ndarray:
        """Which passages at ``positions`` hold any of ``terms`` (looked up in the postings, so
        no passage's terms are read)."""
        held = np.zeros(len(positions), dtype=bool)
        for term in terms:
            term_id = self.postings.term_ids.get(term)
            if term_id is not None:
                held |= self.postings.holds(term_id, positions)
        return held

    def source_range(self, source: str) -> tuple[int, int]:
        """Passages of one file are contiguous: their [start, end) positions ((0, 0) if unknown)."""
        if self._source_ranges is None:
            return self.passages.source_range(source)
        return self._source_ranges.get(source, (0, 0))

    def variants(self, term: str, *, everyday: bool = False) -> list[Variant]:
        """Vocabulary terms that look like another spelling of ``term`` (never ``term`` itself).

        ``everyday``: the question's word is an everyday English word (``is_common_word``), not
        a name or a typo. One the corpus lacks reaches only its own other forms and its British
        or American spelling: a word one letter away is another word ("plant"/"plan"). One the
        corpus has only reaches spellings that differ in vowels ("kyiv"/"kiev"), not other real
        words one letter away ("world"/"word").

        A name the corpus has reaches the corpus's other spellings of it: machine-translated
        articles spell one person three ways ("Zelensky", "Zerensky", "Zerenski"), and a member
        asking about one means them all. As far off as an unknown word may be, but only in its
        vowels or an l/r (``same_name_sounds``), and never a term that is an everyday word."""
        # Members ask about the same names again and again; the search is the same each time.
        return list(_remembered(self._variants, (term, everyday), lambda: tuple(self._spellings_of(term, everyday))))

    def _spellings_of(self, term: str, everyday: bool) -> list[Variant]:
        if len(term) < _MIN_VARIANT_CHARS or not term.isalpha():
            return []
        known = self.has_term(term)
        if everyday and not known:
            regional = [Variant(other, 1.0) for other in sorted(regional_spellings(term)) if self.has_term(other)]
            return (regional + self._other_forms(term))[:_MAX_VARIANTS]
        name = known and not everyday
        key = spelling_key(term)
        limit = allowed_distance(key, known and not name)
        sounds_alike: Callable[[str, str], bool] | None = None  # an unknown word: any close spelling
        if name:
            candidates, sounds_alike = self._keys_of_shape(key, limit), same_name_sounds
        elif known:
            candidates, sounds_alike = self._keys_by_skeleton.get(skeleton(key), []), same_consonants
        else:
            candidates = self._keys_of_shape(key, limit)
        # Two letters typed the wrong way round ("Blearus", "urkaine") are one slip, not two
        # edits, in a word the corpus lacks. Not in one it has: "trial" is not "trail".
        distance_of = Levenshtein.distance if known else OSA.distance
        matches = process.extract(key, candidates, scorer=distance_of, score_cutoff=limit, limit=None)
        found: list[Variant] = [] if known else self._other_forms(term)
        for other_key, distance, _ in sorted(matches, key=lambda m: (m[1], m[0])):
            # For a known word, a longer or shorter form of it is the stemmer's business
            # ("russia"/"russian"); for an unknown one it is usually the same name
            # ("zaluzhnyi"/"zaluzhn").
            if known and distance > 0 and is_word_form(key, other_key):
                continue
            if sounds_alike is not None and not sounds_alike(key, other_key):
                continue
            similarity = 1.0 - distance / max(len(key), len(other_key))
            if similarity < _MIN_SIMILARITY:
                continue
            if not everyday and same_name_sounds(key, other_key):
                # A name (or a word no dictionary has) only vowels or an l/r apart: the same name
                # transliterated another way ("kiev"/"kyiv", "kharkiv"/"kharkov"), not a word a
                # few letters off. Everyday words so close are other words ("live"/"love").
                similarity = 1.0
            found.extend(
                Variant(t, similarity) for t in self._terms_by_key[other_key] if t != term and not (name and is_common_word(t))
            )
            if len(found) >= _MAX_VARIANTS:
                break
        return found[:_MAX_VARIANTS]

    def everyday_words_meant(self, word: str) -> list[Variant]:
        """The terms of the everyday words a typo of one was likely meant as ("cpaital": `capit`,
        "tmiing": `time`), when the corpus has them: the stemmer cuts a typo elsewhere than the
        word ("cpaital" is not `capit` plus a slip), so its stem is too far off to be a variant."""
        found: dict[str, float] = {}
        readings = 0
        for meant in everyday_words_one_slip_from(word):
            terms = self.analyzer.analyze(meant)
            if len(terms) != 1:
                continue
            slip = 1.0 - 1.0 / max(len(word), len(meant))
            # Read as the member meant it: the word itself, or its other forms ("deliveries":
            # `deliveri`, which the corpus writes `deliv`).
            spellings = [Variant(terms[0], 1.0)] if self.has_term(terms[0]) else self.variants(terms[0], everyday=True)
            for spelling in spellings:
                found[spelling.term] = max(found.get(spelling.term, 0.0), slip * spelling.similarity)
            readings += bool(spellings)
            if readings == _MAX_CORRECTIONS:
                break
        return [Variant(term, similarity) for term, similarity in found.items()]

    def forms_of_a_name(self, term: str) -> list[str]:
        """The corpus's longer or shorter forms of a name it capitalises, that it capitalises too:
        a place and its people ("russia": `russian`; "europeans": `europ`). The stemmer keeps
        them apart, and a member asks about "the Europeans" where the article says "Europe"."""
        # The forms are a few lookups in the vocabulary; a case is read from passages: only a term
        # that has forms has its case read.
        forms = self._other_forms(term)
        if not forms or self.usual_case(term) != CAPITALISED:
            return []
        return [form.term for form in forms if self.usual_case(form.term) == CAPITALISED]

    def has_consonants_of(self, term: str) -> bool:
        """Whether the vocabulary spells a term with ``term``'s first letter and consonants, its
        vowels aside: a name transliterated another way ("dnipro"/"dnieper"), too far off in
        letters to be a variant but the same name."""
        return len(term) >= _MIN_VARIANT_CHARS and term.isalpha() and skeleton(spelling_key(term)) in self._keys_by_skeleton

    def usual_case(self, term: str) -> str | None:
        """How the corpus writes ``term`` inside sentences when it nearly always writes it one
        way: CAPITALISED (a name: "Finland"), IN_CAPITALS (an acronym: "NATO"); None when it
        writes it in lowercase, either way, or not at all."""
        return _remembered(self._cases, term, lambda: self._read_usual_case(term))

    def _read_usual_case(self, term: str) -> str | None:
        cases: Counter[str | None] = Counter()
        case_of: dict[str, str | None] = {}  # word -> its case: words repeat
        for text, found in self._uses_of(term, _CASE_SAMPLE_PASSAGES):
            # A sentence's first word is capitalised whatever it is.
            if not opens_a_sentence(text, found.start()):
                word = found.group()
                if word not in case_of:
                    case_of[word] = word_case(word)
                cases[case_of[word]] += 1
        written = sum(cases.values())
        if not written:
            return None
        if cases[IN_CAPITALS] >= _CASE_AGREEMENT * written:
            return IN_CAPITALS
        if cases[IN_CAPITALS] + cases[CAPITALISED] >= _CASE_AGREEMENT * written:
            return CAPITALISED
        return None

    def name_openers(self, term: str) -> frozenset[str] | None:
        """The words (lowercased) right before ``term`` where the corpus capitalises it inside a
        sentence, when it capitalises it only after a capitalised word, as a later word of a
        longer name: {"european"} for "union" in a corpus that writes "the European Union" and
        never "the Union". None when it also capitalises it on its own, or never."""
        return _remembered(self._openers, term, lambda: self._read_name_openers(term))

    def _read_name_openers(self, term: str) -> frozenset[str] | None:
        openers: set[str] = set()
        for text, found in self._uses_of(term, _CASE_SAMPLE_PASSAGES):
            if word_case(found.group()) is None or opens_a_sentence(text, found.start()):
                continue
            before = _WORD_BEFORE.search(text, max(0, found.start() - _WORD_BEFORE_REACH), found.start())
            # "The House voted": a capitalised stopword opens a sentence, not a name.
            if before is None or word_case(before.group(1)) is None or not self.analyzer.analyze(before.group(1)):
                return None
            openers.add(before.group(1).lower())
        return frozenset(openers) or None

    def titled_names(self, term: str) -> tuple[TitledName, ...]:
        """The people the corpus names by a title right after the place ``term``, commonest
        first: "serbian" → President Vucic ("Serbian President Vucic said…")."""
        return _remembered(self._titled, term, lambda: self._read_titled_names(term))

    def _read_titled_names(self, term: str) -> tuple[TitledName, ...]:
        found: Counter[TitledName] = Counter()
        for text, word in self._uses_of(term, _TITLE_SAMPLE_PASSAGES):
            titled = titled_name_after(text, word.end(), lambda name: not is_english_word(name))
            if titled is not None:
                found[titled] += 1
        return tuple(titled for titled, _ in found.most_common())

    def words_after(self, term: str) -> tuple[str, ...]:
        """The everyday words the corpus writes right after ``term``, commonest first: "military",
        "army", "side"… after "ukrainian" ("the Ukrainian military firmly believes…")."""
        return _remembered(self._after, term, lambda: self._read_words_after(term))

    def _read_words_after(self, term: str) -> tuple[str, ...]:
        found: Counter[str] = Counter()
        for text, word in self._uses_of(term, _TITLE_SAMPLE_PASSAGES):
            after = _WORD_AFTER.match(text, word.end())
            if after is not None and after.group(1).islower() and self.analyzer.analyze(after.group(1)):
                found[after.group(1)] += 1
        return tuple(word for word, _ in found.most_common())

    def _uses_of(self, term: str, sample: int) -> Iterator[tuple[str, re.Match[str]]]:
        """Each word of ``term`` (its passage's text and where it is) in the first ``sample``
        passages that hold it. A term opens the words it comes from ("ukrain": "Ukraine",
        "Ukrainian"), so only the words that open with its first letters are analysed, not
        whole passages."""
        term_id = self.postings.term_ids.get(term)
        if term_id is None:
            return
        start = int(self.postings.offsets[term_id])
        end = min(int(self.postings.offsets[term_id + 1]), start + sample)
        of_term: dict[str, bool] = {}  # word -> whether it is one of the term's: words repeat
        for position in self.postings.doc_ids[start:end]:
            text = self.text_of(int(position))
            for at in _word_starts(text, term[:_CASE_PREFIX]):
                found = WORD_OF_LETTERS.match(text, at)
                if found is None:
                    continue
                word = found.group()
                if word not in of_term:
                    of_term[word] = term in self.analyzer.analyze(word)
                if of_term[word]:
                    yield text, found

    def _keys_of_shape(self, key: str, limit: int) -> list[str]:
        """Spelling keys with the same first letter whose length is within ``limit`` of ``key``'s
        (any other key is further than ``limit`` edits away by length alone)."""
        return [
            other
            for length in range(len(key) - limit, len(key) + limit + 1)
            for other in self._keys_by_shape.get((key[0], length), ())
        ]

    def _other_forms(self, term: str) -> list[Variant]:
        """Known terms that are a shorter or longer form of an unknown one.

        The stemmer is not consistent across word families ("deliveries" → "deliveri" but
        "delivered" → "deliv"), so an unknown stem reaches a known one that it starts with, or
        that starts with it, when they share at least ``_MIN_FORM_PREFIX`` characters and half
        of the longer one.
        """
        shortest = max(_MIN_FORM_PREFIX, math.ceil(_MIN_FORM_SHARE * len(term)))
        found = [Variant(term[:cut], _FORM_SIMILARITY) for cut in range(len(term) - 1, shortest - 1, -1) if self.has_term(term[:cut])]
        if len(term) >= _MIN_FORM_PREFIX:
            start = bisect.bisect_right(self._sorted_terms, term)
            for other in itertools.islice(self._sorted_terms, start, start + _MAX_VARIANTS):
                if other.startswith(term) and len(term) >= _MIN_FORM_SHARE * len(other):
                    found.append(Variant(other, _FORM_SIMILARITY))
        return found[:_MAX_VARIANTS]

    def terms_of(self, position: int) -> set[str]:
        if self.forward is not None:
            return set(self.forward.terms_of(position))
        return set(self.analyzer.analyze(self.text_of(position)))


def _remembered(memo: dict[_Key, _Value], key: _Key, look_up: Callable[[], _Value]) -> _Value:
    """``memo[key]``, looked up once; the memo is emptied when full, so it stays bounded on a
    bot that runs for months."""
    if key in memo:
        return memo[key]
    value = look_up()
    if len(memo) >= _MAX_CACHED_LOOKUPS:
        memo.clear()
    memo[key] = value
    return value


def word_case(word: str) -> str | None:
    """IN_CAPITALS ("NATO", "EU's"), CAPITALISED ("Finland", "Russia-Ukraine") or None (lowercase)."""
    letters = [character for character in POSSESSIVE.sub("", word) if character.isalpha()]
    if len(letters) > 1 and all(letter.isupper() for letter in letters):
        return IN_CAPITALS
    return CAPITALISED if letters and letters[0].isupper() else None


def in_case(word: str, case: str | None) -> str:
    """``word`` written IN_CAPITALS, CAPITALISED, or as it is (None)."""
    if case == IN_CAPITALS:
        return word.upper()
    if case == CAPITALISED:
        return word[:1].upper() + word[1:]
    return word


def _word_starts(text: str, prefix: str) -> Iterator[int]:
    """Where the words of ``text`` that open with ``prefix`` (in any case) start. Found in the
    lowercased text with ``str.find``, several times faster than a case-blind regex; through
    the regex when lowercasing changes the text's length ("İ")."""
    lowered = text.lower()
    if len(lowered) != len(text):
        yield from (found.start() for found in re.finditer(rf"(?<![^\W\d_]){re.escape(prefix)}", text, re.IGNORECASE))
        return
    at = lowered.find(prefix)
    while at >= 0:
        if not (at and text[at - 1].isalpha()):
            yield at
        at = lowered.find(prefix, at + 1)


def opens_a_sentence(text: str, start: int) -> bool:
    """Whether the word at ``start`` is the first of a sentence, whatever marks stand before it
    (quotes, brackets, a list's dash: `listeners." Saumil`, `- What`): a capital there says
    nothing of the word. Articles and questions alike are read so."""
    position = start
    while position and not text[position - 1].isalnum() and text[position - 1] not in _SENTENCE_ENDS:
        position -= 1
    return position == 0 or text[position - 1] in _SENTENCE_ENDS


def _source_ranges(passages: Sequence[Passage]) -> dict[str, tuple[int, int]]:
    ranges: dict[str, tuple[int, int]] = {}
    for position, passage in enumerate(passages):
        start, _ = ranges.get(passage.source, (position, position))
        ranges[passage.source] = (start, position + 1)
    return ranges


def build_index(passages: Iterable[Passage], analyzer: Analyzer, params: Bm25Params | None = None) -> SearchIndex:
    return SearchIndex(tuple(passages), analyzer, params or Bm25Params())
