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
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from .columns import Numbering


def lucene_idf(doc_count: int, doc_freq: np.ndarray) -> np.ndarray:
    return np.log1p((doc_count - doc_freq + 0.5) / (doc_freq + 0.5))


@dataclass(frozen=True)
class Postings:
    terms: Sequence[str]  # term id -> term, in sorted order
    offsets: np.ndarray  # int64[V + 1]: postings of term t are [offsets[t], offsets[t + 1])
    doc_ids: np.ndarray  # int32[P], ascending within a term
    weights: np.ndarray  # float32[P]: the term's BM25 contribution to that passage
    doc_lengths: np.ndarray  # int32[N]
    k1: float
    b: float
    # float32[V]: each term's largest weight, the bound that lets top-k skip passages.
    max_weights: np.ndarray | None = None
    doc_freqs: np.ndarray = field(init=False, repr=False, compare=False)  # int32[V]
    term_ids: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "term_ids", {term: i for i, term in enumerate(self.terms)})
        object.__setattr__(self, "doc_freqs", np.diff(self.offsets).astype(np.int32))
        if self.max_weights is None:
            object.__setattr__(self, "max_weights", max_weights(self.offsets, self.weights))

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

    def holds(self, term_id: int, passages: np.ndarray) -> np.ndarray:
        """Which of ``passages`` hold the term: a binary search in its (ascending) postings."""
        ids = self.doc_ids[self.offsets[term_id] : self.offsets[term_id + 1]]
        if ids.size == 0:
            return np.zeros(len(passages), dtype=bool)
        found = np.minimum(np.searchsorted(ids, passages), ids.size - 1)
        return ids[found] == passages

    @classmethod
    def build(cls, passage_terms: Iterable[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> "Postings":
        forward = ForwardIndex.from_terms(passage_terms)
        return cls.from_forward(forward, k1, b)

    @classmethod
    def from_forward(cls, forward: "ForwardIndex", k1: float, b: float) -> "Postings":
        """Invert passage → terms into term → passages, with each posting's BM25 weight."""
        doc_lengths = np.asarray(forward.lengths, dtype=np.int32)
        doc_count = int(doc_lengths.shape[0])
        term_ids = np.asarray(forward.term_ids)
        vocabulary_size = len(forward.vocabulary)
        owners = np.repeat(np.arange(doc_count, dtype=np.int32), np.diff(forward.term_offsets))
        doc_freqs = np.bincount(term_ids, minlength=vocabulary_size)
        # Weights are computed in passage order, then moved with the postings.
        weights = bm25_weights(doc_freqs, term_ids, owners, np.asarray(forward.term_freqs), doc_lengths, k1, b)
        # Stable, so the passages of a term stay in ascending order.
        order = stable_argsort(term_ids, vocabulary_size)
        doc_ids = owners[order]
        offsets = np.zeros(vocabulary_size + 1, dtype=np.int64)
        np.cumsum(doc_freqs, out=offsets[1:])
        return cls(forward.vocabulary, offsets, doc_ids, weights[order], doc_lengths, k1, b)


def stable_argsort(keys: np.ndarray, bound: int) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` for integers in [0, bound), several times faster.

    numpy radix-sorts 16-bit keys (and merge-sorts wider ones), so sort 16 bits at a time,
    least significant first: each pass is stable, so the result is (LSD radix sort).
    """
    if bound <= 1 << 16:
        return np.argsort(keys.astype(np.uint16), kind="stable")
    order = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    shift = 16
    while bound > 1 << shift:
        digit = ((keys[order] >> shift) & 0xFFFF).astype(np.uint16)
        order = order[np.argsort(digit, kind="stable")]
        shift += 16
    return order


def bm25_weights(
    doc_freqs: np.ndarray,
    term_ids: np.ndarray,
    doc_ids: np.ndarray,
    frequencies: np.ndarray,
    doc_lengths: np.ndarray,
    k1: float,
    b: float,
) -> np.ndarray:
    """rank-bm25's BM25Okapi term weight (Lucene IDF) of each (term, passage, tf) posting."""
    doc_count = int(doc_lengths.shape[0])
    if not doc_count or not term_ids.size:
        return np.zeros(0, dtype=np.float32)
    average_length = float(doc_lengths.sum()) / doc_count or 1.0
    idf = lucene_idf(doc_count, doc_freqs.astype(np.float64))
    # Each passage's length normalisation once (the same expression, element by element).
    norm = k1 * (1.0 - b + b * doc_lengths / average_length)
    weights = np.empty(term_ids.shape[0], dtype=np.float32)
    # In blocks, so a million-passage build does not hold several float64 copies of everything.
    for start in range(0, term_ids.shape[0], _WEIGHT_BLOCK):
        block = slice(start, start + _WEIGHT_BLOCK)
        tf = frequencies[block].astype(np.float64)
        weights[block] = idf[term_ids[block]] * tf * (k1 + 1.0) / (tf + norm[doc_ids[block]])
    return weights


_WEIGHT_BLOCK = 1 << 22


def max_weights(offsets: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Each term's largest posting weight (0 for a term without postings)."""
    result = np.zeros(offsets.shape[0] - 1, dtype=np.float32)
    nonempty = np.flatnonzero(np.diff(offsets) > 0)
    if nonempty.size:
        result[nonempty] = np.maximum.reduceat(weights, offsets[nonempty])
    return result


@dataclass(frozen=True)
class ForwardIndex:
    """Passage → its distinct terms and their frequencies; terms are ids into a sorted vocabulary.

    The index is built from this (by inverting it), a reload re-uses the slices of the files
    that did not change, and ``SearchIndex.terms_of`` reads a passage's terms from it.
    """

    vocabulary: Sequence[str]  # sorted
    term_offsets: np.ndarray  # int64[N + 1]: passage p's terms are [term_offsets[p], term_offsets[p + 1])
    term_ids: np.ndarray  # int32[T], ascending within a passage
    term_freqs: np.ndarray  # uint16 or int32 [T]
    lengths: np.ndarray  # int32[N]: number of terms of each passage (BM25's document length)

    @property
    def passage_count(self) -> int:
        return int(self.lengths.shape[0])

    def terms_of(self, passage: int) -> list[str]:
        start, end = self.term_offsets[passage], self.term_offsets[passage + 1]
        vocabulary = self.vocabulary
        return [vocabulary[i] for i in self.term_ids[start:end].tolist()]

    @classmethod
    def from_terms(cls, passage_terms: Iterable[Sequence[str]]) -> "ForwardIndex":
        vocabulary: list[str] = []
        number = Numbering(vocabulary).__getitem__
        flat: list[int] = []
        lengths: list[int] = []
        for terms in passage_terms:
            lengths.append(len(terms))
            flat.extend(map(number, terms))
        return cls.from_ids(vocabulary, np.asarray(flat, dtype=np.int64), np.asarray(lengths, dtype=np.int64))

    @classmethod
    def from_ids(cls, vocabulary: list[str], flat_ids: np.ndarray, lengths: np.ndarray) -> "ForwardIndex":
        """From every passage's term ids in text order (``lengths`` of them per passage), with
        ``vocabulary`` in any order: sorts the vocabulary and counts each passage's terms."""
        order = sorted(range(len(vocabulary)), key=vocabulary.__getitem__)
        rank = np.empty(len(vocabulary), dtype=np.int64)
        rank[order] = np.arange(len(vocabulary), dtype=np.int64)
        size = max(len(vocabulary), 1)
        owners = np.repeat(np.arange(lengths.shape[0], dtype=np.int64), lengths)
        keys, counts = np.unique(owners * size + rank[flat_ids], return_counts=True)
        passages = keys // size
        term_offsets = np.zeros(lengths.shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(passages, minlength=lengths.shape[0]), out=term_offsets[1:])
        return cls(
            [vocabulary[i] for i in order],
            term_offsets,
            (keys % size).astype(np.int32),
            compact_counts(counts),
            lengths.astype(np.int32),
        )


def compact_counts(counts: np.ndarray) -> np.ndarray:
    """Term frequencies as uint16 (they fit unless a passage repeats a word 65,536 times)."""
    if counts.size and int(counts.max()) > np.iinfo(np.uint16).max:
        return counts.astype(np.int32)
    return counts.astype(np.uint16)


def unseen_idf(doc_count: int) -> float:
    return math.log1p((doc_count + 0.5) / 0.5)


def top_positions(scores: np.ndarray, touched: Sequence[np.ndarray], count: int) -> list[int]:
    """Best-first positions with a positive score, among the passages the question touched.

    Only touched passages can score above zero, so when they are few this never looks at the
    rest of the array. Ties break on position (also at the k-th place), so results are
    deterministic. This is the exhaustive reference that ``bot.topk`` must agree with.
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
        # Everything at least as good as the count-th best, so ties there break on position.
        threshold = np.partition(values, candidates.size - count)[candidates.size - count]
        keep = values >= threshold
        candidates, values = candidates[keep], values[keep]
    order = np.lexsort((candidates, -values))[:count]
    return candidates[order].tolist()
