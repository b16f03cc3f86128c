"""Chat-style follow-ups on top of the engine: "and what about Belarus?" after an earlier question.

The engine answers one question at a time. A follow-up only makes sense together with the
question before it, but the new words must win: asked as one text, "How many cruise missiles
did Russia launch? and what about Belarus?" ranks the missile passage first again, which
answers the old question, not the new one. So:

1. The earlier and the new question are asked together (the earlier one supplies the topic),
   and only passages that contain a word of the *new* question are kept: the new words are
   what is asked about now, so the earlier question's subject is not required of a passage.
2. If none does, the new question is asked on its own.
3. A follow-up without searchable words of its own ("tell me more", "why?") is the earlier
   question again, together with it.

Pure and synchronous (the Discord layer runs it off the event loop); no Discord imports.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Sequence

from ..answers import Answer, Engine, QueryWord

# A follow-up keeps this many times more candidates than it shows, to filter them.
FOLLOW_UP_CANDIDATES = 4


@dataclass(frozen=True)
class Asked:
    answer: Answer  # answer.question is the question as the member asked it
    query: str  # what the engine was asked
    context: str | None  # the earlier question, when it was used
    must_match: tuple[str, ...] = ()  # follow-up: terms each passage must contain

    @property
    def remembered(self) -> str:
        """What a further follow-up should take as the earlier question."""
        return self.query


def ask(
    engine: Engine,
    question: str,
    *,
    context: str | None = None,
    top_k: int | None = None,
    source: str | None = None,
) -> Asked:
    if not context:
        return Asked(engine.ask(question, top_k=top_k, source=source), question, None)
    combined = f"{context} {question}"
    new_words = engine.query_words(question)
    if not new_words:
        answer = engine.ask(combined, top_k=top_k, source=source)
        return Asked(_as_question(answer, question, new_words), combined, context)
    must = tuple(sorted({term for word in new_words for term in word.matches}))
    if must:
        answer = filtered(engine, combined, must, question=question, top_k=top_k, source=source, words=new_words)
        if answer.hits:
            return Asked(answer, combined, context, must)
    return Asked(engine.ask(question, top_k=top_k, source=source), question, None)


def more(
    engine: Engine,
    *,
    question: str,
    query: str,
    must_match: tuple[str, ...],
    top_k: int,
    source: str | None,
    offset: int,
) -> Answer:
    """The next passages of an earlier answer (the "More" button)."""
    if must_match:
        return filtered(engine, query, must_match, question=question, top_k=top_k, source=source, offset=offset)
    return _as_question(engine.ask(query, top_k=top_k, source=source, offset=offset), question, engine.query_words(question))


def filtered(
    engine: Engine,
    query: str,
    must: tuple[str, ...],
    *,
    question: str,
    top_k: int | None,
    source: str | None,
    offset: int = 0,
    words: Sequence[QueryWord] | None = None,
) -> Answer:
    """``query``'s passages that contain one of the ``must`` terms, ``offset`` onwards.
    ``words``: the member's ``question`` as searched, if the caller has read it already."""
    top_k = engine.options.top_k if top_k is None else top_k
    wanted = offset + top_k
    fetched = engine.ask(query, top_k=wanted * FOLLOW_UP_CANDIDATES, source=source, read_subject=False)
    must_set = set(must)
    kept = [hit for hit in fetched.hits if not must_set.isdisjoint(engine.analyzer.analyze(hit.text))]
    hits = tuple(kept[offset:wanted])
    more_available = len(kept) > wanted or (fetched.more_available and len(kept) >= wanted)
    reason = None if hits else (fetched.no_match_reason or "no passage matches the new words of the question")
    answer = dataclasses.replace(fetched, hits=hits, no_match_reason=reason, more_available=more_available)
    return _as_question(answer, question, engine.query_words(question) if words is None else words)


def _as_question(answer: Answer, question: str, words: Sequence[QueryWord]) -> Answer:
    """The answer to a combined query shown as the answer to the member's own question (its
    ``words`` as searched): what is missing from it is then only what the member asked ("and
    Belarus?"), not the earlier question's words too."""
    return dataclasses.replace(answer, question=question, words=tuple(words))
