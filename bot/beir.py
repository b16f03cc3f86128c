"""Retrieval quality on a BEIR-format dataset (e.g. SciFact), with the bot's own ranking.

A BEIR folder holds ``corpus.jsonl`` (``{"_id", "title", "text"}``), ``queries.jsonl``
(``{"_id", "text"}``) and ``qrels/<split>.tsv`` (``query-id  corpus-id  score``, with a header).
Each document becomes ONE passage (title and text) analysed and scored by the bot's own
``Analyzer`` and ``SearchIndex``; each query is ranked by the same weighted-term scoring as
``Engine.ask`` (spelling variants included when fuzzy matching is on) but without the no-match
thresholds and duplicate removal, since the metrics need a full ranked list.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .analyzer import STOPWORDS, Analyzer
from .answers import Engine, SearchOptions
from .index import Bm25Params, build_index
from .metrics import mean, mrr_at_k, ndcg_at_k, recall_at_k
from .passages import Passage

DEPTH = 100  # documents ranked per query: enough for Recall@100


class BeirFormatError(ValueError):
    """The folder is not a readable BEIR dataset; the message names the file and line."""


@dataclass(frozen=True)
class BeirDataset:
    name: str
    documents: dict[str, str]  # doc id -> title and text, as indexed
    queries: dict[str, str]  # query id -> text, only queries that have qrels
    qrels: dict[str, dict[str, int]]  # query id -> doc id -> relevance grade


@dataclass(frozen=True)
class BeirParams:
    k1: float = 1.2
    b: float = 0.75
    stem: bool = True
    stopwords: bool = True
    fuzzy: bool = True
    semantic_weight: float = 0.5


@dataclass(frozen=True)
class BeirReport:
    dataset: str
    documents: int
    queries: int
    ndcg_at_10: float
    recall_at_100: float
    mrr_at_10: float
    load_seconds: float
    build_seconds: float
    query_seconds: float
    params: BeirParams

    @property
    def queries_per_second(self) -> float:
        return self.queries / self.query_seconds if self.query_seconds else 0.0

    def as_dict(self) -> dict:
        return {
            "dataset": self.dataset,
            "documents": self.documents,
            "queries": self.queries,
            "ndcg@10": round(self.ndcg_at_10, 4),
            "recall@100": round(self.recall_at_100, 4),
            "mrr@10": round(self.mrr_at_10, 4),
            "load_seconds": round(self.load_seconds, 3),
            "build_seconds": round(self.build_seconds, 3),
            "query_seconds": round(self.query_seconds, 3),
            "queries_per_second": round(self.queries_per_second, 1),
            "params": asdict(self.params),
        }


def _jsonl(path: Path):
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise BeirFormatError(f"cannot read {path}: {error.strerror or error}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            yield str(record["_id"]), record
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise BeirFormatError(f"{path}:{number}: not a BEIR record ({error})") from None


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()  # also drops the CR of CRLF files
    except OSError as error:
        raise BeirFormatError(f"cannot read {path}: {error.strerror or error}") from None
    qrels: dict[str, dict[str, int]] = {}
    for number, line in enumerate(lines, 1):
        fields = line.split("\t")
        if not line.strip() or (number == 1 and fields[0] == "query-id"):
            continue
        try:
            query_id, doc_id, grade = fields
            qrels.setdefault(query_id, {})[doc_id] = int(grade)
        except ValueError:
            raise BeirFormatError(f"{path}:{number}: expected 'query-id<TAB>corpus-id<TAB>score', got {line!r}") from None
    return qrels


def load_beir(folder: str | Path, split: str = "test") -> BeirDataset:
    folder = Path(folder)
    documents = {}
    for doc_id, record in _jsonl(folder / "corpus.jsonl"):
        title, text = str(record.get("title") or "").strip(), str(record.get("text") or "").strip()
        documents[doc_id] = f"{title}\n{text}" if title else text
    all_queries = {query_id: str(record.get("text") or "") for query_id, record in _jsonl(folder / "queries.jsonl")}
    qrels = load_qrels(folder / "qrels" / f"{split}.tsv")
    missing = sorted(set(qrels) - set(all_queries))
    if missing:
        raise BeirFormatError(f"qrels/{split}.tsv names queries that queries.jsonl lacks: {', '.join(missing[:5])}")
    queries = {query_id: all_queries[query_id] for query_id in qrels}
    return BeirDataset(folder.name, documents, queries, qrels)


def build_beir_engine(dataset: BeirDataset, params: BeirParams) -> Engine:
    analyzer = Analyzer(stem=params.stem, stopwords=STOPWORDS if params.stopwords else None)
    passages = [Passage(doc_id, 1, 1, text) for doc_id, text in dataset.documents.items()]
    index = build_index(passages, analyzer, Bm25Params(params.k1, params.b))
    return Engine(index, SearchOptions(fuzzy=params.fuzzy, semantic_weight=params.semantic_weight))


def run_queries(engine: Engine, queries: dict[str, str], depth: int = DEPTH) -> dict[str, list[str]]:
    """Query id -> ranked document ids, best first (at most ``depth``, only positive scores)."""
    passages = engine.index.passages
    return {
        query_id: [passages[position].source for position, _ in engine.ranked(text, depth)]
        for query_id, text in queries.items()
    }


def evaluate_beir(dataset: BeirDataset, params: BeirParams = BeirParams(), load_seconds: float = 0.0) -> BeirReport:
    started = time.perf_counter()
    engine = build_beir_engine(dataset, params)
    built = time.perf_counter()
    rankings = run_queries(engine, dataset.queries)
    finished = time.perf_counter()
    qrels = dataset.qrels
    return BeirReport(
        dataset=dataset.name,
        documents=len(dataset.documents),
        queries=len(dataset.queries),
        ndcg_at_10=mean(ndcg_at_k(rankings[q], qrels[q], 10) for q in dataset.queries),
        recall_at_100=mean(recall_at_k(rankings[q], qrels[q], 100) for q in dataset.queries),
        mrr_at_10=mean(mrr_at_k(rankings[q], qrels[q], 10) for q in dataset.queries),
        load_seconds=load_seconds,
        build_seconds=built - started,
        query_seconds=finished - built,
        params=params,
    )
