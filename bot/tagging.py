"""Parts of speech of a question's words, to read what it asks about.

"What did an *anonymous* source say…" asks about a source; "anonymous" only says which one. The
tagger is TextBlob's port of the Pattern tagger (a lexicon plus Brill's rules), whose lexicon ships
inside the wheel: NLTK's own tagger downloads its model at run time, which fails offline.
"""

from __future__ import annotations

import importlib.util
import itertools
from functools import lru_cache
from pathlib import Path

# Penn Treebank tags of a past participle and of a past tense, which the tagger often gives a
# participle ("the *shelled* village" as VBD).
PARTICIPLE_TAGS = frozenset({"VBN", "VBD"})
COMMON_NOUN_TAGS = frozenset({"NN", "NNS"})


def noun_after_adjective(text: str, word: str) -> str | None:
    """The noun ``word`` qualifies in ``text`` when ``word`` is an adjective before it, maybe with
    more adjectives between ("source" for "anonymous" in "What did an anonymous source say?",
    "official" in "an anonymous senior official"); None otherwise."""
    tagged = _tagged(text)
    for position, (current, _) in enumerate(tagged):
        if current == word and _is_adjective(tagged, position):
            following = next(
                (tagged[after] for after in range(position + 1, len(tagged)) if not _is_adjective(tagged, after)), None
            )
            return following[0] if following is not None and following[1].startswith("NN") else None
    return None


def noun_after_noun(text: str, word: str) -> str | None:
    """The last of the nouns right after ``word`` when ``word`` is a common noun before them,
    which says which kind of them: "pilots" for "stealth" in "how many stealth fighter pilots";
    None otherwise."""
    tagged = _tagged(text)
    for position, (current, tag) in enumerate(tagged):
        if current == word and tag in COMMON_NOUN_TAGS:
            following = list(itertools.takewhile(lambda tagged_word: tagged_word[1] in COMMON_NOUN_TAGS, tagged[position + 1 :]))
            return following[-1][0] if following else None
    return None


def is_verb(text: str, word: str) -> bool:
    """Whether ``word`` is a verb in ``text`` ("died" in "how many died when…"), so names no thing
    the question asks about. Not a participle qualifying a noun ("the *shelled* village")."""
    tagged = _tagged(text)
    return any(
        current == word and tag.startswith("VB") and not _is_adjective(tagged, position)
        for position, (current, tag) in enumerate(tagged)
    )


def _is_adjective(tagged: tuple[tuple[str, str], ...], position: int) -> bool:
    """An adjective, or a participle right after a determiner, which qualifies the noun as one
    does: "the *shelled* village" is a village (the tagger reads "shelled" as a past tense)."""
    tag = tagged[position][1]
    participle = tag in PARTICIPLE_TAGS and position > 0 and tagged[position - 1][1] == "DT"
    return tag.startswith("JJ") or participle


def is_english_word(word: str) -> bool:
    """Whether the tagger's lexicon (about 94,000 English words and names, Brill's from the
    Brown corpus and the Penn Treebank) holds ``word`` in lowercase: "president", "minister",
    "trump" are English words; "Vucic", "Zelensky", "Sullivan" are only names."""
    return word.lower() in _lexicon_words()


@lru_cache(maxsize=1)
def _lexicon_words() -> frozenset[str]:
    # Read from the file the wheel carries, not through TextBlob: importing it imports NLTK
    # (about a second), and this is asked of most questions. Its lines are "word TAG".
    package = importlib.util.find_spec("textblob")
    if package is None or not package.submodule_search_locations:
        return frozenset()
    path = Path(package.submodule_search_locations[0]) / "en" / "en-lexicon.txt"
    with path.open(encoding="utf-8") as lines:
        return frozenset(line.split(" ", 1)[0] for line in lines if not line.startswith(";;;"))


def warm_up() -> None:
    """Load the tagger now (about a second, mostly NLTK's imports), not on the first question
    that needs it: for processes that answer many questions."""
    _tagged("What did an anonymous source say?")
    warm_up_lexicon()


def warm_up_lexicon() -> None:
    """Read the lexicon now (0.04 s), not on the first question."""
    _lexicon_words()


@lru_cache(maxsize=256)
def _tagged(text: str) -> tuple[tuple[str, str], ...]:
    # Imported on first use: TextBlob imports NLTK (about a second), and only questions whose
    # subject the corpus lacks are tagged.
    from textblob.en import tag

    return tuple((str(word), str(part)) for word, part in tag(text))
