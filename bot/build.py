"""Corpus folder → ready-to-ask engine, with the figures a moderator wants to see.

A build lists the folder, takes every unchanged file's passages and terms from the index
cache (a file is unchanged when its stat matches, or failing that its content hash), reads
only the other files (in worker processes when there are many), merges everything into one
index, and stores it for the next start. With an unchanged corpus that is a listing and a
load of the stored arrays; after editing one article, one file is read.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from . import places, semantic, tagging
from .analyzer import Analyzer
from .answers import Engine, SearchOptions
from .cache import CacheKey, IndexCache, StoredIndex
from .config import EngineSettings
from .corpus import Corpus, CorpusListing, LazyDocuments, SkippedFile, describe_read_error, file_digest, read_file_bytes, scan_corpus
from .index import Bm25Params, SearchIndex, warm_up_everyday_words
from .passage_store import PassageStore
from .passages import PASSAGES_VERSION, encoding, load_encoding_in_background
from .postings import Postings
from .progress import Progress
from .segments import FileJob, Segment, merge_segments, process_files

log = logging.getLogger(__name__)

# Fewer files than this are read in this process: starting workers costs more than it saves.
PARALLEL_MIN_FILES = 1000
# Files per job. Fewer, bigger jobs cost less (each sorts its own vocabulary, and the parent
# merges them all), but the last ones must be small for the workers to finish together: each
# job takes a share of the files still left ("guided" scheduling), from MAX_BATCH_FILES down to
# BATCH_FILES, which keeps results (pickled over a pipe) a few megabytes.
BATCH_FILES = 400
MAX_BATCH_FILES = 2000
_GUIDED_SHARE = 4  # a job takes 1 / (_GUIDED_SHARE x workers) of the files left
# A file modified this recently may still be changing within the same timestamp tick, so its
# stat is not trusted next time (it is hashed again), as git does for "racily clean" files.
_RACY_NS = 2_000_000_000


@dataclass(frozen=True)
class BuildReport:
    corpus_dir: Path
    documents: int
    passages: int
    terms: int
    skipped: tuple[SkippedFile, ...]
    seconds: float
    passages_per_source: dict[str, int]
    files_read: int = 0  # files read and analysed in this build (the others came from the cache)
    cache: str = "off"  # off | cold | hit | updated


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
        semantic_weight=settings.semantic_weight,
    )


def warm_up_models(settings: EngineSettings) -> None:
    """Load the models questions may need (cl100k's everyday words; the tagger and its lexicon;
    the countries' names; the embeddings unless re-ranking by meaning is off) now, not on the
    first question that needs them."""
    warm_up_word_lists()
    tagging.warm_up()
    if settings.semantic_weight > 0:
        semantic.warm_up()


def warm_up_word_lists() -> None:
    """The word lists most questions look words up in (about 0.15 s): cl100k's everyday words,
    the tagger's lexicon (without the tagger, whose NLTK import takes a second) and the
    countries' names."""
    warm_up_everyday_words()
    tagging.warm_up_lexicon()
    places.warm_up()


def cache_key(settings: EngineSettings, analyzer: Analyzer) -> CacheKey:
    return CacheKey(settings.passage_tokens, settings.k1, settings.b, analyzer.fingerprint, PASSAGES_VERSION)


def build_engine(settings: EngineSettings, analyzer: Analyzer | None = None, progress: Progress | None = None) -> Built:
    """Read, clean, chunk and index the corpus folder. Raises ``CorpusError`` if it is unusable.

    ``settings.cache_dir`` (``INDEX_CACHE_DIR``) keeps the index between runs; None builds
    from scratch every time.
    """
    started = time.perf_counter()
    analyzer = analyzer or Analyzer()
    with gc_paused():
        result = build_segment(settings, analyzer, progress)
        segment = result.segment
        passages = PassageStore(segment)
        index = SearchIndex(passages, analyzer, Bm25Params(settings.k1, settings.b), result.postings, segment.forward)
    # Questions need the tokenizer (is a word an everyday word or a name?).
    load_encoding_in_background()
    release_free_memory()
    listing = result.listing
    corpus = Corpus(listing.root, LazyDocuments(listing.root, segment.sources), result.skipped, passages.digests())
    report = BuildReport(
        corpus_dir=Path(settings.corpus_dir),
        documents=segment.file_count,
        passages=segment.passage_count,
        terms=len(segment.forward.vocabulary),
        skipped=result.skipped,
        seconds=time.perf_counter() - started,
        passages_per_source=passages.passages_per_source(),
        files_read=result.files_read,
        cache=result.cache,
    )
    return Built(Engine(index, search_options(settings)), corpus, report)


@dataclass(frozen=True)
class SegmentBuild:
    listing: CorpusListing
    segment: Segment
    postings: Postings
    skipped: tuple[SkippedFile, ...]
    files_read: int
    cache: str


def build_segment(settings: EngineSettings, analyzer: Analyzer, progress: Progress | None = None) -> SegmentBuild:
    """The corpus's passages, terms and postings, from the cache where the files are unchanged."""
    scanned_at = time.time_ns()
    listing, cache, stored = scan_and_load(settings, analyzer)
    stats = listing.stats
    plan = plan_build(listing, stored)
    new_segments = run_jobs(plan.jobs, settings.passage_tokens, analyzer, progress)
    skipped = [*listing.skipped, *plan.skipped, *(s for segment in new_segments for s in segment.skipped)]
    skipped_report = tuple(sorted(skipped, key=lambda s: s.source))
    located = locate_jobs(plan.jobs, new_segments)
    kept = plan.kept_files(located)
    kept_sources = [listing.sources[f] for f in kept.tolist()]
    if plan.unchanged(stored, kept_sources):
        # Nothing changed but perhaps some stats: the stored index is the index.
        kept_stats = trusted_stats(stats[kept], scanned_at)
        if not np.array_equal(kept_stats, stored.segment.stats):
            stored = cache.update_stats(stored, kept_stats)
        return SegmentBuild(listing, stored.segment, stored.postings, skipped_report, 0, "hit")
    # Names as listed now (a renamed or copied file reuses passages stored under another name);
    # stats as listed for the stored files, as read for the others.
    merged = merge_segments(plan.parts(stored, new_segments, located))
    read_now = (plan.kinds[kept] == JOB)[:, None]
    segment = merged.relisted(kept_sources, trusted_stats(np.where(read_now, merged.stats, stats[kept]), scanned_at))
    postings = Postings.from_forward(segment.forward, settings.k1, settings.b)
    if cache is None:
        return SegmentBuild(listing, segment, postings, skipped_report, len(plan.jobs), "off")
    try:
        saved = cache.save(segment, postings)
    except OSError as error:
        log.warning("Could not write the index cache to %s: %s", settings.cache_dir, error)
        return SegmentBuild(listing, segment, postings, skipped_report, len(plan.jobs), "off")
    return SegmentBuild(listing, saved.segment, saved.postings, skipped_report, len(plan.jobs), "updated" if stored else "cold")


def scan_and_load(settings: EngineSettings, analyzer: Analyzer) -> tuple[CorpusListing, IndexCache | None, StoredIndex | None]:
    """List the folder and load the cached index at the same time: listing a big corpus is
    mostly stat calls and loading mostly reads and checksums, all of which let go of the GIL,
    so on a restart the two overlap instead of adding up.

    With no stored index to compare against, every file is read, and its stat is taken from
    the open file then: the listing is names only (the stat calls were most of its time)."""
    if not settings.cache_dir:
        return scan_corpus(settings.corpus_dir, with_stats=False), None, None
    cache = IndexCache(settings.cache_dir, Path(settings.corpus_dir), cache_key(settings, analyzer))
    with_stats = cache.has_stored()
    with ThreadPoolExecutor(1) as loader:
        stored = loader.submit(cache.load)
        try:
            listing = scan_corpus(settings.corpus_dir, with_stats=with_stats)
        finally:
            loaded = stored.result()
    if loaded is not None and not with_stats:  # stored by another build meanwhile
        listing = scan_corpus(settings.corpus_dir)
    return listing, cache, loaded


def trusted_stats(stats: np.ndarray, scanned_at: int) -> np.ndarray:
    """File stats to remember, with the mtime of files modified just before the scan (or after
    it, for stats taken as files were read) set to -1 so that next time they are hashed rather
    than trusted."""
    stats = stats.copy()
    stats[stats[:, 1] > scanned_at - _RACY_NS, 1] = -1
    return stats


STORED, JOB, SKIP = 0, 1, 2


@dataclass
class BuildPlan:
    """Where each listed file's passages come from: the stored index or a new job."""

    kinds: np.ndarray  # int8 per listed file: STORED, JOB or SKIP (unreadable)
    indexes: np.ndarray  # int64 per listed file: its file index in the stored index, or its job index
    jobs: list[FileJob]
    skipped: list[SkippedFile]

    def unchanged(self, stored: StoredIndex | None, sources: list[str]) -> bool:
        """Every stored file is reused, in order, under its name, and nothing else: the stored
        index is the index."""
        if stored is None or self.jobs or sources != stored.segment.sources:
            return False
        reused = self.indexes[self.kinds == STORED]
        return reused.shape[0] == stored.segment.file_count and bool((reused == np.arange(reused.shape[0])).all())

    def kept_files(self, located: dict[int, tuple[int, int]]) -> np.ndarray:
        """Positions (in the listing) of the files that end up with passages, in order."""
        produced = np.zeros(len(self.jobs), dtype=bool)
        produced[list(located)] = True
        from_jobs = np.zeros(self.kinds.shape[0], dtype=bool)
        is_job = self.kinds == JOB
        from_jobs[is_job] = produced[self.indexes[is_job]]
        return np.flatnonzero((self.kinds == STORED) | from_jobs)

    def parts(self, stored: StoredIndex | None, new_segments: Sequence[Segment], located: dict[int, tuple[int, int]]) -> list[Segment]:
        """The final segment's pieces in corpus order: runs of stored files and of new files."""
        runs: list[list[int]] = []  # [segment number (-1: stored), start, end]
        for kind, index in zip(self.kinds.tolist(), self.indexes.tolist()):
            if kind == STORED:
                number, file = -1, index
            elif kind == JOB and index in located:
                number, file = located[index]
            else:
                continue
            if runs and runs[-1][0] == number and runs[-1][2] == file:
                runs[-1][2] = file + 1
            else:
                runs.append([number, file, file + 1])
        return [(stored.segment if number < 0 else new_segments[number]).files(start, end) for number, start, end in runs]


def locate_jobs(jobs: Sequence[FileJob], new_segments: Sequence[Segment]) -> dict[int, tuple[int, int]]:
    """Job index → (segment number, file index in it) for the jobs that produced passages.

    Each segment covers the next ``file_count + len(skipped)`` jobs, in order.
    """
    located: dict[int, tuple[int, int]] = {}
    job = 0
    for number, segment in enumerate(new_segments):
        produced = {source: i for i, source in enumerate(segment.sources)}
        for _ in range(segment.file_count + len(segment.skipped)):
            found = produced.get(jobs[job][0])
            if found is not None:
                located[job] = (number, found)
            job += 1
    return located


def plan_build(listing: CorpusListing, stored: StoredIndex | None) -> BuildPlan:
    """Reuse a stored file when its stat matches; otherwise hash it, and reuse it if a stored
    file has the same bytes (touched, renamed or copied articles); otherwise read it anew."""
    count = len(listing.sources)
    if stored is None:
        jobs = list(zip(listing.sources, listing.paths))
        return BuildPlan(np.full(count, JOB, dtype=np.int8), np.arange(count, dtype=np.int64), jobs, [])
    old = stored.segment
    if listing.sources == old.sources:  # the usual restart: same files, only stats to compare
        indexes = np.arange(count, dtype=np.int64)
    else:
        old_position = {source: i for i, source in enumerate(old.sources)}
        indexes = np.fromiter((old_position.get(source, -1) for source in listing.sources), dtype=np.int64, count=count)
    known = indexes >= 0
    same = np.zeros(count, dtype=bool)
    if known.any():
        old_stats = old.stats[indexes[known]]
        same[known] = (old_stats == listing.stats[known]).all(axis=1) & (old_stats[:, 1] >= 0)
    kinds = np.full(count, STORED, dtype=np.int8)
    jobs: list[FileJob] = []
    skipped: list[SkippedFile] = []
    by_digest: dict[bytes, int] | None = None
    for position in np.flatnonzero(~same).tolist():
        source, path = listing.sources[position], listing.path(position)
        try:
            digest = file_digest(read_file_bytes(path))
        except (OSError, ValueError) as error:
            skipped.append(SkippedFile(source, describe_read_error(error)))
            kinds[position] = SKIP
            continue
        own = int(indexes[position])
        if own >= 0 and bytes(old.digests[own]) == digest:
            continue  # touched, not changed: its own stored passages (indexes already says so)
        if by_digest is None:
            by_digest = {}
            for i, stored_digest in enumerate(map(bytes, old.digests)):
                by_digest.setdefault(stored_digest, i)
        match = by_digest.get(digest)
        if match is not None:  # the same bytes as another stored file (a copy, a rename)
            indexes[position] = match
        else:
            kinds[position], indexes[position] = JOB, len(jobs)
            jobs.append((source, path))
    return BuildPlan(kinds, indexes, jobs, skipped)


def run_jobs(jobs: list[FileJob], passage_tokens: int, analyzer: Analyzer, progress: Progress | None) -> list[Segment]:
    """Process the files, in worker processes when there are many; segments in job order."""
    if not jobs:
        return []
    workers = worker_count()
    parallel = len(jobs) >= PARALLEL_MIN_FILES and workers >= 2
    batches = job_batches(jobs, workers if parallel else 1)
    report = progress or (lambda stage, done, total: None)
    report("reading articles", 0, len(jobs))
    segments = []
    done = 0
    with _processed(batches, passage_tokens, analyzer, workers if parallel else 0) as results:
        for batch, segment in zip(batches, results):
            segments.append(segment)
            done += len(batch)
            report("reading articles", done, len(jobs))
    return segments


@contextmanager
def _processed(batches: list[list[FileJob]], passage_tokens: int, analyzer: Analyzer, workers: int) -> Iterator[Iterator[Segment]]:
    """Each batch's segment, in order, as it is ready: in this process, or in ``workers``
    worker processes."""
    if not workers:
        yield (process_files(batch, passage_tokens, analyzer) for batch in batches)
        return
    options = (analyzer.stem, tuple(sorted(analyzer.stopwords)))
    _WORKER_ANALYZERS[options] = analyzer  # forked workers start with its memos, warm or not
    # Loaded before the fork (waiting for a background load under way): forked workers then
    # have it and take no lock that a thread of this process could have held at the fork.
    encoding()
    try:
        with ProcessPoolExecutor(workers, mp_context=_pool_context(), initializer=_worker_start) as pool:
            futures = [pool.submit(_process_in_worker, batch, passage_tokens, options) for batch in batches]
            yield (future.result() for future in futures)
    finally:
        # The workers got their copy at fork; kept here, an old index's memos would outlive it.
        _WORKER_ANALYZERS.pop(options, None)


def job_batches(jobs: list[FileJob], workers: int) -> list[list[FileJob]]:
    """``jobs`` cut into consecutive batches, big ones first (see ``MAX_BATCH_FILES``)."""
    batches = []
    start = 0
    while start < len(jobs):
        left = len(jobs) - start
        size = min(left, max(BATCH_FILES, min(MAX_BATCH_FILES, left // (_GUIDED_SHARE * workers))))
        batches.append(jobs[start : start + size])
        start += size
    return batches


def worker_count() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def _pool_context() -> multiprocessing.context.BaseContext:
    # fork where there is one: workers start at once, with everything imported. Forking a
    # process that runs other threads (the Discord bot reloading) is safe for these workers:
    # they only read files and compute, taking no lock another thread could hold at the fork
    # (no logging, no shared streams, no imports). Elsewhere, spawn.
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")  # pragma: no cover - not Linux


_WORKER_ANALYZERS: dict[tuple, Analyzer] = {}


def _worker_start() -> None:
    # Workers build many short-lived objects and no reference cycles: the collector only costs.
    gc.disable()


def _process_in_worker(jobs: list[FileJob], passage_tokens: int, options: tuple) -> Segment:
    analyzer = _WORKER_ANALYZERS.get(options)
    if analyzer is None:
        stem, stopwords = options
        analyzer = _WORKER_ANALYZERS[options] = Analyzer(stem=stem, stopwords=frozenset(stopwords))
    return process_files(jobs, passage_tokens, analyzer)


def release_free_memory() -> None:
    """Give the heap memory a build freed back to the system (glibc keeps it otherwise: a
    million-passage build would leave the bot 0.8 GB larger than a restart does)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while building: the build allocates millions of small
    objects and frees no cycles, and full collections over them cost a third of the time. In
    the bot, a collection triggered in the build thread would also hold the GIL for tens of
    milliseconds and stall the event loop."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
