"""Article files → compact arrays: what a build worker sends back and the index cache keeps.

A ``Segment`` is a run of files, read, cleaned, cut into passages and analysed. It is numpy
arrays, bytes and lists of strings only, so it crosses a process boundary cheaply and persists
without pickles. Its vocabulary is sorted, so segments merge without re-sorting any passage's
terms, and a file's slice of a segment is the same whichever build produced it: a reload takes
the unchanged files' slices from the cache and only reads the changed files again.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, replace
from itertools import chain
from typing import Sequence

import numpy as np

from .analyzer import Analyzer
from .columns import Column, Numbering, range_positions
from .corpus import DIGEST_BYTES, Document, FileStat, SkippedFile, clean_document, decode_article, describe_read_error, file_digest, read_file
from .passages import Chunks, WordTable, chunk_documents
from .postings import ForwardIndex

@dataclass(frozen=True)
class Segment:
    """Files (those with passages), their passages and the passages' terms."""

    sources: list[str]  # path relative to the corpus folder, in corpus order
    digests: np.ndarray  # uint8[F, 16]: hash of each file's bytes
    stats: np.ndarray  # int64[F, 4]: (size, mtime_ns, ctime_ns, inode) as listed, or as opened for a file read by this build
    file_passages: np.ndarray  # int64[F + 1]: file f's passages are [file_passages[f], file_passages[f + 1])
    texts: bytes | np.ndarray  # UTF-8 of every passage, back to back (uint8 when read from the cache)
    text_offsets: np.ndarray  # int64[N + 1]: byte offsets of the passages in ``texts``
    lines: np.ndarray  # int32[N, 2]: first and last line of each passage in its file
    forward: ForwardIndex
    skipped: tuple[SkippedFile, ...] = ()

    @property
    def file_count(self) -> int:
        return len(self.sources)

    @property
    def passage_count(self) -> int:
        return int(self.lines.shape[0])

    def text(self, passage: int) -> str:
        start, end = int(self.text_offsets[passage]), int(self.text_offsets[passage + 1])
        return bytes(self.texts[start:end]).decode("utf-8")

    def files(self, start: int, end: int) -> "Segment":
        """Files [start, end) of this segment, with their passages (sharing its vocabulary)."""
        first, last = int(self.file_passages[start]), int(self.file_passages[end])
        text_start, text_end = int(self.text_offsets[first]), int(self.text_offsets[last])
        term_start, term_end = int(self.forward.term_offsets[first]), int(self.forward.term_offsets[last])
        forward = ForwardIndex(
            self.forward.vocabulary,
            self.forward.term_offsets[first : last + 1] - term_start,
            self.forward.term_ids[term_start:term_end],
            self.forward.term_freqs[term_start:term_end],
            self.forward.lengths[first:last],
        )
        return Segment(
            self.sources[start:end],
            self.digests[start:end],
            self.stats[start:end],
            self.file_passages[start : end + 1] - first,
            self.texts[text_start:text_end],
            self.text_offsets[first : last + 1] - text_start,
            self.lines[first:last],
            forward,
        )

    def with_stats(self, stats: np.ndarray) -> "Segment":
        return replace(self, stats=stats)

    def relisted(self, sources: list[str], stats: np.ndarray) -> "Segment":
        """The same passages under the files' current names and stats."""
        return replace(self, sources=sources, stats=stats)


def empty_segment() -> Segment:
    return Segment(
        [],
        np.zeros((0, DIGEST_BYTES), dtype=np.uint8),
        np.zeros((0, 4), dtype=np.int64),
        np.zeros(1, dtype=np.int64),
        b"",
        np.zeros(1, dtype=np.int64),
        np.zeros((0, 2), dtype=np.int32),
        ForwardIndex([], np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.uint16), np.zeros(0, dtype=np.int32)),
    )


FileJob = tuple[str, str]  # (source, path to open); its stat is taken as it is read


def process_files(jobs: Sequence[FileJob], passage_tokens: int, analyzer: Analyzer) -> Segment:
    """Read, clean, chunk and analyse files; unreadable or empty ones are listed as skipped."""
    read: list[tuple[int, bytes, FileStat, Document]] = []  # (job, bytes, stat, document) of the files read
    skipped: list[tuple[int, SkippedFile]] = []
    for job, (source, path) in enumerate(jobs):
        try:
            data, stat = read_file(path)
            text = decode_article(data)
        except (OSError, ValueError) as error:
            skipped.append((job, SkippedFile(source, describe_read_error(error))))
            continue
        read.append((job, data, stat, clean_document(source, text)))
    # All files of the batch are chunked together: that is where the per-word work is shared.
    chunks = chunk_documents([document for _, _, _, document in read], passage_tokens)
    sources: list[str] = []
    digests: list[bytes] = []
    stats: list[FileStat] = []
    file_passages = [0]
    for (job, data, stat, document), count in zip(read, chunks.per_document):
        if not count:
            skipped.append((job, SkippedFile(document.source, "no text")))
            continue
        sources.append(document.source)
        digests.append(file_digest(data))
        stats.append(stat)  # as read, so it describes the bytes indexed
        file_passages.append(file_passages[-1] + count)
    passages = chunks.passages
    encoded = [passage.text.encode("utf-8") for passage in passages]
    text_offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(text) for text in encoded], out=text_offsets[1:])
    return Segment(
        sources,
        np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(-1, DIGEST_BYTES).copy(),
        np.asarray(stats, dtype=np.int64).reshape(-1, 4),
        np.asarray(file_passages, dtype=np.int64),
        b"".join(encoded),
        text_offsets,
        np.asarray([(p.first_line, p.last_line) for p in passages], dtype=np.int32).reshape(-1, 2),
        analyze_chunks(chunks, analyzer),
        tuple(skipped for _, skipped in sorted(skipped, key=lambda item: item[0])),
    )


def analyze_chunks(chunks: Chunks, analyzer: Analyzer) -> ForwardIndex:
    """Every passage's terms, counted, from the words the chunker laid out.

    A passage's terms are its words' terms in order (no term spans whitespace), and each
    distinct word is analysed once per process (``_WordTerms``), so this is array work: gather
    each word's terms, count them per passage. The segment gets its own sorted vocabulary of the
    terms used.
    """
    terms = _word_terms(analyzer, chunks.table)
    words = chunks.word_ids
    counts = terms.counts[words]
    # Word j's terms sit at terms.flat[starts[j] : starts[j] + counts[j]].
    stream = terms.flat[range_positions(terms.starts[words], counts)]
    cumulative = np.concatenate(([0], np.cumsum(counts)))
    lengths = cumulative[chunks.word_offsets[1:]] - cumulative[chunks.word_offsets[:-1]]
    # The batch's own numbering of the terms it uses (a gather, not a search per term).
    used = np.flatnonzero(np.bincount(stream, minlength=len(terms.vocabulary)))
    local = np.zeros(len(terms.vocabulary), dtype=np.int64)
    local[used] = np.arange(used.shape[0])
    vocabulary = terms.vocabulary
    return ForwardIndex.from_ids([vocabulary[i] for i in used.tolist()], local[stream], lengths)


# ASCII punctuation but the underscore (a word character) and "$" (a term, ``dollar``): at the
# ends of a chunk it is never part of a term (terms start with a letter, a digit or a currency
# sign, and joiners need one on each side).
_EDGE_PUNCTUATION = "!\"#%&'()*+,-./:;<=>?@[\\]^`{|}~"


class _WordTerms:
    """The analyzer's terms of each word of a ``WordTable``, as ids into a process-wide
    vocabulary: word w's are ``flat[starts[w] : starts[w] + counts[w]]``. The words met since the
    last batch are analysed by ``update``, all together.

    No term starts or ends with punctuation, so "said," and "(said" are "said": words are
    analysed by their *core* (the word without edge punctuation), once per core, and a word's
    terms are its core's (real text has several punctuated forms of most words)."""

    def __init__(self, analyzer: Analyzer, table: WordTable) -> None:
        self.table = table
        self._analyzer = analyzer
        self._cores: list[str] = []
        self._core_ids = Numbering(self._cores)
        self._core_counts = Column(np.int64)  # core c's terms are flat[core_starts[c] : + core_counts[c]]
        self._core_starts = Column(np.int64)
        self.vocabulary: list[str] = []
        self._term_ids = Numbering(self.vocabulary)
        self._counts = Column(np.int64)
        self._starts = Column(np.int64)
        self._flat = Column(np.int32)

    @property
    def counts(self) -> np.ndarray:
        return self._counts.values

    @property
    def starts(self) -> np.ndarray:
        return self._starts.values

    @property
    def flat(self) -> np.ndarray:
        return self._flat.values

    def update(self) -> None:
        new = self.table.words[len(self._counts) :]
        if not new:
            return
        known = len(self._cores)
        cores = np.fromiter(map(self._core_ids.__getitem__, (word.strip(_EDGE_PUNCTUATION) for word in new)), dtype=np.int64, count=len(new))
        if len(self._cores) > known:
            self._add_cores(self._cores[known:])
        self._counts.extend(self._core_counts.values[cores])
        self._starts.extend(self._core_starts.values[cores])

    def _add_cores(self, cores: list[str]) -> None:
        terms = self._analyzer.chunks_terms(cores)
        counts = np.fromiter(map(len, terms), dtype=np.int64, count=len(terms))
        starts = np.full(counts.shape[0], len(self._flat), dtype=np.int64)
        starts[1:] += np.cumsum(counts[:-1])
        self._core_counts.extend(counts)
        self._core_starts.extend(starts)
        ids = map(self._term_ids.__getitem__, chain.from_iterable(terms))
        self._flat.extend(np.fromiter(ids, dtype=np.int32, count=int(counts.sum())))


_MAX_TERMS = 1 << 22
_WORD_TERMS = threading.local()  # per thread, like the word tables they follow


def _word_terms(analyzer: Analyzer, table: WordTable) -> _WordTerms:
    """The analyzer's terms for the table's words, kept for the thread's life (workers handle
    many batches) and started afresh with a new table or past ``_MAX_TERMS`` terms."""
    by_analyzer: "weakref.WeakKeyDictionary[Analyzer, _WordTerms] | None" = getattr(_WORD_TERMS, "by_analyzer", None)
    if by_analyzer is None:
        by_analyzer = _WORD_TERMS.by_analyzer = weakref.WeakKeyDictionary()
    terms = by_analyzer.get(analyzer)
    if terms is None or terms.table is not table or len(terms.vocabulary) > _MAX_TERMS:
        terms = by_analyzer[analyzer] = _WordTerms(analyzer, table)
    terms.update()
    return terms


def merge_segments(parts: Sequence[Segment]) -> Segment:
    """One segment of ``parts`` in order, over one sorted vocabulary of the terms they use."""
    parts = [part for part in parts if part.file_count or part.skipped]
    if not parts:
        return empty_segment()
    if len(parts) == 1 and not _unused_terms(parts[0]):
        return parts[0]
    vocabulary, mappings = _merged_vocabulary(parts)
    forward = ForwardIndex(
        vocabulary,
        _concat_offsets([part.forward.term_offsets for part in parts]),
        np.concatenate([mappings[id(part.forward.vocabulary)][part.forward.term_ids] for part in parts]).astype(np.int32),
        _concat_counts([part.forward.term_freqs for part in parts]),
        np.concatenate([part.forward.lengths for part in parts]).astype(np.int32),
    )
    return Segment(
        [source for part in parts for source in part.sources],
        np.concatenate([part.digests for part in parts]),
        np.concatenate([part.stats for part in parts]),
        _concat_offsets([part.file_passages for part in parts]),
        b"".join(_as_bytes(part.texts) for part in parts),
        _concat_offsets([part.text_offsets for part in parts]),
        np.concatenate([part.lines for part in parts]).astype(np.int32),
        forward,
        tuple(skipped for part in parts for skipped in part.skipped),
    )


def _unused_terms(part: Segment) -> bool:
    vocabulary_size = len(part.forward.vocabulary)
    if not vocabulary_size:
        return False
    return bool((np.bincount(part.forward.term_ids, minlength=vocabulary_size) == 0).any())


def _merged_vocabulary(parts: Sequence[Segment]) -> tuple[list[str], dict[int, np.ndarray]]:
    """The sorted union of the terms the parts use, and each part vocabulary's id mapping.

    Parts taken from the same stored index share its vocabulary object, so the mapping is
    computed once per vocabulary, not once per part. Both vocabularies are sorted, so the
    mapping is increasing and each passage's terms stay in order.
    """
    used: dict[int, np.ndarray] = {}
    vocabularies: dict[int, Sequence[str]] = {}
    for part in parts:
        key = id(part.forward.vocabulary)
        vocabularies[key] = part.forward.vocabulary
        counts = np.bincount(part.forward.term_ids, minlength=len(part.forward.vocabulary)) > 0
        used[key] = counts if key not in used else used[key] | counts
    used_terms = {key: _terms_at(vocabularies[key], mask) for key, mask in used.items()}
    vocabulary = sorted(set().union(*used_terms.values()))
    position = dict(zip(vocabulary, range(len(vocabulary))))
    mappings = {}
    for key, mask in used.items():
        terms = used_terms[key]
        mapping = np.full(len(vocabularies[key]), -1, dtype=np.int32)
        mapping[mask] = np.fromiter(map(position.__getitem__, terms), dtype=np.int32, count=len(terms))
        mappings[key] = mapping
    return vocabulary, mappings


def _terms_at(vocabulary: Sequence[str], mask: np.ndarray) -> Sequence[str]:
    # A new segment uses every term of its vocabulary; a stored one, shared by many parts, not.
    if mask.all():
        return vocabulary
    return [vocabulary[i] for i in np.flatnonzero(mask).tolist()]


def _concat_offsets(offsets: Sequence[np.ndarray]) -> np.ndarray:
    pieces = [np.zeros(1, dtype=np.int64)]
    base = 0
    for part in offsets:
        pieces.append(np.asarray(part[1:], dtype=np.int64) - int(part[0]) + base)
        base += int(part[-1]) - int(part[0])
    return np.concatenate(pieces)


def _concat_counts(counts: Sequence[np.ndarray]) -> np.ndarray:
    dtype = np.int32 if any(part.dtype != np.uint16 for part in counts if part.size) else np.uint16
    return np.concatenate([part.astype(dtype, copy=False) for part in counts]) if counts else np.zeros(0, dtype=dtype)


def _as_bytes(texts: bytes | np.ndarray) -> bytes | memoryview:
    return texts if isinstance(texts, bytes) else memoryview(np.ascontiguousarray(texts))
