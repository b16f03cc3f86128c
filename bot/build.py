"""Corpus folder → ready-to-ask engine, with the figures a moderator wants to see."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from .analyzer import Analyzer
from .answers import Engine, SearchOptions
from .config import EngineSettings
from .corpus import Corpus, SkippedFile, load_corpus
from .index import Bm25Params, build_index
from .passages import corpus_passages


@dataclass(frozen=True)
class BuildReport:
    corpus_dir: Path
    documents: int
    passages: int
    terms: int
    skipped: tuple[SkippedFile, ...]
    seconds: float
    passages_per_source: dict[str, int]


@dataclass(frozen=True)
class Built:
    engine: Engine
    corpus: Corpus
    report: BuildReport


def search_options(settings: EngineSettings) -> SearchOptions:
    return SearchOptions(
        top_k=settings.top_k,
        fuzzy=settings.fuzzy,
        min_match=settings.min_match,
        min_coverage=settings.min_coverage,
    )


def build_engine(settings: EngineSettings, analyzer: Analyzer | None = None) -> Built:
    """Read, clean, chunk and index the corpus folder. Raises ``CorpusError`` if it is unusable."""
    started = time.perf_counter()
    corpus = load_corpus(settings.corpus_dir)
    passages = corpus_passages(corpus.documents, settings.passage_tokens)
    index = build_index(passages, analyzer or Analyzer(), Bm25Params(settings.k1, settings.b))
    per_source: dict[str, int] = {}
    for passage in passages:
        per_source[passage.source] = per_source.get(passage.source, 0) + 1
    report = BuildReport(
        corpus_dir=Path(settings.corpus_dir),
        documents=len(corpus.documents),
        passages=len(passages),
        terms=len(index.vocabulary),
        skipped=corpus.skipped,
        seconds=time.perf_counter() - started,
        passages_per_source=per_source,
    )
    return Built(Engine(index, search_options(settings)), corpus, report)
