"""Ranked-retrieval metrics as BEIR reports them (pytrec_eval / trec_eval definitions).

Each function takes one query's ranked document ids (best first) and its qrels (document id →
graded relevance; 0 or below means not relevant) and returns a number in [0, 1]:

* nDCG@k: gain = the relevance grade (linear, as trec_eval's ``ndcg_cut``), discount
  ``1 / log2(rank + 1)``; the ideal DCG sorts the qrels' own grades, so relevant documents the
  ranking never returned still count against it.
* Recall@k: relevant documents in the top k / all relevant documents in the qrels.
* MRR@k: 1 / rank of the first relevant document in the top k, 0 when there is none.

A query without any relevant document scores 0 everywhere; ``mean`` averages over queries.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence


def dcg(gains: Iterable[float]) -> float:
    return sum(gain / math.log2(rank + 1) for rank, gain in enumerate(gains, 1))


def ndcg_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int = 10) -> float:
    ideal = dcg(sorted((g for g in qrels.values() if g > 0), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return dcg(max(qrels.get(doc, 0), 0) for doc in ranked[:k]) / ideal


def recall_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int = 100) -> float:
    relevant = {doc for doc, grade in qrels.items() if grade > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / len(relevant)


def mrr_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int = 10) -> float:
    for rank, doc in enumerate(ranked[:k], 1):
        if qrels.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def mean(values: Iterable[float]) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0
