"""Top-k with pruning returns exactly what scoring every posting returns."""

from __future__ import annotations

import random

import numpy as np
import pytest

from bot import topk
from bot.postings import Postings, top_positions
from bot.topk import TopK


def exhaustive(postings: Postings, query: list[tuple[int, float]], k: int, passages=None) -> list[tuple[int, float]]:
    """The reference: every posting of every term added up, then the k best."""
    scores = np.zeros(postings.doc_count, dtype=np.float32)
    touched = []
    for term_id, weight in query:
        if weight > 0:
            ids = postings.accumulate(scores, term_id, weight)
            if passages is not None:
                ids = ids[(ids >= passages[0]) & (ids < passages[1])]
            touched.append(ids)
    return [(position, float(scores[position])) for position in top_positions(scores, touched, k)]


def zipf_corpus(rng: random.Random, vocabulary_size: int, passages: int) -> list[list[str]]:
    # Word frequencies like real text: a few very common terms, many rare ones.
    vocabulary = [f"t{i}" for i in range(vocabulary_size)]
    weights = [1 / (rank + 1) for rank in range(vocabulary_size)]
    return [rng.choices(vocabulary, weights=weights, k=rng.randint(1, 40)) for _ in range(passages)]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("force_pruning", [False, True])
def test_pruned_top_k_equals_exhaustive_scoring(seed, force_pruning, monkeypatch):
    if force_pruning:  # even tiny questions take the MaxScore path
        monkeypatch.setattr(topk, "EXHAUSTIVE_POSTINGS", 0)
    rng = random.Random(seed)
    corpus = zipf_corpus(rng, rng.choice([30, 300, 3000]), rng.choice([200, 2000]))
    postings = Postings.build(corpus)
    search = TopK(postings)
    terms = list(postings.term_ids)
    for _ in range(25):
        query = [(postings.term_ids[t], rng.choice([1.0, 0.8, 0.3, 0.24])) for t in rng.sample(terms, min(len(terms), rng.randint(1, 8)))]
        k = rng.choice([1, 3, 10, 24, 100])
        passages = rng.choice([None, (0, postings.doc_count), (postings.doc_count // 3, postings.doc_count // 2)])
        assert search.search(query, k, passages) == exhaustive(postings, query, k, passages)


def test_ties_break_on_position_even_at_the_kth_place():
    # Ten identical passages: the three best are the first three, whatever the path.
    postings = Postings.build([["apple", "pie"]] * 10 + [["apple"]] * 5)
    query = [(postings.term_ids["apple"], 1.0), (postings.term_ids["pie"], 1.0)]
    assert [p for p, _ in TopK(postings).search(query, 3)] == [0, 1, 2]


def test_nothing_to_find_gives_nothing():
    postings = Postings.build([["apple"], ["pear"]])
    search = TopK(postings)
    assert search.search([], 5) == []
    assert search.search([(postings.term_ids["apple"], 1.0)], 0) == []
    assert search.search([(postings.term_ids["apple"], 0.0)], 5) == []
    assert search.search([(postings.term_ids["apple"], 1.0)], 5, (1, 2)) == []


def test_the_engine_ranks_with_the_pruned_search(seeds_built):
    index = seeds_built.engine.index
    for question in ("How many cruise missiles did Russia launch?", "Zelensky NATO door open Stoltenberg"):
        weights = {term: 1.0 for term in index.analyzer.analyze(question)}
        scores, touched = index.score(weights)
        expected = [(p, float(scores[p])) for p in top_positions(scores, touched, 24)]
        assert index.top(weights, 24) == expected
