"""Questions in, quoted answers out: ranking, the no-match decision, duplicates, highlights.

An answer is a list of passages quoted verbatim, each with its file, line range and score, and
the spans of the words that matched so a front end can bold them. When the question shares
too little with the corpus the answer is empty: "I don't know" beats a random quote.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from . import semantic
from .analyzer import CURRENCY_NAMES, POSSESSIVE, Analyzer, Token, fold_word, highlight_end, word_parts
from .index import (
    CAPITALISED,
    IN_CAPITALS,
    WORD_OF_LETTERS,
    SearchIndex,
    Variant,
    in_case,
    is_common_word,
    is_slip_of_a_common_word,
    is_word_form,
)
from .passages import Passage, sentence_spans
from .places import capital_of, country_of_capital, other_names
from .questions import (
    ATTRIBUTION,
    ATTRIBUTION_WEIGHT,
    REQUEST_OPENING,
    REQUEST_WORDS,
    THE_CORPUS_ITSELF,
    QueryWord,
    Subject,
    as_typed_plainly,
    as_written,
    attribution_spans,
    capitalised_names,
    cases_its_names,
    is_acronym_or_titled,
    is_title_case,
    measure_spans,
    names_a_place,
    names_asked_about,
    subject_of,
    words_before,
    with_rule_words_mended,
)
from .tagging import is_english_word

# A variant spelling scores lower than the word as written. A name's or an unknown word's
# variants get more credit than an everyday word's: "Zelenskyy" (not in the corpus) surely means
# "Zelensky", and "Kyiv" means "Kiev" however often the corpus has both, while an everyday word
# the corpus has only reaches spellings that differ in vowels, and only probably means them.
SPELLING_VARIANT_WEIGHT = 0.8
# A name's other form in the corpus ("Europeans" asked, "Europe" written: ``SearchIndex.
# forms_of_a_name``) counts this much. 0.5: three more questions of the seven files right
# first and none lost; 0.3: one more; 0.7: four more and one lost.
NAME_FORM_WEIGHT = 0.5
EVERYDAY_WORD_VARIANT_WEIGHT = 0.3
# Passages whose terms overlap this much (Jaccard) with a better one are the same quote twice.
DUPLICATE_OVERLAP = 0.6
CANDIDATES_PER_RESULT = 8
# How many of the passages that answer are re-ranked by meaning (``bot.semantic``): enough to
# reach past the first page, few enough to embed in about two milliseconds.
SEMANTIC_POOL = 9
# "How many…", "how much…", "how long ago…", "when…" ask for a figure or a date: among the
# candidates, a passage that holds a number is the likelier answer ("$800 million in military
# assistance" over a passage about the same aid with no sum in it), so its score counts this much more.
ASKS_FOR_A_FIGURE = re.compile(
    rf"\bhow (?:many|much|far|long|old|often)\b|\bwhat (?:year|percentage|number|amount)\b|^\W*{REQUEST_OPENING}when\b",
    re.IGNORECASE,
)
FIGURE_BOOST = 1.2
# "How much *money*…", "how much *funding*…" ask for an amount that news gives in a currency
# ("another 1 billion pounds in aid"): a passage with a currency's name or sign holds the
# thing measured at this weight, when it does not say it. 0.5 and 0.8 gain the same question
# of the eight files and lose none; at 0.5 fewer questions about another country's money
# ("how much money does russia spend on the war", not in the articles) are answered.
HOW_MUCH = re.compile(r"\bhow much (?:more |extra |additional |new )?([^\W\d_][\w'’-]*)", re.IGNORECASE)
AMOUNT_IN_A_CURRENCY = 0.5
_DIGIT = re.compile(r"\d")
MIN_ANY_MATCH = 0.5
MIN_ANY_COVERAGE = 0.2
# A passage that holds only one or two words of a question of six or more holds them by
# coincidence unless they are much of its weight: on news corpora, off-topic scientific claims
# were "answered" from whatever passage shared two of their words ("women" and "since 1979" for
# "Incidence of heart failure increased by 10% in women since 1979").
# Words are counted as written: "long-range" is one word, though three terms.
FEW_WORDS = 2
LONG_QUESTION_WORDS = 6
MIN_FEW_WORDS_COVERAGE = 0.3
MIN_WORD_FORM_LENGTH = 4
# ... unless the passage holds this much of the question's weight: the articles write "the United
# States" where members ask about "America" or "the Americans" ("Where will the Americans
# permanently set up a command post?" holds 0.78 of itself in its answer). 0.7 and 0.8 answer
# the same questions of the question files; 0.65 answered a `none`, "How many Russian troops are
# stationed in Belarus?", from a passage on Russian troops elsewhere. "When did Finland join
# NATO?" is still refused: NATO's promise that Ukraine will "one day become a member" holds half
# of it.
NAMELESS_MIN_COVERAGE = 0.7
# Among the passages that answer, one that never names a name the question asks about ranks as
# if it scored this much less per name: "How many were killed in the missile explosion in
# *Poland*?" ranked a Kiev strike "killing 2 people" (missiles, explosion, killing, three times
# over) above "two missiles fell into Poland and exploded, killing two people". The passage
# before it in the same file counts: news names a body once and goes on about "the system" in
# the next passage (on the BBC articles, "Which computer firm manages the Department of Work
# and Pensions system…" kept its answer by it). 0.3 to 0.6 gave the same answers on the six
# question files (four more right first, none lost); 0.7 and 0.8 fewer.
MISSING_NAME_FACTOR = 0.6


# Members type in lowercase ("when did finland join nato"): the rules on names read such a
# question as the corpus would write it (``Engine._as_the_corpus_writes``), word by word; a
# hyphenated word is left as typed.
MIN_UNKNOWN_NAME_LENGTH = 4
# A question's word for a title is the corpus's when it is one of the title's words
# ("president") or this close in meaning to it (WordLlama: "leader"/"president" 0.42,
# "premier"/"prime minister" 0.44; "army"/"president" 0.03, "chief"/"president" 0.29).
MIN_TITLE_SIMILARITY = 0.4
# A word the corpus writes after the same name ("the Ukrainian *military*" for "the Ukrainian
# *army*") holds a question's word at half credit, as a form of a name does (NAME_FORM_WEIGHT):
# probably the same thing, in other words. Close in meaning is a WordLlama
# cosine of 0.45 or more between the two words alone: "army"/"military" 0.75, "soldiers"/"troops"
# 0.66, "officials"/"authorities" 0.46, "war"/"conflict" 0.46; not "army"/"battlefield" 0.32,
# "army"/"war" 0.27, "army"/"command" 0.24. At 0.45 and at 0.6 the same answers on the eight
# question files and the other corpora.
CLOSE_WORD_WEIGHT = 0.5
MIN_CLOSE_WORD_SIMILARITY = 0.45
MAX_CODE_LETTERS = 3  # "US", "UK", "USA": a country's code is a name only where written in capitals
_OF_BETWEEN = re.compile(r"\s+of\s+(?:the\s+)?", re.IGNORECASE)


@dataclass(frozen=True)
class SearchOptions:
    top_k: int = 3
    fuzzy: bool = True
    # A passage is an answer when it matches a lot of the question's information (``min_match``,
    # in units of "one term that only one passage has"), or most of it (``min_coverage``, the
    # share of the question's IDF weight it covers), and never with less than MIN_ANY of either.
    min_match: float = 1.25
    min_coverage: float = 0.5
    # How much closeness in meaning raises a passage's score (× 1 + weight × cosine); 0: off.
    semantic_weight: float = 0.5


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float
    match: float
    coverage: float
    highlights: tuple[tuple[int, int], ...]  # spans of matched words in passage.text
    best_sentence: tuple[int, int]  # span of the sentence that matches best
    terms: frozenset[str] = frozenset()  # the question's terms (or their variants) the passage holds

    @property
    def source(self) -> str:
        return self.passage.source

    @property
    def lines(self) -> tuple[int, int]:
        return (self.passage.first_line, self.passage.last_line)

    @property
    def text(self) -> str:
        return self.passage.text


@dataclass(frozen=True)
class Answer:
    question: str
    hits: tuple[Hit, ...]
    took_ms: float
    # Why there are no hits, in words a member can act on; None when there are hits.
    no_match_reason: str | None = None
    more_available: bool = False
    words: tuple[QueryWord, ...] = ()  # the question as searched

    @property
    def terms(self) -> tuple[str, ...]:
        return tuple(word.term for word in self.words)

    @property
    def missing(self) -> tuple[str, ...]:
        """The question's words that none of the quoted passages holds, as written ("tanks"),
        for a "Missing:" line under the quotes as search engines print: a quote that matches
        "Germany", "delivered" and "howitzers" but not "tanks" says so at a glance."""
        if not self.hits:
            return ()
        found = frozenset().union(*(hit.terms for hit in self.hits))
        # A hyphenated word is several terms, its joined form first ("reelect", "elect"; "f16",
        # "16"): the first one searched for decides, so "F-16" is missing from a passage on
        # "16 howitzers" and "re-election" is found in one on the "reelection".
        first: dict[str, tuple[str, bool]] = {}  # folded word -> (as written, found), in question order
        for word in self.words:
            if word.written:
                first.setdefault(as_written(word), (word.written, any(_holds(key, found) for key in word.matches)))
        return tuple(written for written, was_found in first.values() if not was_found)


@dataclass
class Engine:
    """Answers questions from one immutable index; swap the whole engine to reload."""

    index: SearchIndex
    options: SearchOptions = field(default_factory=SearchOptions)

    @property
    def analyzer(self) -> Analyzer:
        return self.index.analyzer

    def ask(
        self,
        question: str,
        *,
        top_k: int | None = None,
        source: str | None = None,
        offset: int = 0,
        read_subject: bool = True,
    ) -> Answer:
        """``read_subject=False`` when the question is an earlier one with a follow-up after it
        ("What does Spain export? and Italy?"): its subject is the follow-up's, which the caller
        requires of every passage, not the earlier question's."""
        started = time.perf_counter()
        top_k = self.options.top_k if top_k is None else top_k
        reading = self._as_the_corpus_writes(self._typed_plainly(question))
        people = self._people_named_by_title(reading)
        words = self._also_named_by_title(self.query_words(reading), people)
        words = self._also_said_of_the_name(reading, words)
        words = [self._also_its_country(word, reading) for word in words]
        words = self._also_an_amount(reading, words)
        figure = bool(ASKS_FOR_A_FIGURE.search(reading))
        subject = subject_of(reading, words) if read_subject else None
        unknown = subject.unknown() if subject else None
        lacking = self._name_the_corpus_lacks(reading, words) if unknown is None else None
        named = self._names_of(subject, people) if subject and unknown is None else frozenset()
        if unknown is None and words:
            asked = self._names_the_corpus_has(reading, words)
            hits, more = self._rank(words, top_k, source, offset, figure, named, lacking is not None, asked)
        else:
            hits, more = (), False
        took_ms = (time.perf_counter() - started) * 1000.0
        reason = None if hits else self._no_match_reason(words, source, unknown, subject if named else None, lacking)
        return Answer(question, hits, took_ms, reason, more, tuple(words))

    def _names_of(self, subject: Subject, people: dict[str, tuple[str, str]]) -> frozenset[str]:
        """The terms a passage names the subject by (``Subject.named_terms``): its own, and the
        spellings of it that the corpus writes as names. "Seden" (for "Sweden") also reaches
        "sudden" and "seven", and a passage saying "sudden" does not name it. A place the
        question names a person or a city by ("the *German* chancellor", "the *French* capital") is
        named by the person's or the city's name."""
        terms = subject.named_terms()
        if not terms:
            return terms
        # An everyday word is the only kind a case is read for (a sample of passages): a rare
        # word the corpus has is a name or a term.
        as_names = frozenset(
            t for t in terms if t == subject.word.term or not is_common_word(t) or self.index.usual_case(t) is not None
        )
        titled = (name for place, name in people.values() if place == subject.word.term)
        return (as_names or terms).union(*(self._terms_naming(name) for name in titled))

    def _typed_plainly(self, question: str) -> str:
        """How the question is read whatever the way it was typed: spaces, capitals throughout,
        typos of the words the rules on questions read (``bot.questions``)."""
        return with_rule_words_mended(as_typed_plainly(question), self._has_word)

    def _has_word(self, word: str) -> bool:
        return any(self.index.has_term(term) for term in self.analyzer.analyze(word))

    def _as_the_corpus_writes(self, question: str) -> str:
        """The question with each word typed in lowercase cased as the corpus writes it, so the
        rules on names read "when did finland join nato" as "when did Finland join NATO". A word
        the corpus lacks takes the case of its closest spelling ("jonson": "Johnson"), and one
        that is not everyday English either is a name the corpus lacks ("bakhmut"). Same length
        as the question: words keep their places. A question that capitalises a name is read
        as typed: its writer cases names (and reading each word costs a lookup)."""
        if cases_its_names(question):
            return question
        recased = question
        for token in self.analyzer.tokens(question):
            word = question[token.start : token.end]
            if not (word.islower() and WORD_OF_LETTERS.fullmatch(word)):
                continue
            written = in_case(word, self._case_here(question, token.start, word, token.term))
            if len(written) == len(word):  # a letter whose capital is two ("ß") keeps its case
                recased = recased[: token.start] + written + recased[token.end :]
        return recased

    def _people_named_by_title(self, question: str) -> dict[str, tuple[str, str]]:
        """The people the question names by a place and a title, as the corpus names them:
        the title's term -> (the place's term, the name). "what did the serbian *leader*
        claim…" names Vucic (the corpus: "Serbian President Vucic said…"); "Ukraine's
        *president*" and "the *president* of Ukraine" name Zelensky. A name the question
        says itself is left out. "The Ukrainian *capital*" names a city the same way, from
        countryinfo's capitals ("Kyiv")."""
        tokens = self.analyzer.tokens(question)
        said = {token.term for token in tokens}
        people: dict[str, tuple[str, str]] = {}
        for place, title in _names_and_words(question, tokens):
            place_written = question[place.start : place.end]
            if title.term == self._capital_term:
                name = self._capital_named(place_written, place)
            else:
                name = self._titled_name(place_written, place, question[title.start : title.end], title.term)
            if name is not None and not said.issuperset(self.analyzer.analyze(name)):
                people.setdefault(title.term, (place.term, name))
        return people

    def _titled_name(self, place: str, place_token: Token, title: str, title_term: str) -> str | None:
        """The name of whom the corpus calls by a title after ``place`` that ``title`` says, the
        commonest first; None when ``place`` is no name or ``title`` no title the corpus gives."""
        if not is_english_word(title) or not self._is_a_name(place, place_token.term):
            return None
        for form in (place_token.term, *self.index.forms_of_a_name(place_token.term)):
            for titled in self.index.titled_names(form):
                if self._is_the_title(title.lower(), title_term, titled.title):
                    return titled.name
        return None

    @cached_property
    def _capital_term(self) -> str:
        return self.analyzer.analyze("capital")[0]

    def _capital_named(self, place: str, place_token: Token) -> str | None:
        """The city "the *Ukrainian* capital" or "the capital of *Ukraine*" names (countryinfo's
        "Kyiv", reaching the corpus's "Kiev" as a spelling of it); None when ``place`` is no
        name of a country or its people."""
        if not self._is_a_name(place, place_token.term):
            return None
        return capital_of(place)

    def _is_the_title(self, word: str, term: str, title: str) -> bool:
        """Whether the question's ``word`` says ``title``: one of its words, or close in meaning."""
        if term in self.analyzer.analyze(title):
            return True
        closeness = semantic.similarity(word, title.lower())
        return closeness is not None and closeness >= MIN_TITLE_SIMILARITY

    def _is_a_name(self, word: str, term: str) -> bool:
        return word[:1].isupper() or self.index.usual_case(term) in (CAPITALISED, IN_CAPITALS)

    def _also_named_by_title(self, words: list[QueryWord], people: dict[str, tuple[str, str]]) -> list[QueryWord]:
        """Each title word held by the name it stands for; and the country of a capital too:
        "Paris" says all of "the *French* capital", and a corpus may never write "French"."""
        capitals = {place: name for title, (place, name) in people.items() if title == self._capital_term}
        named = []
        for word in words:
            if word.term in people:
                word = self._also_named(word, people[word.term][1])
            elif word.term in capitals:
                word = self._also_named(word, capitals[word.term])
            named.append(word)
        return named

    def _also_said_of_the_name(self, question: str, words: list[QueryWord]) -> list[QueryWord]:
        """Each everyday word after a name ("the Ukrainian *army*") held at CLOSE_WORD_WEIGHT by
        a passage that says the name with a word the corpus writes after it that is close in
        meaning ("the Ukrainian *military*"). The corpus's own phrase for the same thing: news
        varies its nouns ("army", "military", "troops"), and a member uses one of them."""
        close: dict[str, dict[str, float]] = {}
        for name, noun in _names_and_words(question, self.analyzer.tokens(question)):
            written = question[noun.start : noun.end]
            if not (written.islower() and is_english_word(written)):
                continue
            if not self._is_a_name(question[name.start : name.end], name.term):
                continue
            for said in semantic.close_words(written, self.index.words_after(name.term), MIN_CLOSE_WORD_SIMILARITY):
                for term in self.analyzer.analyze(said):
                    if term != noun.term:
                        close.setdefault(noun.term, {})[f"{name.term} {term}"] = CLOSE_WORD_WEIGHT
        return [_also_held_by(word, close[word.term]) if word.term in close else word for word in words]

    def _also_named(self, word: QueryWord, name: str) -> QueryWord:
        """``word`` held by a passage that says ``name`` (or a spelling of it) as by one that says
        the word itself: the passages that quote a person say the name, seldom the title again,
        and news writes "Kiev", seldom "the Ukrainian capital". A person's name is not searched
        for (``QueryWord.unsearched``); a capital's is: "Kiev" was what the question asked
        about, where a person's name also ranked the passage introducing them first."""
        return _also_held_by(word, self._terms_naming(name), searched=word.term == self._capital_term)

    def _terms_naming(self, name: str) -> dict[str, float]:
        """The corpus's terms for ``name`` and its spellings ("kyiv": 1.0, "kiev": 0.8)."""
        terms: dict[str, float] = {}
        for term in self.analyzer.analyze(name):
            if self.index.has_term(term):
                terms[term] = 1.0
            for variant in self.index.variants(term):
                terms[variant.term] = max(terms.get(variant.term, 0.0), SPELLING_VARIANT_WEIGHT * variant.similarity)
        return terms

    def _also_its_country(self, word: QueryWord, question: str) -> QueryWord:
        """A name of a country held by a passage that names the country another way: "America"
        by one saying "the United States" or "US", "Britain" by one saying "the UK", and a
        capital that is no place in the question ("How has *Minsk* been helping *Moscow*")
        by one saying "Belarus" and "Russia". A passage holding another name counts for the word
        as far as that name is as rare: "the United States" is in many passages here and says
        less than "America". Not searched for (``QueryWord.unsearched``): a name of several
        words is no term, and a rarer name would outweigh the word in BM25."""
        written = POSSESSIVE.sub("", word.written)
        # A capital the corpus lacks is not recased ("minsk", a whole token of cl100k's), but is
        # no English word either.
        if (written[:1].islower() and is_english_word(written)) or not word.importance:
            return word
        keys: dict[str, float] = {}
        for other in other_names(written) or _country_governed_from(written, question):
            key = self._vocabulary_key(other)
            if key is not None and key not in word.matches:
                keys[key] = min(1.0, self._idf_of_key(key) / word.importance)
        return _also_held_by(word, keys) if keys else word

    def _also_an_amount(self, question: str, words: list[QueryWord]) -> list[QueryWord]:
        """The thing a "how much" question measures, held at AMOUNT_IN_A_CURRENCY by a passage
        that names a currency. Only a thing the corpus has: "how much grain…" is about grain,
        which no passage on money answers."""
        asked = HOW_MUCH.search(question)
        measured = self.analyzer.analyze(asked.group(1)) if asked else []
        if not measured:
            return words
        return [self._in_a_currency(word) if word.term == measured[0] and word.term in word.matches else word for word in words]

    def _in_a_currency(self, word: QueryWord) -> QueryWord:
        matches = dict(word.matches)
        for term in self._currency_terms:
            matches.setdefault(term, AMOUNT_IN_A_CURRENCY)
        return replace(word, matches=matches)

    @cached_property
    def _currency_terms(self) -> frozenset[str]:
        """The terms of the currencies the corpus names ("dollar" for "$" too, as the analyzer reads it)."""
        return frozenset(term for name in CURRENCY_NAMES for term in self.analyzer.analyze(name) if self.index.has_term(term))

    def _vocabulary_key(self, name: str) -> str | None:
        """The terms of ``name`` as one key (``_holds``), or None when the corpus lacks one of
        them, or ``name`` is a code it never writes in capitals ("BY" for Belarus is "by")."""
        terms = self.analyzer.analyze(name)
        if not terms or not all(self.index.has_term(term) for term in terms):
            return None
        if len(name) <= MAX_CODE_LETTERS and name.isupper() and self.index.usual_case(terms[0]) != IN_CAPITALS:
            return None
        return " ".join(terms)

    def _idf_of_key(self, key: str) -> float:
        # A passage holding all of a name's terms is as rare as its rarest term, or rarer.
        return max(self.index.idf(term) for term in key.split())

    def _case_here(self, question: str, start: int, word: str, term: str) -> str | None:
        """How the corpus would write ``word`` where the question has it. An everyday word it
        capitalises only as a later word of a longer name ("the European *Union*") is that name's
        only after the name's first word: "the union integration program between moscow and
        minsk" is about the Russia-Belarus union, not a name the corpus has."""
        case = self._usual_case(word, term)
        if case is None or not is_english_word(word):
            return case
        openers = self.index.name_openers(term)
        if openers is None or openers.intersection(words_before(question, start, 1)):
            return case
        return None

    def _usual_case(self, word: str, term: str) -> str | None:
        if self.index.has_term(term):
            return self.index.usual_case(term)
        if is_common_word(word) or is_common_word(term):
            return None
        spellings = self.index.variants(term)
        if spellings:
            return self.index.usual_case(max(spellings, key=lambda variant: variant.similarity).term)
        if is_slip_of_a_common_word(word):
            return None
        return CAPITALISED if len(word) >= MIN_UNKNOWN_NAME_LENGTH else None

    def query_words(self, question: str) -> list[QueryWord]:
        request = self._request_terms
        tokens = self.analyzer.tokens(question)
        attributions = attribution_spans(question)
        measures = measure_spans(question)
        read: dict[str, tuple[str, str]] = {}  # term -> (the question's word, the part it came from)
        claimed: set[str] = set()  # terms the question uses outside "according to …"
        for position, token in enumerate(tokens):
            if token.term in request or ATTRIBUTION.match(question, token.start):
                continue
            if _within(token.start, measures):
                continue
            if self._joined_form_the_corpus_lacks(tokens, position):
                continue
            word = question[token.start : token.end]
            attributed = _within(token.start, attributions)
            if attributed and word.casefold() in THE_CORPUS_ITSELF:
                continue
            read.setdefault(token.term, (word, self._part_read(word, token.term)))
            if not attributed:
                claimed.add(token.term)
        return [
            self._query_word(term, word, part, 1.0 if term in claimed else ATTRIBUTION_WEIGHT)
            for term, (word, part) in read.items()
        ]

    def _name_the_corpus_lacks(self, question: str, words: list[QueryWord]) -> str | None:
        """A name the question capitalises (mid-sentence) that the corpus has no word of, as
        written ("Vilnius"), or a number or code the corpus never writes ("2022", "F-16"); None
        when it has every such name and number."""
        # Wherever else a question names something the corpus has no word for ("What was decided
        # about Ukraine at the NATO summit in *Vilnius*?", "What is the situation at the
        # *Zaporizhzhia* nuclear power plant?"), a passage that matches a few of its rare other
        # words (NATO summit; nuclear power) answers another question: it must hold most of the
        # question's weight (``min_coverage``), not only enough rare words (``min_match``). Most
        # of it still answers: "How many F-35 pilots will the US send to *Britain*?" (the
        # articles say "UK"). Names count when capitalised mid-sentence (and numbers, below): a
        # name of several words is known when any of them is ("White House"); acronyms and
        # titles are let be, as for the subject; so is a name the corpus spells with the same
        # consonants ("Dnipro": "Dnieper"); and a question that capitalises most of its words
        # (Title Case) names nothing by it.
        for name, searched in _searched_names(capitalised_names(question), words):
            # A name with nothing searched in it (a stopword: "The") cannot be judged.
            if searched and not is_acronym_or_titled(name):
                if not any(word.matches or self.index.has_consonants_of(word.term) for word in searched):
                    return " ".join(name)
        # A number or a code names a thing or a time as a name does: "How much aid did Congress
        # approve *in 2022*?" of articles that never write 2022 is answered by a passage on
        # Congress and aid at another time, unless it holds most of the question ("recruit 400k
        # more soldiers": the article's "400,000").
        unknown_number = next((word for word in words if not word.matches and _DIGIT.search(word.term)), None)
        return None if unknown_number is None else unknown_number.written or unknown_number.term

    def _names_the_corpus_has(self, question: str, words: list[QueryWord]) -> list[frozenset[str]]:
        """The names the question asks about that the corpus has a word of, each as the
        vocabulary terms that stand for it ("Poland": {"poland"}; "Kyiv": {"kyiv", "kiev"})."""
        names = []
        for _, searched in _searched_names(names_asked_about(question), words):
            terms = frozenset(term for word in searched for term in word.matches)
            if terms:
                names.append(terms)
        return names

    def _joined_form_the_corpus_lacks(self, tokens: list[Token], position: int) -> bool:
        """"long-range" is read as "longrange", "long" and "range" (the analyzer's joined form
        comes first, its parts after it with the same span). When the corpus writes "long range",
        the joined form is not a word of the question the corpus lacks: its parts stand for it.
        Not so a code: "F-16" is not "16", and a corpus without "f16" lacks it."""
        token = tokens[position]
        if _DIGIT.search(token.term) or self.index.has_term(token.term):
            return False
        first = position == 0 or tokens[position - 1].start != token.start
        parts_follow = position + 1 < len(tokens) and (tokens[position + 1].start, tokens[position + 1].end) == (token.start, token.end)
        return first and parts_follow

    def _part_read(self, word: str, term: str) -> str:
        """The part of a hyphenated word a term was read from ("range" of "long-range"), so it is
        judged an everyday word or a name on its own; the word itself otherwise."""
        if "-" not in word:
            return word
        return next((part for part in word_parts(word) if term in self.analyzer.analyze(part)), word)

    @cached_property
    def _request_terms(self) -> frozenset[str]:
        return frozenset(self.analyzer.analyze(" ".join(REQUEST_WORDS)))

    def _query_word(self, term: str, written: str, part: str, share: float = 1.0) -> QueryWord:
        known = self.index.has_term(term)
        matches: dict[str, float] = {term: 1.0} if known else {}
        if self.options.fuzzy:
            # An everyday word is not a misspelling of another everyday word one letter away:
            # "tanks" is not "talks", "plant" not "plan", "trip" not "troop". Names and typos
            # ("Zelenskiy", "Zerensky", "goverment") reach their spellings. cl100k holds few
            # inflected forms whole, so a word the corpus lacks is everyday when its stem is one:
            # "shelled" (stem "shell") is not a misspelling of "sell".
            everyday = is_common_word(part) or (not known and is_common_word(term))
            weight = EVERYDAY_WORD_VARIANT_WEIGHT if known and everyday else SPELLING_VARIANT_WEIGHT
            for variant in self._spellings(term, part, known, everyday):
                # The same term may come as another form of the word and as a spelling of it:
                # the closer reading counts.
                match = 1.0 if self._is_the_same_name(part, everyday, variant) else weight * variant.similarity
                matches[variant.term] = max(matches.get(variant.term, 0.0), match)
            # Not a name cl100k holds whole ("Europe", "European"): "European countries" asks
            # about the countries, and reaching "Europe" ranked the US sending troops *to
            # Europe* first (two questions lost).
            if known and not everyday:
                for form in self.index.forms_of_a_name(term):
                    matches[form] = max(matches.get(form, 0.0), NAME_FORM_WEIGHT)
            # A typo of an everyday word ("cpaital", "tmiing") reads as the word meant. Only one
            # with no spelling in the corpus: one that has some is more often a term or a name
            # ("statin" is not "station"), and reading it twice let off-topic questions through.
            if not known and not everyday and not matches:
                for meant in self.index.everyday_words_meant(part):
                    matches[meant.term] = max(matches.get(meant.term, 0.0), SPELLING_VARIANT_WEIGHT * meant.similarity)
        if known:
            importance = self.index.idf(term)
        elif matches:
            importance = self.index.idf(max(matches, key=lambda t: (matches[t], self.index.idf(t))))
        else:
            importance = self.index.unseen_idf
        if share != 1.0:  # a word that only says whose claim is asked about
            matches = {vocabulary_term: match * share for vocabulary_term, match in matches.items()}
        return QueryWord(term, importance * share, matches, written)

    def _spellings(self, term: str, word: str, known: bool, everyday: bool) -> list[Variant]:
        """The corpus's spellings of ``term``; for a name the corpus lacks, of the name as typed
        too. The stemmer cuts a final "s" from some names and not others: "Belaris" is "belari",
        two letters from "belarus", but one vowel apart as typed. Not a typo of an everyday word:
        "tmiing" is "timing" (read as the word meant, below), not "thing"."""
        spellings = self.index.variants(term, everyday=everyday)
        typed = fold_word(word)
        if known or everyday or typed == term or not typed.isalpha() or is_slip_of_a_common_word(typed):
            return spellings
        return spellings + self.index.variants(typed)

    def _is_the_same_name(self, word: str, everyday: bool, variant: Variant) -> bool:
        """Whether ``variant`` is the name ``word`` written another way ("Kyiv"/"Kiev",
        "Khersno"/"Kherson": only vowels or an l/r apart, and a name the corpus capitalises),
        which counts as the name itself. Not an acronym ("PPAR" is not "Paris") nor a word
        the corpus writes in lowercase ("priori" is not "prior")."""
        if everyday or word.isupper() or variant.similarity < 1.0:
            return False
        return self.index.usual_case(variant.term) == CAPITALISED

    def ranked(self, question: str, depth: int) -> list[tuple[int, float]]:
        """(passage position, score) of the ``depth`` best passages, best first: the same scoring
        as ``ask`` but without the no-match thresholds and duplicate removal (for benchmarks that
        need a full ranked list)."""
        question = self._typed_plainly(question)
        words = self.query_words(question)
        ranked = self.index.top(term_weights(words), depth)
        if ASKS_FOR_A_FIGURE.search(question):
            ranked = self._prefer_figures(ranked)
        return self._by_meaning(_what_is_asked(words), ranked)

    def _prefer_figures(self, ranked: list[tuple[int, float]]) -> list[tuple[int, float]]:
        text_of = self.index.text_of
        boosted = [(p, s * FIGURE_BOOST if _DIGIT.search(text_of(p)) else s) for p, s in ranked]
        return _best_first(boosted)

    def _rank(
        self,
        words: list[QueryWord],
        top_k: int,
        source: str | None,
        offset: int,
        figure: bool,
        named: frozenset[str] = frozenset(),
        coverage_only: bool = False,
        asked: list[frozenset[str]] | None = None,
    ) -> tuple[tuple[Hit, ...], bool]:
        wanted = offset + top_k
        ranked = self.index.top(term_weights(words), wanted * CANDIDATES_PER_RESULT, source)
        if figure:
            ranked = self._prefer_figures(ranked)
        if asked:
            ranked = self._names_held_first(ranked, asked)
        question_words = len({as_written(word) for word in words})
        # The answering passages among the first page's candidates are re-ranked by meaning
        # whatever page is asked for, so "More" goes on in the first page's order.
        first_page = top_k * CANDIDATES_PER_RESULT
        pool = SEMANTIC_POOL if self.options.semantic_weight > 0 else 0
        answering: list[tuple[int, float]] = []
        measured: dict[int, tuple[float, float]] = {}  # position -> (match, coverage)
        head = 0  # how many of them are among the first page's candidates
        chosen_terms: list[set[str]] = []
        for rank, (position, score) in enumerate(ranked):
            if len(answering) > wanted and (rank >= first_page or head >= pool):
                break
            terms = self.index.terms_of(position)
            match, coverage, matched_words = self._match(words, terms)
            if named and coverage < NAMELESS_MIN_COVERAGE and not _names(terms, named):
                continue
            if not self._answers(match, coverage, matched_words, question_words, coverage_only):
                continue
            if any(_overlap(terms, other) >= DUPLICATE_OVERLAP for other in chosen_terms):
                continue
            answering.append((position, score))
            measured[position] = (match, coverage)
            chosen_terms.append(terms)
            head += rank < first_page
        page = (self._by_meaning(_what_is_asked(words), answering[:head]) + answering[head:])[offset:wanted]
        hits = tuple(self._hit(position, score, *measured[position], words) for position, score in page)
        return hits, len(answering) > wanted

    def _answers(
        self, match: float, coverage: float, matched_words: int, question_words: int, coverage_only: bool = False
    ) -> bool:
        if match < MIN_ANY_MATCH or coverage < MIN_ANY_COVERAGE:
            return False
        if matched_words <= FEW_WORDS and question_words >= LONG_QUESTION_WORDS and coverage < MIN_FEW_WORDS_COVERAGE:
            return False
        if coverage_only:
            return coverage >= self.options.min_coverage
        return match >= self.options.min_match or coverage >= self.options.min_coverage

    def _match(self, words: list[QueryWord], terms: set[str]) -> tuple[float, float, int]:
        """(match mass in units of a rare term, share of the question's weight covered, how many
        of the question's words the passage holds)."""
        matched = total = 0.0
        held: set[str] = set()  # the question's words (as written) the passage holds
        for word in words:
            total += word.importance
            credit = max((w for t, w in word.matches.items() if _holds(t, terms)), default=0.0)
            matched += word.importance * credit
            if credit > 0.0:
                held.add(as_written(word))
        rare = self.index.rare_idf or 1.0
        return matched / rare, (matched / total if total else 0.0), len(held)

    def _hit(self, position: int, score: float, match: float, coverage: float, words: list[QueryWord]) -> Hit:
        passage = self.index.passages[position]
        held = self.index.terms_of(position)
        wanted = {term for word in words for key in word.matches if _holds(key, held) for term in key.split()}
        tokens = [t for t in self.analyzer.tokens(passage.text) if t.term in wanted]
        highlights = _merge_spans((t.start, highlight_end(passage.text, t.start, t.end)) for t in tokens)
        best = _best_sentence(passage.text, tokens, words)
        return Hit(passage, score, match, coverage, highlights, best, frozenset(t.term for t in tokens))

    def _names_held_first(
        self, scored: list[tuple[int, float]], names: list[frozenset[str]]
    ) -> list[tuple[int, float]]:
        """Each score × MISSING_NAME_FACTOR per name the passage (or the one before it in its
        file) never names, best first."""
        positions = [position for position, _ in scored]
        here = np.array(positions, dtype=np.int64)
        before = np.array([p - 1 if self.index.follows_in_its_file(p) else p for p in positions], dtype=np.int64)
        missing = np.zeros(len(positions), dtype=np.int64)
        for name in names:
            missing += ~(self._holding(name, here) | self._holding(name, before))
        factors = MISSING_NAME_FACTOR ** missing
        return _best_first([(position, score * float(factor)) for (position, score), factor in zip(scored, factors)])

    def _holding(self, keys: frozenset[str], positions: np.ndarray) -> np.ndarray:
        """Which passages at ``positions`` hold any of ``keys`` (``_holds``: a name of several
        words, all its terms)."""
        held = self.index.holding((key for key in keys if " " not in key), positions)
        for key in keys:
            if " " in key:
                held |= np.logical_and.reduce([self.index.holding((part,), positions) for part in key.split()])
        return held

    def _by_meaning(self, question: str, scored: list[tuple[int, float]]) -> list[tuple[int, float]]:
        """The first SEMANTIC_POOL passages re-ranked by BM25 score × (1 + weight × cosine to
        the question), best first; the rest, all scored below them, follow as they were."""
        weight = self.options.semantic_weight
        head = scored[:SEMANTIC_POOL]
        if weight <= 0 or not head:
            return scored
        cosines = semantic.similarities(question, [self.index.text_of(position) for position, _ in head])
        if cosines is None:
            return scored
        boosted = [(position, score * (1.0 + weight * max(0.0, float(cosine)))) for (position, score), cosine in zip(head, cosines)]
        return _best_first(boosted) + scored[SEMANTIC_POOL:]

    def _no_match_reason(
        self,
        words: list[QueryWord],
        source: str | None,
        unknown_subject: str | None,
        named: Subject | None = None,
        lacking_name: str | None = None,
    ) -> str:
        if self.index.size == 0:
            return "the corpus is empty"
        if not words:
            return "the question has no searchable words (only very common words, greetings or symbols)"
        if not any(word.matches for word in words):
            return "none of the question's words appear in the corpus"
        if unknown_subject is not None:
            return f"the corpus never mentions “{unknown_subject}”, which the question asks about"
        where = f"in {source} " if source is not None else ""
        if named is not None:
            return f"no passage {where}that mentions “{named.name_as_written}” matches enough of the question"
        if lacking_name is not None:
            return f"the corpus never mentions “{lacking_name}”, and no passage {where}matches most of the question"
        if source is not None:
            return f"nothing in {source} matches the question well enough"
        return "no passage matches enough of the question"


def _names_and_words(question: str, tokens: list[Token]) -> list[tuple[Token, Token]]:
    """(name, word) of each pair of words where the word may say who or what of the name: a
    title ("Ukraine's *president*", "the Serbian *leader*", "the *president* of Ukraine"), a
    capital, a noun ("the Ukrainian *army*"). Which are a name and such a word is the corpus's
    to say. None in a question in Title Case, whose capitals say nothing of which words are
    names (nor is each pair of its words worth reading the corpus for)."""
    if is_title_case(question):
        return []
    words = [token for position, token in enumerate(tokens) if position == 0 or tokens[position - 1].start != token.start]
    pairs = []
    for first, second in zip(words, words[1:]):
        between = question[first.end : second.start]
        if not between.strip():
            pairs.append((first, second))
        elif _OF_BETWEEN.fullmatch(between):
            pairs.append((second, first))
    return pairs


def _also_held_by(word: QueryWord, keys: dict[str, float], *, searched: bool = False) -> QueryWord:
    """``word`` held also by a passage holding one of ``keys``, at its credit (the better one
    where the word had the key already). The keys it gains are counted, not searched
    (``QueryWord.unsearched``), unless ``searched``."""
    matches = dict(word.matches)
    for key, credit in keys.items():
        matches[key] = max(matches.get(key, 0.0), credit)
    if searched:
        return replace(word, matches=matches)
    return replace(word, matches=matches, unsearched=word.unsearched | (matches.keys() - word.matches.keys()))


def _within(position: int, spans: list[tuple[int, int]]) -> bool:
    return any(start <= position < end for start, end in spans)


def _country_governed_from(capital: str, question: str) -> tuple[str, ...]:
    """The names of the country ``capital`` stands for, where the question places nothing in it
    (``names_a_place``); () otherwise. The place is read only of a capital."""
    names = country_of_capital(capital)
    return names if names and not names_a_place(question, capital) else ()


def _what_is_asked(words: list[QueryWord]) -> str:
    """The question's searched words as the corpus would write them, which its meaning is read
    from: how a member types it (a greeting, "thanks", capitals throughout or none) is not what
    is asked, and WordLlama's tokens are case-sensitive, so "what has belarus been giving
    russia…" and "hey bot, what has Belarus…" were ordered otherwise than the question as
    written."""
    return " ".join(dict.fromkeys(word.written or word.term for word in words))


def _searched_names(names: list[list[str]], words: list[QueryWord]) -> list[tuple[list[str], list[QueryWord]]]:
    """Each name (its words as written) with the question's searched words read from it."""
    by_written: dict[str, list[QueryWord]] = {}
    for word in words:
        by_written.setdefault(word.written, []).append(word)
    return [(name, [word for written in name for word in by_written.get(written, ())]) for name in names]


def _holds(key: str, terms: set[str]) -> bool:
    """Whether a passage's terms hold a key of ``QueryWord.matches``: a term, or the terms of a
    name of several words ("unit state" for "United States") all."""
    return key in terms or (" " in key and all(part in terms for part in key.split()))


def _names(terms: set[str], named: frozenset[str]) -> bool:
    """Whether a passage's terms name the subject: one of its terms, or a form of one
    ("belarus" for "belarusian")."""
    if not named.isdisjoint(terms) or any(_holds(name, terms) for name in named if " " in name):
        return True
    return any(
        is_word_form(term, name)
        for name in named
        for term in terms
        if min(len(term), len(name)) >= MIN_WORD_FORM_LENGTH
    )


def term_weights(words: list[QueryWord]) -> dict[str, float]:
    """The weighted bag of vocabulary terms a question searches for: each term at the best
    weight any of the question's words gives it (1.0 as written, less for a spelling variant)."""
    weights: dict[str, float] = {}
    for word in words:
        for term, weight in word.matches.items():
            if term not in word.unsearched:
                weights[term] = max(weights.get(term, 0.0), weight)
    return weights


def _best_first(scored: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """(passage position, score) pairs by score, ties in corpus order (deterministic output)."""
    return sorted(scored, key=lambda item: (-item[1], item[0]))


def _overlap(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def _merge_spans(spans) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(set(spans)):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)


def sentence_spans_of_passage(text: str) -> list[tuple[int, int]]:
    """Sentence spans over a whole passage (its paragraphs are separated by newlines)."""
    spans: list[tuple[int, int]] = []
    offset = 0
    for paragraph in text.split("\n"):
        spans.extend((offset + start, offset + end) for start, end in sentence_spans(paragraph))
        offset += len(paragraph) + 1
    return spans or [(0, len(text))]


def _best_sentence(text: str, tokens: list[Token], words: list[QueryWord]) -> tuple[int, int]:
    weight_of: dict[str, float] = {}
    for word in words:
        for key, weight in word.matches.items():
            parts = key.split()  # a name of several words shares its weight among them
            for term in parts:
                weight_of[term] = max(weight_of.get(term, 0.0), weight * word.importance / len(parts))
    best_span, best_score = (0, len(text)), -1.0
    for start, end in sentence_spans_of_passage(text):
        inside = {t.term for t in tokens if start <= t.start < end}
        score = sum(weight_of[term] for term in inside)
        if score > best_score:
            best_span, best_score = (start, end), score
    return best_span
