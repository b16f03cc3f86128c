"""Article files → compact arrays: what a build worker sends back and the index cache keeps.

A ``Segment`` is a run of files, read, cleaned, cut into passages and analysed. It is numpy
arrays, bytes and lists of strings only, so it crosses a process boundary cheaply and persists
without pickles. Its vocabulary is sorted, so segments merge without re-sorting any passage's
terms, and a file's slice of a segment is the same whichever build produced it: a reload takes
the unchanged files' slices from the cache and only reads the changed files again.
"""

from __future__ import annotations

import hashlib
import weakref
from dataclasses import dataclass, replace
from itertools import chain
from typing import Sequence

import numpy as np

from .analyzer import Analyzer
from .corpus import FileStat, SkippedFile, clean_document, decode_article, read_file_bytes, describe_read_error
from .passages import Passage, document_passages
from .postings import ForwardIndex

DIGEST_BYTES = 16
# Separates passages when a whole batch is analysed in one pass; cleaning turns every control
# character into a space, so no passage contains it.
_PASSAGE_BREAK = "\x00"


def content_digest(data: bytes) -> bytes:
    """Hash of a file's bytes (``corpus.content_digest`` as 16 raw bytes)."""
    return hashlib.blake2b(data, digest_size=DIGEST_BYTES).digest()


@dataclass(frozen=True)
class Segment:
    """Files (those with passages), their passages and the passages' terms."""

    sources: list[str]  # path relative to the corpus folder, in corpus order
    digests: np.ndarray  # uint8[F, 16]: hash of each file's bytes
    stats: np.ndarray  # int64[F, 4]: (size, mtime_ns, ctime_ns, inode) when the file was listed
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


FileJob = tuple[str, str, FileStat]  # (source, path to open, stat when listed)


def process_files(jobs: Sequence[FileJob], passage_tokens: int, analyzer: Analyzer) -> Segment:
    """Read, clean, chunk and analyse files; unreadable or empty ones are listed as skipped."""
    sources: list[str] = []
    digests: list[bytes] = []
    stats: list[FileStat] = []
    passages: list[Passage] = []
    file_passages = [0]
    skipped: list[SkippedFile] = []
    for source, path, stat in jobs:
        try:
            data = read_file_bytes(path)
            text = decode_article(data)
        except (OSError, ValueError) as error:
            skipped.append(SkippedFile(source, describe_read_error(error)))
            continue
        document = clean_document(source, text)
        found = document_passages(document, passage_tokens) if document.paragraphs else []
        if not found:
            skipped.append(SkippedFile(source, "no text"))
            continue
        sources.append(source)
        digests.append(content_digest(data))
        stats.append(stat)
        passages.extend(found)
        file_passages.append(len(passages))
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
        analyze_passages([passage.text for passage in passages], analyzer),
        tuple(skipped),
    )


def analyze_passages(texts: list[str], analyzer: Analyzer) -> ForwardIndex:
    """Every passage's terms, counted, in one pass over the batch.

    The batch is one string with a break between passages, and each whitespace-separated chunk
    maps to its term ids through a memo kept for the process's life (workers handle many
    batches), so the per-token work happens in C (``str.split``, ``map``, ``np.fromiter``)
    rather than in a Python loop. The segment gets its own sorted vocabulary of the terms used.
    """
    if not texts:
        return ForwardIndex.from_ids([], np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    chunk_ids = _chunk_ids(analyzer)
    flat = np.fromiter(
        chain.from_iterable(map(chunk_ids.__getitem__, f" {_PASSAGE_BREAK} ".join(texts).split())), dtype=np.int64
    )
    breaks = np.flatnonzero(flat < 0)
    lengths = np.diff(np.concatenate(([-1], breaks, [flat.shape[0]]))) - 1
    flat = flat[flat >= 0]
    used = np.unique(flat)
    terms = chunk_ids.terms
    return ForwardIndex.from_ids([terms[i] for i in used.tolist()], np.searchsorted(used, flat), lengths)


# ASCII punctuation but the underscore (a word character): at the ends of a chunk it is never
# part of a term (terms start with a letter or digit and joiners need one on each side).
_EDGE_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^`{|}~"


class _ChunkIds(dict):
    """Chunk → its terms' ids in a process-wide vocabulary, computed on first sight."""

    _MAX_TERMS = 1 << 22

    def __init__(self, analyzer: Analyzer) -> None:
        super().__init__()
        self._analyzer = analyzer
        self.vocabulary: dict[str, int] = {}
        self.terms: list[str] = []
        self[_PASSAGE_BREAK] = (-1,)

    def __missing__(self, chunk: str) -> tuple[int, ...]:
        # No term starts or ends with punctuation, so "said," and "(said" are "said": one
        # analysis for all of them (real text has several punctuated forms of most words).
        core = chunk.strip(_EDGE_PUNCTUATION)
        if len(core) != len(chunk):
            ids = self[core] if core else ()
        else:
            ids = tuple(map(self._id, self._analyzer.chunk_terms(chunk)))
        self[chunk] = ids
        return ids

    def _id(self, term: str) -> int:
        found = self.vocabulary.get(term)
        if found is None:
            found = self.vocabulary[term] = len(self.terms)
            self.terms.append(term)
        return found


_CHUNK_IDS: "weakref.WeakKeyDictionary[Analyzer, _ChunkIds]" = weakref.WeakKeyDictionary()


def _chunk_ids(analyzer: Analyzer) -> _ChunkIds:
    memo = _CHUNK_IDS.get(analyzer)
    if memo is None or len(memo.terms) > _ChunkIds._MAX_TERMS:
        memo = _CHUNK_IDS[analyzer] = _ChunkIds(analyzer)
    return memo


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
    used_terms = {key: [vocabularies[key][i] for i in np.flatnonzero(mask).tolist()] for key, mask in used.items()}
    vocabulary = sorted(set().union(*used_terms.values()))
    position = {term: i for i, term in enumerate(vocabulary)}
    mappings = {}
    for key, mask in used.items():
        mapping = np.full(len(vocabularies[key]), -1, dtype=np.int32)
        mapping[np.flatnonzero(mask)] = [position[term] for term in used_terms[key]]
        mappings[key] = mapping
    return vocabulary, mappings


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
