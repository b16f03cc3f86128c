"""How close in meaning a passage is to a question, to re-rank BM25's best answers.

BM25 sees only shared words: "Why are some NATO members *worried* about letting Ukraine into the
alliance?" ranks the passage on Ukraine's bid to join ("NATO's door is still open", "alliance
membership") above the one where members are "*concerned* that once Ukraine joins NATO…". WordLlama's static token embeddings
(distilled from LLaMA 2's and trained on sentence similarity; MIT) place "worried" near
"concerned", "died" near "killed", "Britain" near "UK", and a text is the average of its tokens:
a lookup, about 0.25 ms per passage, so the few candidates an answer picks from are embedded
when asked and nothing is added to the index. Its 256-dimension model ships inside the wheel;
it is loaded from there, never from the network.

It re-ranks and never decides: which passages answer at all is BM25's call (a near-topic question
is as close in meaning to the articles as a reworded one).
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

log = logging.getLogger(__name__)

MODEL_CONFIG = "l2_supercat"  # the one whose weights and tokenizer the wheel carries
MODEL_DIMENSIONS = 256
MAX_REMEMBERED_WORDS = 100_000  # 1 KB each
_WORD_VECTORS: dict[str, np.ndarray] = {}


def similarities(question: str, texts: Sequence[str]) -> np.ndarray | None:
    """Cosine similarity of each text to the question (-1 to 1), or None when the model
    cannot be loaded (then answers are ranked by BM25 alone)."""
    model = _model()
    if model is None:
        return None
    vectors = model.embed([question, *texts], norm=True)
    return vectors[1:] @ vectors[0]


def similarity(a: str, b: str) -> float | None:
    """Cosine similarity of two short texts ("leader", "president"), or None without the model."""
    vectors = _word_vectors((a, b))
    return None if vectors is None else float(vectors[1] @ vectors[0])


def close_words(word: str, candidates: tuple[str, ...], at_least: float) -> tuple[str, ...]:
    """The candidates at least ``at_least`` close in meaning to ``word`` (cosine), in their
    order; () without the model."""
    vectors = _word_vectors((word, *candidates)) if candidates else None
    if vectors is None:
        return ()
    cosines = vectors[1:] @ vectors[0]
    return tuple(candidate for candidate, cosine in zip(candidates, cosines) if cosine >= at_least)


def _word_vectors(words: Sequence[str]) -> np.ndarray | None:
    """The embedding of each word (or short text: "prime minister"), remembered: titles and the
    words a corpus writes after a name come back question after question, and embedding them
    again was most of a comparison's cost."""
    model = _model()
    if model is None:
        return None
    known = {word: _WORD_VECTORS.get(word) for word in words}
    missing = [word for word, vector in known.items() if vector is None]
    if missing:
        if len(_WORD_VECTORS) > MAX_REMEMBERED_WORDS:
            _WORD_VECTORS.clear()
        for word, vector in zip(missing, model.embed(missing, norm=True)):
            known[word] = _WORD_VECTORS[word] = vector
    return np.stack([known[word] for word in words])


def warm_up() -> None:
    """Load the model now (about 0.4 s with the imports), not on the first question."""
    _model()


@lru_cache(maxsize=1)
def _model():
    # Tokenizers' thread pool is no use on a handful of passages, and it warns (then disables
    # itself) in a process forked after it ran.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        import wordllama
        from wordllama import WordLlama

        # The package's own folder as the cache: its default cache lookup misses the tokenizer
        # the wheel carries and would download it.
        return WordLlama.load(
            config=MODEL_CONFIG,
            dim=MODEL_DIMENSIONS,
            cache_dir=Path(wordllama.__file__).parent,
            disable_download=True,
        )
    except Exception as error:  # whatever breaks the model must not break answers
        log.warning("Ranking without the semantic model (WordLlama could not be loaded: %s)", error)
        return None
