"""Reading a question before it is searched: what it asks about (its subject), the names it
capitalises, and whose claim it asks about ("according to …").

Only the question's own wording is read here; what the corpus has of it is the engine's call
(``bot.answers``).
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Callable

from rapidfuzz import process
from rapidfuzz.distance import OSA

from .analyzer import POSSESSIVE
from .index import WORD_OF_LETTERS, everyday_words_one_slip_from, is_common_word, opens_a_sentence
from .tagging import is_english_word, is_verb, noun_after_adjective, noun_after_noun

# "According to the author/the New York Times…" says whose claim a question is about, not what
# it is about, and news opens paragraph after paragraph with "According to reports": searched,
# the phrase ranked passages for their wording ("According to reports, a village suffered…"
# over the op-ed's "ordinary people are most affected"). Whose claim it is stays searchable, at
# half weight: news names its source once and reports the claim sentences later ("The New York
# Times quoted officials…" / "The report noted that NATO countries have provided about $40
# billion worth of weaponry"), so the passage holding the claim may not name it.
ATTRIBUTION = re.compile(r"according\s+to\b", re.IGNORECASE)
ATTRIBUTION_WEIGHT = 0.5
# "…according to *the article*", "…to *the writer*" names the corpus itself, whose claim every
# passage is: not searched at all ("writer", which the articles never use, counted as a word of
# the question they lack).
THE_CORPUS_ITSELF = frozenset("article articles writer writers author authors piece text story op-ed".split())
_CLAUSE_END = re.compile(r"[,.;:?!]")
# How members phrase a request, not what it is about ("Tell me about Stoltenberg", "what happened
# in Kherson?", "explain the Bucharest summit please"): left out of questions. Kept, a word the
# corpus lacks ("tell") counted as information the corpus does not have and a rare one ("happen",
# "please") as much of the question, so answerable questions looked unanswerable or ranked
# passages for the wrong word. (Passages keep them: the analyzer is the same for both sides.)
# Only words that are nearly always phrasing: "article" is not ("What is NATO's Article 5?").
GREETINGS = ("hey", "hi", "hello", "please", "pls", "plz", "bot")
REQUEST_WORDS = frozenset(
    "tell explain describe summarize summarise summary info information details know thanks anyone anybody "
    "happen happened happening going".split()
) | frozenset(GREETINGS)
# A question that opens with its question word names what it asks about next: "Who *replaced*
# Zaluzhny…", "How many *Leopard* tanks…", "What is the *range* of the Iskander-M?". When the
# corpus has no word for that (not even another spelling of it), the closest passage on the
# question's other words (Zaluzhny, Leopard-less tanks, the Iskander-M) is about something else,
# however much of the rest it holds: such near-topic questions covered 0.35-0.67 of themselves,
# as much as right answers do. Words that only say what kind of answer is wanted ("how *far*",
# "what *kind* of", "the *reason* for", "on what *conditions*"), titles before a name ("Gen
# Milley") and prepositions the stopword list lacks ("how far *along* are Russia and Belarus…")
# come first without being the subject, so the next word is.
# Members often greet or ask through a request ("hey bot, who…", "Can you tell me who…", "Do you
# know when…"); those words are stopwords or request words, never searched, so the question
# word that follows opens the question.
REQUEST_OPENING = (
    rf"(?:(?:{'|'.join((*GREETINGS, 'so', 'and'))})\W+)*"
    r"(?:(?:(?:(?:can|could|would|will)\s+you\s+)?(?:please\s+)?(?:tell|explain|describe)(?:\s+(?:to\s+)?(?:me|us))?"
    r"|(?:do|does)\s+(?:you|anybody|anyone)\s+know)\W+)?"
)
OPENS_WITH_QUESTION_WORD = re.compile(
    rf"^\W*{REQUEST_OPENING}(?:who|whom|whose|what|when|where|which|why|how)\b", re.IGNORECASE
)
ANSWER_KIND_WORDS = frozenset(
    "far long old often kind kinds sort sorts type types reason reasons condition conditions terms".split()
)
# "Which" asks for one of a kind, and the noun after it names the kind, not the thing: the
# passage names the one ("CCTV", "the House of Representatives"), seldom the kind ("outlet",
# "chamber"). "What" is left alone: "What *sanctions*…", "What *role*…" ask about the noun.
ASKS_WHICH_ONE = "which"
COUNTING_WORDS = frozenset({"many", "much"})
TITLES = frozenset("gen pm mr mrs ms dr sen rep gov lt col sgt prof pres".split())
# When that subject is a name the question capitalises ("When did *Finland* join NATO?", "How
# many *Russian* troops are in Belarus?"), a passage that never names it answers another
# question, though it holds much of the rest ("NATO promised Ukraine it could one day become a
# member"; "Trump withdrew the U.S. troops stationed in Germany"), unless it holds most of it
# (``bot.answers.NAMELESS_MIN_COVERAGE``). Any word of the name will do
# ("Roche" for "Tony Roche"), and any form of it ("Belarus" for "Belarusian"). Acronyms are let
# be: articles write them out ("the US" as "the United States"). So is a name after a
# preposition ("How far from *Kyiv*…"), which places the subject rather than names it.
PREPOSITIONS = frozenset(
    "about above across after against along among around at before behind below beside between beyond by "
    "despite during for from in inside into near of off on onto out outside over past since through "
    "throughout to toward towards under until up upon with within without".split()
)
# "How *far* along…", "how *long*…", "how *old*…", "how *often*…" ask for a measure, which the
# answer gives ("nearly half of the plan has been completed", "for three months") and seldom
# names: not searched, as "how many" and "how much" are not (stopwords). Searched, "far" and
# "along" (words the articles lack) were a third of "how far along is the union integration
# program between moscow and minsk", and its answer held too little of the rest.
ASKS_FOR_A_MEASURE = re.compile(
    rf"\bhow\s+(?:far|long|old|often)\b(?:\s+(?:{'|'.join(sorted(PREPOSITIONS))})\b)?", re.IGNORECASE
)
# Where a name after them is a place, not those who govern it: "the summit *in* Vilnius",
# "strikes *on* central Kyiv"; not "talks *between* Washington and Moscow".
PLACE_PREPOSITIONS = frozenset(
    "across around at from in inside into near of on outside over through to toward towards via within".split()
)
# How far back a place's preposition may be: "in central Kyiv", "to the capital".
PLACE_PREPOSITION_REACH = 2
_PUNCTUATION = string.punctuation + "“”‘’"
# Names are runs of capitalised words, but for the first word of a sentence; a question in
# Title Case (most of its words capitalised) names nothing by its capitals.
MOSTLY_CAPITALISED = 0.6
_LETTERS_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
# The words the rules above read, which a typo would hide from them (of five letters or more:
# a slip of a shorter word is too often another word).
RULE_WORDS = frozenset({"according", "which", "where", "whose"}) | THE_CORPUS_ITSELF | REQUEST_WORDS | ANSWER_KIND_WORDS
_LONG_WORD = re.compile(r"(?<![\w'’-])[^\W\d_]{5,}(?![\w'’-])")


@dataclass(frozen=True)
class QueryWord:
    """A term of the question with the vocabulary terms that stand for it and their weights."""

    term: str
    importance: float  # IDF of the word (or of its best variant): how informative it is
    matches: dict[str, float]  # vocabulary term -> weight (1.0 for the word as written)
    written: str = ""  # the question's word it was read from, as written ("Zelenskyy", "long-range")
    # Terms that stand for the word in a passage but are not searched for: the name a title
    # reaches ("leader": "vucic"). BM25 adds up terms, so it would rank the passage that holds
    # both the title and the name, the one introducing the person, above the ones quoting them.
    unsearched: frozenset[str] = frozenset()


def typo_of_one_of(word: str, words: frozenset[str]) -> str | None:
    """The word of ``words`` that ``word`` is most likely a typo of ("raeson": "reason"), or None:
    when it is an everyday word itself, or a likelier typo of another everyday word. Only a word
    one slip from one of ``words`` is looked up among the everyday words."""
    if is_common_word(word) or process.extractOne(word.casefold(), words, scorer=OSA.distance, score_cutoff=1) is None:
        return None
    meant = everyday_words_one_slip_from(word)
    return meant[0] if meant and meant[0] in words else None


def as_written(word: QueryWord) -> str:
    """The question's word a term was read from: "long-range" is one word though three terms."""
    return word.written.casefold() or word.term


@dataclass(frozen=True)
class Subject:
    """What a question opening with its question word asks about: its first searched word but
    for words on the kind of answer wanted (and the noun after "which") and titles, or the noun
    an adjective the corpus lacks qualifies, or the word after a verb that follows "how many",
    with the rest of its name if it is a name
    (the corpus may write only some of a name's words: "Boris Johnson" as "Johnson")."""

    word: QueryWord
    name: tuple[QueryWord, ...]  # the subject and the rest of its name, as searched
    name_as_written: str
    after_preposition: bool = False  # "How far from *Kyiv*…": it places the subject

    def unknown(self) -> str | None:
        """The subject as written when the corpus has no word for it, not even another spelling."""
        return None if any(word.matches for word in self.name) else self.name_as_written

    def named_terms(self) -> frozenset[str]:
        """The vocabulary terms one of which a passage must hold to answer the question, when it
        asks about a capitalised name; empty when any passage may. A name the corpus has only
        some other word of ("White House": "House" of Representatives) is not one it names."""
        written = self.word.written
        capitalised_name = written[:1].isupper() and not written.isupper()
        if not self.word.matches or not capitalised_name or self.after_preposition:
            return frozenset()
        return frozenset(term for word in self.name for term in word.matches)


def subject_of(question: str, words: list[QueryWord]) -> Subject | None:
    if not OPENS_WITH_QUESTION_WORD.match(question):
        return None
    skipped = ANSWER_KIND_WORDS | TITLES | PREPOSITIONS
    # A typo of a preposition is one too ("brtween"). The other words skipped were mended in the
    # question (``with_rule_words_mended``); prepositions are not, being too often one slip from
    # a name ("michael howard" is not "michael toward").
    candidates = [
        word for word in words if as_written(word) not in skipped and typo_of_one_of(as_written(word), skipped) is None
    ]
    if not candidates:
        return None
    subject = candidates[0]
    by_written = {as_written(word): word for word in words}
    if len(candidates) > 1 and _names_the_kind_asked_for(question, subject):
        subject = candidates[1]
    if not subject.matches and subject.written and _counts_a_verb(question, subject.written):
        following = candidates[candidates.index(subject) + 1 :]
        if not following:
            return None
        subject = following[0]
    if not subject.matches and subject.written:
        # An adjective the corpus lacks says which thing is asked about, not what: "an
        # *anonymous* source" is the articles' "unnamed source", and the source is the subject.
        # So does an everyday noun before other nouns: "how many *stealth* fighter pilots" asks
        # about pilots (the articles' "F-35 pilots"). Not a name typed in lowercase: "the
        # *wagner* group" is about Wagner.
        noun = noun_after_adjective(question, subject.written)
        if noun is None and subject.written.islower() and is_english_word(subject.written):
            noun = noun_after_noun(question, subject.written)
        if noun is not None and noun.casefold() in by_written:
            subject = by_written[noun.casefold()]
    found = _find_word(question, subject.written) if subject.written else None
    name = _name_from(question, subject.written, found) if subject.written else [subject.term]
    rest = tuple(by_written[part.casefold()] for part in name[1:] if part.casefold() in by_written)
    return Subject(subject, (subject, *rest), " ".join(name), _follows_a_preposition(question, found))


def names_a_place(question: str, name: str) -> bool:
    """Whether every mention of ``name`` in ``question`` is of a place (``PLACE_PREPOSITIONS``):
    "What was decided at the NATO summit in Vilnius?" is about the city, "How has Minsk been
    helping Moscow?" about two governments."""
    mentions = [found.start() for found in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", question, re.IGNORECASE)]
    return bool(mentions) and all(_placed_by_a_preposition(question, start) for start in mentions)


def _placed_by_a_preposition(question: str, start: int) -> bool:
    before = words_before(question, start, PLACE_PREPOSITION_REACH)
    return any(word in PLACE_PREPOSITIONS for word in before)


def _counts_a_verb(question: str, word: str) -> bool:
    """Whether ``word`` is a verb right after "how many" or "how much": "how many *died* when a
    missile hit…" counts the dead, whom it leaves unsaid, so the verb is not what is asked
    about. After "who" or "what" it is: "Who *replaced* Zaluzhny…" asks about the replacing."""
    return _word_before(question, _find_word(question, word)) in COUNTING_WORDS and is_verb(question, word)


def _names_the_kind_asked_for(question: str, word: QueryWord) -> bool:
    """Whether ``word`` is a lowercase word the corpus lacks right after "which": "*Which outlet*
    reported the explosions?" is answered by "According to CCTV news reports", which names the
    outlet without calling it one. A name there is what is asked about ("Which *White House*
    aide…", "Which *Polish* village…")."""
    if word.matches or not word.written or word.written[:1].isupper():
        return False
    return _word_before(question, _find_word(question, word.written)) == ASKS_WHICH_ONE


def attribution_spans(question: str) -> list[tuple[int, int]]:
    """Where the question says whose claim it asks about: from each "according to" to the end of
    its clause ("…provided to Ukraine, according to *the New York Times report*?")."""
    spans = []
    for found in ATTRIBUTION.finditer(question):
        end = _CLAUSE_END.search(question, found.end())
        spans.append((found.end(), end.start() if end else len(question)))
    return spans


def measure_spans(question: str) -> list[tuple[int, int]]:
    """Where the question asks for a measure (``ASKS_FOR_A_MEASURE``): "how far", and a
    preposition after it ("how far *along*")."""
    return [found.span() for found in ASKS_FOR_A_MEASURE.finditer(question)]


def capitalised_names(question: str) -> list[list[str]]:
    """The runs of capitalised words a question writes mid-sentence, each word as written
    ("...at the NATO summit in Vilnius?" → [["NATO"], ["Vilnius"]]); none in a question that
    capitalises most of its words."""
    return [words for _, words in _name_runs(question)]


def names_asked_about(question: str) -> list[list[str]]:
    """The names a question asks about, which its answer names too: its capitalised names but
    for acronyms and titles (articles write "the United States" for "the US", and "General"
    without the name or the name without it), and for whose claim it asks about ("…according
    to *the New York Times*?": the passage holding the claim seldom names its source)."""
    attributions = attribution_spans(question)
    return [
        words
        for start, words in _name_runs(question)
        if not is_acronym_or_titled(words) and not any(begin <= start < end for begin, end in attributions)
    ]


def is_acronym_or_titled(name: list[str]) -> bool:
    """A name with a word in capitals ("NATO", "US Army") or a title ("Gen Milley"): articles
    write such names otherwise ("the United States", "Mark Milley"), so they are let be."""
    return any(word.isupper() or word.casefold() in TITLES for word in name)


def is_title_case(question: str) -> bool:
    """Whether the question capitalises most of its words, a headline's way, which says nothing
    of which are names."""
    found = list(_LETTERS_WORD.finditer(question))
    capitalised = [match for match in found if match.group()[0].isupper()]
    return len(found) >= 3 and len(capitalised) >= MOSTLY_CAPITALISED * len(found)


def _name_runs(question: str) -> list[tuple[int, list[str]]]:
    """``capitalised_names`` with where each name starts in the question."""
    if is_title_case(question):
        return []
    capitalised = [match for match in _LETTERS_WORD.finditer(question) if match.group()[0].isupper()]
    names: list[tuple[int, list[str]]] = []
    previous_end = 0
    for match in capitalised:
        if opens_a_sentence(question, match.start()):
            continue
        if names and not question[previous_end : match.start()].strip():
            names[-1][1].append(match.group())  # only spaces between: one name ("Nord Stream")
        else:
            names.append((match.start(), [match.group()]))
        previous_end = match.end()
    return names


# A question of this many words or more in capitals throughout is shouted, not an acronym ("NATO?").
MIN_SHOUTED_WORDS = 3


def as_typed_plainly(question: str) -> str:
    """The question with one space between words, and in lowercase if it was typed in capitals
    throughout: "WHO  REPLACED ZALUZHNY?" is read as "who replaced zaluzhny?" (then cased as the
    corpus writes each word), where every word would otherwise be an acronym."""
    question = " ".join(question.split())
    if is_shouted(question):
        lowered = question.lower()
        if len(lowered) == len(question):  # a letter whose lowercase is two ("İ") keeps its case
            return lowered
    return question


def with_rule_words_mended(question: str, known: Callable[[str], bool]) -> str:
    """The question with each typo of a word the rules on questions read ("acording to the
    author", "what was the raeson for", "whcih") written as that word, so they read it as typed
    right. Not a word the corpus has (``known``): there it is a word, not a typo. Only those
    words: a typo of any other everyday word is searched for as the word meant
    (``SearchIndex.everyday_words_meant``) but keeps its place, since a name the corpus lacks may
    be one slip from a rare English word ("boris" from "bois")."""

    def mended(found: re.Match[str]) -> str:
        word = found.group()
        meant = typo_of_one_of(word, RULE_WORDS)
        if meant is None or known(word):
            return word
        return meant.capitalize() if word[:1].isupper() else meant

    return _LONG_WORD.sub(mended, question)


def is_shouted(question: str) -> bool:
    """Typed in capitals throughout ("WHO REPLACED ZALUZHNY?"): several words, none in lowercase."""
    words = WORD_OF_LETTERS.findall(question)
    return len(words) >= MIN_SHOUTED_WORDS and not any(char.islower() for word in words for char in word)


def cases_its_names(question: str) -> bool:
    """Whether a question capitalises a name mid-sentence ("…stationed in Belarus?"): its writer
    cases names, so a word left in lowercase is not one. Acronyms say nothing of it: "NATO" is
    typed in capitals by members who type everything else in lowercase."""
    return any(not word.isupper() for name in capitalised_names(question) for word in name)


def _follows_a_preposition(question: str, found: re.Match[str] | None) -> bool:
    return _word_before(question, found) in PREPOSITIONS


def _word_before(question: str, found: re.Match[str] | None) -> str:
    """The word right before ``found`` in the question, casefolded; "" when there is none."""
    before = words_before(question, found.start(), 1) if found else []
    return before[-1] if before else ""


def words_before(question: str, start: int, count: int) -> list[str]:
    """The ``count`` words (split at spaces, casefolded, without punctuation) right before
    ``start`` in the question."""
    return [word.strip(_PUNCTUATION).casefold() for word in question[:start].split()[-count:]]


def _name_from(question: str, first: str, found: re.Match[str] | None) -> list[str]:
    """``first`` (found in the question at ``found``) and the words right after it that look
    like more of one name: capitalised, or not everyday English ("Boris Jonson", "boris jonson";
    "Leopard" of "Leopard tanks")."""
    if found is None or not _looks_like_a_name(first) or _is_a_slip_of_a_verb(question, first, found):
        return [first]
    name = [first]
    for following in question[found.end() :].split():
        word = following.rstrip(".,;:!?\"')]")
        if not _looks_like_a_name(POSSESSIVE.sub("", word)):
            break
        name.append(word)
        if word != following or POSSESSIVE.search(word):  # punctuation or "'s" ends the name
            break
    return name


def _is_a_slip_of_a_verb(question: str, word: str, found: re.Match[str]) -> bool:
    """Whether ``word`` is a typo of a verb ("Who *replced* Zaluzhnyi…", "Who will *replce*
    Stoltenberg…"), read with the likeliest everyday word one slip from it in its place: a verb,
    not the first word of a name ("replced Zaluzhnyi", which the corpus has a word of, where the
    question typed right is refused for "replaced"). "boris jonson" stays a name: "bois" is no
    verb."""
    if not word.islower():
        return False
    meant = everyday_words_one_slip_from(word)
    if not meant:
        return False
    return is_verb(question[: found.start()] + meant[0] + question[found.end() :], meant[0])


def _find_word(question: str, word: str) -> re.Match[str] | None:
    """The first place ``word`` stands whole in the question ("US" not inside "USSR" or "F-16")."""
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", question)


def _looks_like_a_name(word: str) -> bool:
    return word.isalpha() and (word[0].isupper() or not is_common_word(word))
