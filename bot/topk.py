"""The k best passages for a question without scoring every passage its terms reach.

Exhaustive scoring adds up every posting of every question term: at a million passages a
common word has hundreds of thousands. Top-k only needs the passages that can still beat the
k-th best score (MaxScore, Turtle & Flood 1995):

1. Each term's contribution to any passage is at most ``weight * max posting weight``: its bound.
2. The term with the highest bound (a rare, informative word) is scored in full; the exact
   scores of its most promising passages give a floor for the k-th best score.
3. A passage that has none of the terms scored so far scores at most the sum of the other
   terms' bounds. So the most expensive terms (the common words) whose bounds together stay
   below the floor are left out, the rest are scored in full, and the floor rises with each
   round. The passages found are the only candidates.
4. The terms left out are looked up only for the candidates that can still make the top k (by
   binary search in their postings, or one pass through a mark per candidate), dropping those
   that no longer can after each term.
5. The survivors are scored exactly, with the same float32 arithmetic in the same term order as
   exhaustive scoring, so scores and ties come out bit for bit the same (tests/test_topk.py
   compares both on random corpora).

When the question's postings are few, scoring them all is cheaper and is what happens.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from .postings import Postings

# Below this many postings, score them all: the bookkeeping of pruning costs more.
EXHAUSTIVE_POSTINGS = 20_000
# Float32 sums may round up a little; bounds are widened by this relative margin so rounding
# can never prune a passage that belongs in the top k.
_SLACK = 1e-5
# Sorting n passage ids costs about as much as scanning this many times n scores.
_SORT_VERSUS_SCAN = 16
# A binary search costs about as much as scanning this many postings.
_SEARCH_COST = 16


@dataclass(frozen=True)
class QueryTerm:
    term_id: int
    weight: np.float32  # the question's weight for the term
    start: int  # its postings, already restricted to the passages searched: [start, end)
    end: int
    bound: float  # the most it adds to any passage's score


class TopK:
    """Top-k retrieval over one ``Postings``; safe to share between threads."""

    def __init__(self, postings: Postings) -> None:
        self.postings = postings
        self._buffers = threading.local()

    def search(
        self, weighted_terms: list[tuple[int, float]], k: int, passages: tuple[int, int] | None = None
    ) -> list[tuple[int, float]]:
        """(position, score) of the ``k`` best passages with a positive score, best first, ties
        by position; ``passages`` limits the search to positions [start, end)."""
        terms = self._query_terms(weighted_terms, passages)
        if k <= 0 or not terms:
            return []
        total = sum(term.end - term.start for term in terms)
        if total <= EXHAUSTIVE_POSTINGS:
            return self._exhaustive(terms, k)
        return self._maxscore(terms, k)

    def _query_terms(self, weighted_terms: list[tuple[int, float]], passages: tuple[int, int] | None) -> list[QueryTerm]:
        postings = self.postings
        terms = []
        for term_id, weight in weighted_terms:
            if weight <= 0:
                continue
            start, end = int(postings.offsets[term_id]), int(postings.offsets[term_id + 1])
            if passages is not None:
                docs = postings.doc_ids[start:end]
                start, end = start + int(np.searchsorted(docs, passages[0])), start + int(np.searchsorted(docs, passages[1]))
            if end > start:
                weight32 = np.float32(weight)
                terms.append(QueryTerm(term_id, weight32, start, end, float(weight32) * float(postings.max_weights[term_id])))
        return terms

    def _exhaustive(self, terms: list[QueryTerm], k: int) -> list[tuple[int, float]]:
        postings = self.postings
        slices = [postings.doc_ids[term.start : term.end] for term in terms]
        merged = np.concatenate(slices)
        order = np.argsort(merged, kind="stable")
        ordered = merged[order]
        first = np.concatenate(([True], ordered[1:] != ordered[:-1]))
        candidates = ordered[first]
        inverse = np.empty(merged.shape[0], dtype=np.int64)
        inverse[order] = np.cumsum(first) - 1
        scores = np.zeros(candidates.shape[0], dtype=np.float32)
        offset = 0
        for term, docs in zip(terms, slices):
            # A term's passages are distinct, so fancy-index += adds each contribution once.
            scores[inverse[offset : offset + docs.shape[0]]] += term.weight * postings.weights[term.start : term.end]
            offset += docs.shape[0]
        return _best(candidates, scores, k)

    def _maxscore(self, terms: list[QueryTerm], k: int) -> list[tuple[int, float]]:
        postings = self.postings
        remaining = list(terms)
        scores, mask = self._scratch()
        touched: list[np.ndarray] = []
        floor = 0.0
        try:
            while True:
                take = self._to_take(remaining, floor)
                for term in take:
                    docs = postings.doc_ids[term.start : term.end]
                    scores[docs] += term.weight * postings.weights[term.start : term.end]
                    touched.append(docs)
                remaining = [term for term in remaining if term not in take]
                candidates = _distinct(touched, mask)
                partial = scores[candidates]
                if candidates.shape[0] >= k:
                    # The exact scores of the k most promising candidates: any k passages'
                    # k-th best score is a floor for the true k-th best, and a far higher one
                    # than partial scores give, so fewer terms have to be taken in full.
                    promising = np.sort(candidates[np.argpartition(partial, -k)[-k:]])
                    floor = max(floor, float(self._exact_scores(terms, promising).min()))
                if not remaining or _bound(remaining) < floor * (1 - _SLACK):
                    break
        finally:
            for docs in touched:
                scores[docs] = 0.0
        # The terms left out, largest bound first, only for the candidates that can still make
        # the top k; after each, those that no longer can are dropped (partial sums only grow,
        # so the k-th best of them is a floor too).
        remaining.sort(key=lambda term: -term.bound)
        alive, upper = candidates, partial.astype(np.float64)
        for position in range(len(remaining) + 1):
            keep = upper * (1 + _SLACK) + _bound(remaining[position:]) >= floor * (1 - _SLACK)
            alive, upper = alive[keep], upper[keep]
            if position == len(remaining) or alive.shape[0] <= k:
                break
            upper += self._contributions(remaining[position], alive, mask)
            if upper.shape[0] >= k:
                floor = max(floor, float(np.partition(upper, upper.shape[0] - k)[upper.shape[0] - k]))
        return _best(alive, self._exact_scores(terms, alive), k)

    @staticmethod
    def _to_take(remaining: list[QueryTerm], floor: float) -> list[QueryTerm]:
        """Terms whose postings must be scored in full: without a floor yet, the one with the
        highest bound (its passages are the likeliest to be best, so they give a high floor);
        with one, all but the most expensive terms whose bounds together stay below it (a
        passage with none of the taken terms cannot reach the floor). Which terms are left out
        is chosen by cost, not bound: a rare misspelling with a high bound is cheap to take."""
        if floor <= 0:
            return [max(remaining, key=lambda term: term.bound)]
        left_out: set[int] = set()
        bound = 0.0
        for term in sorted(remaining, key=_postings_count, reverse=True):
            if _bound([term], bound) < floor * (1 - _SLACK):
                left_out.add(id(term))
                bound += term.bound
        return [term for term in remaining if id(term) not in left_out] or remaining[:1]

    def _contributions(self, term: QueryTerm, candidates: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """What ``term`` adds to each of ``candidates`` (ascending): 0 where it is absent.

        Binary search of the candidates in the term's postings, or for many candidates one
        pass over the postings through a mark per candidate."""
        postings = self.postings
        docs = postings.doc_ids[term.start : term.end]
        weights = postings.weights[term.start : term.end]
        added = np.zeros(candidates.shape[0], dtype=np.float32)
        if candidates.shape[0] * _SEARCH_COST < docs.shape[0]:
            where = np.searchsorted(docs, candidates)
            inside = where < docs.shape[0]
            found = np.zeros(candidates.shape[0], dtype=bool)
            found[inside] = docs[where[inside]] == candidates[inside]
            added[found] = term.weight * weights[where[found]]
        else:
            mask[candidates] = True
            hit = mask[docs]
            mask[candidates] = False
            added[np.searchsorted(candidates, docs[hit])] = term.weight * weights[hit]
        return added

    def _exact_scores(self, terms: list[QueryTerm], candidates: np.ndarray) -> np.ndarray:
        """Scores of ``candidates`` (ascending) summed in question order in float32, exactly
        as exhaustive scoring adds them up."""
        scores = np.zeros(candidates.shape[0], dtype=np.float32)
        _, mask = self._scratch()
        for term in terms:
            scores += self._contributions(term, candidates, mask)
        return scores

    def _scratch(self) -> tuple[np.ndarray, np.ndarray]:
        # Per thread, a zeroed float32 score per passage and a cleared mark per passage, reset
        # after each use, instead of fresh np.zeros(N) per question (4 MB at a million).
        scratch = getattr(self._buffers, "scratch", None)
        if scratch is None:
            size = self.postings.doc_count
            scratch = self._buffers.scratch = (np.zeros(size, dtype=np.float32), np.zeros(size, dtype=bool))
        return scratch


def _postings_count(term: QueryTerm) -> int:
    return term.end - term.start


def _bound(terms: list[QueryTerm], plus: float = 0.0) -> float:
    """The most ``terms`` can add to a passage's score, widened for float32 rounding."""
    return (plus + sum(term.bound for term in terms)) * (1 + _SLACK)


def _distinct(touched: list[np.ndarray], mask: np.ndarray) -> np.ndarray:
    """The distinct passages of several ascending arrays, ascending."""
    if len(touched) == 1:
        return touched[0]
    count = sum(docs.shape[0] for docs in touched)
    if count * _SORT_VERSUS_SCAN < mask.shape[0]:
        merged = np.sort(np.concatenate(touched))
        return merged[np.concatenate(([True], merged[1:] != merged[:-1]))]
    for docs in touched:  # many: mark them, then one scan of the marks
        mask[docs] = True
    distinct = np.flatnonzero(mask).astype(np.int32)
    mask[distinct] = False
    return distinct


def _best(candidates: np.ndarray, scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    keep = scores > 0
    candidates, scores = candidates[keep], scores[keep]
    if candidates.shape[0] > k:
        # The k-th best score, then everything at least that good: ties at the boundary are
        # all kept so the position tie-break below is applied to all of them.
        threshold = np.partition(scores, candidates.shape[0] - k)[candidates.shape[0] - k]
        keep = scores >= threshold
        candidates, scores = candidates[keep], scores[keep]
    order = np.lexsort((candidates, -scores))[:k]
    return list(zip(candidates[order].tolist(), scores[order].tolist()))
