"""Parts of speech of a question's words, to read what it asks about.

"What did an *anonymous* source say…" asks about a source; "anonymous" only says which one. The
tagger is TextBlob's port of the Pattern tagger (a lexicon plus Brill's rules), whose lexicon ships
inside the wheel: NLTK's own tagger downloads its model at run time, which fails offline.
"""

from __future__ import annotations

from functools import lru_cache


def noun_after_adjective(text: str, word: str) -> str | None:
    """The noun ``word`` qualifies in ``text`` when ``word`` is an adjective before it, maybe with
    more adjectives between ("source" for "anonymous" in "What did an anonymous source say?",
    "official" in "an anonymous senior official"); None otherwise."""
    tagged = _tagged(text)
    for position, (current, tag) in enumerate(tagged):
        if current == word and _is_adjective(tag):
            following = next((item for item in tagged[position + 1 :] if not _is_adjective(item[1])), None)
            return following[0] if following is not None and following[1].startswith("NN") else None
    return None


def _is_adjective(tag: str) -> bool:
    return tag.startswith("JJ")


def warm_up() -> None:
    """Load the tagger now (about a second, mostly NLTK's imports), not on the first question
    that needs it: for processes that answer many questions."""
    _tagged("What did an anonymous source say?")


@lru_cache(maxsize=256)
def _tagged(text: str) -> tuple[tuple[str, str], ...]:
    # Imported on first use: TextBlob imports NLTK (about a second), and only questions whose
    # subject the corpus lacks are tagged.
    from textblob.en import tag

    return tuple((str(word), str(part)) for word, part in tag(text))
