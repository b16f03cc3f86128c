"""BM25 over an inverted index: only the postings of the question's terms are touched.

Scores are exactly rank-bm25's ``BM25Okapi`` formula (``idf * tf * (k1 + 1) / (tf + k1 * (1 - b
+ b * dl / avgdl))``) with the Lucene IDF (see ``bot.index``), but each term's contribution to
each passage is computed once at build time and stored with the posting, so a question costs
work proportional to the postings of its terms instead of the whole corpus (rank-bm25 loops
over every passage for every term). Everything is plain numpy arrays, so the index persists as
``.npy`` files without pickles.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np


def lucene_idf(doc_count: int, doc_freq: np.ndarray) -> np.ndarray:
    return np.log1p((doc_count - doc_freq + 0.5) / (doc_freq + 0.5))


@dataclass(frozen=True)
class Postings:
    terms: tuple[str, ...]  # term id -> term
    offsets: np.ndarray  # int64[V + 1]: postings of term t are [offsets[t], offsets[t + 1])
    doc_ids: np.ndarray  # int32[P], ascending within a term
    weights: np.ndarray  # float32[P]: the term's BM25 contribution to that passage
    doc_freqs: np.ndarray  # int32[V]
    doc_lengths: np.ndarray  # int32[N]
    k1: float
    b: float
    term_ids: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "term_ids", {term: i for i, term in enumerate(self.terms)})

    @property
    def doc_count(self) -> int:
        return int(self.doc_lengths.shape[0])

    def idf(self, term_id: int) -> float:
        return float(lucene_idf(self.doc_count, self.doc_freqs[term_id]))

    def accumulate(self, scores: np.ndarray, term_id: int, weight: float) -> np.ndarray:
        """Add the term's weighted contribution to ``scores``; returns the passages it touched."""
        start, end = self.offsets[term_id], self.offsets[term_id + 1]
        ids = self.doc_ids[start:end]
        # Ids are unique within a term, so fancy-index += is exact (no np.add.at needed).
        scores[ids] += np.float32(weight) * self.weights[start:end]
        return ids

    @classmethod
    def build(cls, passage_terms: Iterable[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> "Postings":
        vocabulary: dict[str, int] = {}
        term_ids: list[int] = []
        frequencies: list[int] = []
        lengths: list[int] = []
        owners: list[int] = []
        for doc_id, terms in enumerate(passage_terms):
            counts = Counter(terms)
            lengths.append(len(terms))
            term_ids.extend(vocabulary.setdefault(term, len(vocabulary)) for term in counts)
            frequencies.extend(counts.values())
            owners.extend([doc_id] * len(counts))
        return cls.from_triples(
            tuple(vocabulary),
            np.asarray(term_ids, dtype=np.int32),
            np.asarray(owners, dtype=np.int32),
            np.asarray(frequencies, dtype=np.int32),
            np.asarray(lengths, dtype=np.int32),
            k1,
            b,
        )

    @classmethod
    def from_triples(
        cls,
        terms: tuple[str, ...],
        term_ids: np.ndarray,
        doc_ids: np.ndarray,
        frequencies: np.ndarray,
        doc_lengths: np.ndarray,
        k1: float,
        b: float,
    ) -> "Postings":
        """Postings from (term, passage, tf) triples in any order."""
        order = np.argsort(term_ids, kind="stable")
        term_ids, doc_ids, frequencies = term_ids[order], doc_ids[order], frequencies[order]
        vocabulary_size = len(terms)
        doc_freqs = np.bincount(term_ids, minlength=vocabulary_size).astype(np.int32)
        offsets = np.zeros(vocabulary_size + 1, dtype=np.int64)
        np.cumsum(doc_freqs, out=offsets[1:])
        doc_count = int(doc_lengths.shape[0])
        weights = np.zeros(0, dtype=np.float32)
        if doc_count and term_ids.size:
            average_length = float(doc_lengths.sum()) / doc_count or 1.0
            idf = lucene_idf(doc_count, doc_freqs.astype(np.float64))
            tf = frequencies.astype(np.float64)
            norm = k1 * (1.0 - b + b * doc_lengths[doc_ids] / average_length)
            weights = (idf[term_ids] * tf * (k1 + 1.0) / (tf + norm)).astype(np.float32)
        return cls(terms, offsets, doc_ids.astype(np.int32), weights, doc_freqs, doc_lengths.astype(np.int32), k1, b)


def unseen_idf(doc_count: int) -> float:
    return math.log1p((doc_count + 0.5) / 0.5)


def top_positions(scores: np.ndarray, touched: Sequence[np.ndarray], count: int) -> list[int]:
    """Best-first positions with a positive score, among the passages the question touched.

    Only touched passages can score above zero, so when they are few this never looks at the
    rest of the array. Ties break on position, so results are deterministic.
    """
    if count <= 0 or not len(touched):
        return []
    candidates = np.unique(np.concatenate(touched)) if len(touched) > 1 else touched[0]
    if candidates.size == 0:
        return []
    values = scores[candidates]
    keep = values > 0
    candidates, values = candidates[keep], values[keep]
    if candidates.size > count:
        best = np.argpartition(-values, count - 1)[:count]
        candidates, values = candidates[best], values[best]
    order = np.lexsort((candidates, -values))
    return candidates[order].tolist()
