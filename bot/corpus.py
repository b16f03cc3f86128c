"""Reading a corpus folder and cleaning the noise real scraped articles carry.

Cleaning never renumbers lines: every kept line remembers its number in the original file, so
a passage can always be cited as ``file.txt:12-14``.
"""

from __future__ import annotations

import hashlib
import operator
import os
import re
import unicodedata
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISDIR, S_ISREG
from typing import Mapping, Sequence

import numpy as np
from rapidfuzz import fuzz

CORPUS_SUFFIXES = (".txt", ".md")

# A file bigger than this is almost certainly not an article (a dump, a log, a mistake).
MAX_FILE_BYTES = 64 * 1024 * 1024

# Typographic characters that machine translation and CMSs sprinkle in; folding them keeps
# quotes searchable and the cleaning comparisons exact.
_TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u00ab": '"', "\u00bb": '"',
        "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-",
        "\u2026": "...",
        "\u00a0": " ",
    }
)
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\u00ad]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACES = re.compile(r"\s+")
_TERMINAL = ('.', '!', '?', '"', "'", ')', ']', ':', ';')
# "Headline text - SiteName": a short trailing site name after a dash or a pipe.
_SITE_SUFFIX = re.compile(r"(?<=\S{2})\s+[-|]\s+([^\s.!?|][^.!?|]{1,30})$")
# Below this length a line is only a teaser when it is cut mid-word: shorter lines that are
# prefixes of others are usually list items or headings, not scraping leftovers.
_LONG_TEASER_CHARS = 100
_PREFIX_KEY_CHARS = 24
_MIN_TRUNCATED_CHARS = 30
_NEAR_PREFIX_RATIO = 85.0
_SITE_SUFFIX_SPAN = 34
_NORMALIZE_BLOCK_CHARS = 1 << 18


@dataclass(frozen=True)
class Line:
    number: int  # 1-based line number in the original file
    text: str


@dataclass(frozen=True)
class Document:
    source: str  # path relative to the corpus folder, with forward slashes
    paragraphs: tuple[tuple[Line, ...], ...]
    headings: frozenset[int] = frozenset()  # numbers of the Markdown heading lines (not in code)

    @property
    def lines(self) -> tuple[Line, ...]:
        return tuple(line for paragraph in self.paragraphs for line in paragraph)


@dataclass(frozen=True)
class SkippedFile:
    source: str
    reason: str


@dataclass(frozen=True)
class Corpus:
    root: Path
    documents: Sequence[Document]  # a tuple, or read again from disk on access (see LazyDocuments)
    skipped: tuple[SkippedFile, ...]
    # Source → hash of the file's bytes when it was indexed: what a reload compares.
    digests: Mapping[str, str] = field(default_factory=dict)


class LazyDocuments(Sequence[Document]):
    """The indexed articles, read and cleaned again when asked for.

    The index keeps passages, not whole documents, so a large corpus is not held in memory
    twice; a document read here is the file as it is now on disk.
    """

    def __init__(self, root: Path, sources: Sequence[str]) -> None:
        self.root = root
        self.sources = sources

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, position):
        if isinstance(position, slice):
            return [self[i] for i in range(*position.indices(len(self)))]
        source = self.sources[position]
        result = read_and_clean(source, self.root / source)
        return result if isinstance(result, Document) else Document(source, ())


DIGEST_BYTES = 16


def file_digest(data: bytes) -> bytes:
    """Hash of a file's bytes: what tells that an article changed (the index cache keeps it raw)."""
    return hashlib.blake2b(data, digest_size=DIGEST_BYTES).digest()


def content_digest(data: bytes) -> str:
    """``file_digest`` in hex, as a reload compares it."""
    return file_digest(data).hex()


class CorpusError(Exception):
    """The corpus folder itself cannot be used (missing, not a folder)."""


def normalize_text(text: str) -> str:
    """Unicode-normalise one line: NFKC, plain quotes and dashes, no invisible characters."""
    text = unicodedata.normalize("NFKC", text).translate(_TYPOGRAPHY)
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def normalize_lines(lines: list[str]) -> list[str]:
    """``normalize_text`` of every line, a block of about 256 KB of lines at a time.

    Whole blocks keep the work in a few C calls; bounded blocks keep each call short, since a
    C call holds the GIL and one over a 50 MB file stalled the bot's event loop for seconds
    during a reload.
    """
    normalized: list[str] = []
    start = size = 0
    for end, line in enumerate(lines, 1):
        size += len(line) + 1
        if size >= _NORMALIZE_BLOCK_CHARS:
            normalized.extend(_normalize_block(lines[start:end]))
            start, size = end, 0
    normalized.extend(_normalize_block(lines[start:]))
    return normalized


def _normalize_block(lines: list[str]) -> list[str]:
    r"""``normalize_text`` of every line, done on the block at once.

    One C call per step for the block instead of one per line (5x faster on news). Equal to the
    per-line version because the lines are joined with a newline, which none of the steps creates,
    removes or combines with a neighbour (NFKC never composes across it), and because
    ``str.split()`` and the regex ``\s`` agree on what whitespace is.
    """
    if not lines:
        return []
    text = "\n".join(lines)
    if not text.isascii():  # NFKC, the typography table and the invisibles only touch non-ASCII
        text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text).translate(_TYPOGRAPHY))
    if _CONTROL.search(text):
        text = _CONTROL.sub(" ", text)
    if text.isascii() and _single_spaced(text):
        return text.split("\n")
    return [" ".join(line.split()) for line in text.split("\n")]


def _single_spaced(text: str) -> bool:
    """True when collapsing whitespace would change none of the lines of ASCII ``text``.

    After the control characters are gone, an ASCII line's only whitespace is spaces and tabs.
    """
    return (
        "  " not in text and "\t" not in text and " \n" not in text and "\n " not in text
        and not text.startswith(" ") and not text.endswith(" ")
    )


def decode_bytes(data: bytes) -> str:
    """UTF-8 first (with or without BOM); Windows-1252, then Latin-1, which never fails."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def looks_binary(data: bytes) -> bool:
    # NUL bytes never occur in text files in any encoding we read; they do in every binary.
    return b"\x00" in data[:8192]


@dataclass(frozen=True)
class CorpusListing:
    """The article files of a corpus folder, sorted by source, with what ``stat`` says of each
    (UNKNOWN_STAT for all plain files of a names-only listing).

    A list and an array rather than one object per file: a million-passage corpus has half a
    million files, and a restart only compares these against the index cache.
    """

    root: Path
    sources: list[str]  # path relative to the folder, forward slashes, sorted
    stats: np.ndarray  # int64[F, 4]: FileStat of each file (rows of UNKNOWN_STAT if listed without)
    skipped: list[SkippedFile]

    def path(self, position: int) -> str:
        """Where to open a file."""
        return os.path.join(self.root, *self.sources[position].split("/"))

    @property
    def paths(self) -> list[str]:
        if os.sep == "/":  # sources are already in the form of a relative path: one concatenation each
            prefix = os.path.join(self.root, "")
            return [prefix + source for source in self.sources]
        return [self.path(i) for i in range(len(self.sources))]  # pragma: no cover - Windows


# (size, mtime_ns, ctime_ns, inode) of a file (of its target, for a symlink): together they
# change whenever the file's contents can have changed.
FileStat = tuple[int, int, int, int]
UNKNOWN_STAT: FileStat = (-1, -1, -1, -1)


def file_stat(stat: os.stat_result) -> FileStat:
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)


_SUFFIXES = frozenset(CORPUS_SUFFIXES)


def scan_corpus(root: str | os.PathLike[str], *, with_stats: bool = True) -> CorpusListing:
    """Every .txt/.md file under ``root``, recursively, in a stable order.

    Symlinked folders are not descended (no loops); a symlinked file is read only when it
    points inside the corpus folder. ``with_stats=False`` lists names only (plain files are
    known by the folder entry's type; their stats are UNKNOWN_STAT): 5-7x faster, for a build
    that reads every file anyway and takes each stat from the open file.
    """
    root_path = Path(root)
    if not root_path.exists():
        raise CorpusError(f"corpus folder {str(root_path)!r} does not exist")
    if not root_path.is_dir():
        raise CorpusError(f"corpus path {str(root_path)!r} is not a folder")
    walker = _Walker(os.path.realpath(root_path), with_stats)
    if os.scandir in os.supports_fd:
        # Listing by folder descriptor makes every stat a one-name lookup (25% faster on big
        # folders than resolving the whole path again).
        try:
            fd = os.open(root_path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except OSError as error:
            walker.skipped.append(SkippedFile(".", f"cannot list folder: {error.strerror}"))
        else:
            walker.walk(fd, str(root_path), "")
    else:  # pragma: no cover - Windows
        walker.walk(str(root_path), str(root_path), "")
    sources = walker.sources
    stats = np.frombuffer(walker.stats, dtype=np.int64).reshape(-1, 4)
    # Folders are walked in name order, so this is nearly sorted already (and timsort cheap).
    order = sorted(range(len(sources)), key=sources.__getitem__)
    if order != list(range(len(sources))):
        sources, stats = [sources[i] for i in order], stats[order]
    return CorpusListing(root_path, sources, stats, walker.skipped)


class _Walker:
    def __init__(self, resolved_root: str, with_stats: bool = True) -> None:
        self.resolved_root = resolved_root
        self.with_stats = with_stats
        self.sources: list[str] = []
        self.stats = array("q")
        self.skipped: list[SkippedFile] = []

    def walk(self, folder_or_fd: int | str, folder: str, prefix: str) -> None:
        """List one folder (by descriptor, which it closes, or by path) and its subfolders.

        The per-file work is kept to a few C calls: a restart lists every file of the corpus.
        """
        by_fd = isinstance(folder_or_fd, int)
        try:
            try:
                with os.scandir(folder_or_fd) as listing:
                    entries = sorted(listing, key=_entry_name)
            except OSError as error:
                self.skipped.append(SkippedFile(prefix.rstrip("/") or ".", f"cannot list folder: {error.strerror}"))
                return
            sources, add_stat = self.sources, self.stats.extend
            for entry in entries:
                name = entry.name
                if entry.is_dir(follow_symlinks=False):
                    self._descend(folder_or_fd if by_fd else None, folder, prefix, name)
                    continue
                dot = name.rfind(".")
                if dot <= 0 or name[dot:].lower() not in _SUFFIXES:
                    continue
                symlink = entry.is_symlink()
                if symlink and not _inside_folder(os.path.realpath(os.path.join(folder, name)), self.resolved_root):
                    self.skipped.append(SkippedFile(prefix + name, "symlink points outside the corpus folder"))
                    continue
                if not self.with_stats and not symlink and entry.is_file(follow_symlinks=False):
                    sources.append(prefix + name)
                    add_stat(UNKNOWN_STAT)
                    continue
                try:
                    # By name under the folder's descriptor: a fifth cheaper than entry.stat().
                    stat = os.stat(name, dir_fd=folder_or_fd) if by_fd else entry.stat()
                except OSError as error:
                    self.skipped.append(SkippedFile(prefix + name, describe_read_error(error)))
                    continue
                if not S_ISREG(stat.st_mode):
                    if not S_ISDIR(stat.st_mode):  # a symlink to a folder is a folder we do not descend
                        self.skipped.append(SkippedFile(prefix + name, "not a regular file"))
                    continue
                sources.append(prefix + name)
                add_stat(file_stat(stat))
        finally:
            if by_fd:
                os.close(folder_or_fd)

    def _descend(self, fd: int | None, folder: str, prefix: str, name: str) -> None:
        path = os.path.join(folder, name)
        if fd is None:  # pragma: no cover - Windows
            self.walk(path, path, prefix + name + "/")
            return
        try:
            child = os.open(name, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0), dir_fd=fd)
        except OSError as error:
            self.skipped.append(SkippedFile(prefix + name, f"cannot list folder: {error.strerror}"))
            return
        self.walk(child, path, prefix + name + "/")


_entry_name = operator.attrgetter("name")


def _inside_folder(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def read_file_bytes(path: str | os.PathLike[str]) -> bytes:
    """The file's bytes (``os.read``: a third of ``open().read()``'s cost on small files)."""
    return read_file(path)[0]


def read_file(path: str | os.PathLike[str]) -> tuple[bytes, FileStat]:
    """The file's bytes, and its stat as it was opened."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        stat = os.fstat(fd)
        size = stat.st_size
        if size > MAX_FILE_BYTES:
            raise ValueError(f"too large ({size / 1e6:.0f} MB > {MAX_FILE_BYTES / 1e6:.0f} MB)")
        chunks = []
        while chunk := os.read(fd, max(size + 1, 65536)):
            chunks.append(chunk)
            if sum(map(len, chunks)) > MAX_FILE_BYTES:
                raise ValueError(f"too large (> {MAX_FILE_BYTES / 1e6:.0f} MB)")
        return (chunks[0] if len(chunks) == 1 else b"".join(chunks)), file_stat(stat)
    finally:
        os.close(fd)


def decode_article(data: bytes) -> str:
    """Text of an article file's bytes; ``ValueError`` when they are not text."""
    if looks_binary(data):
        raise ValueError("binary file, not text")
    return decode_bytes(data)


def clean_document(source: str, raw_text: str) -> Document:
    """Normalise lines, drop repeated and truncated copies, and group lines into paragraphs."""
    texts = strip_site_suffixes(normalize_lines(raw_text.splitlines()))
    lines = [Line(number, text) for number, text in enumerate(texts, 1) if text]
    structure = markdown_structure(texts)
    kept = set(drop_noise_lines(lines, keep=structure.code))
    return Document(source, group_paragraphs(texts, lines, kept, structure.alone), structure.headings)


def strip_site_suffixes(texts: list[str]) -> list[str]:
    """Remove a trailing " - SiteName" that several lines of the same file end with."""
    matches = [_site_suffix(text) for text in texts]
    suffixes = Counter(match.group(1) for match in matches if match)
    repeated = {suffix for suffix, count in suffixes.items() if count >= 2}
    if not repeated:
        return texts
    return [
        text[: match.start()].rstrip() if match and match.group(1) in repeated else text
        for text, match in zip(texts, matches)
    ]


def _site_suffix(text: str) -> re.Match[str] | None:
    # On a normalised line (single spaces) a match is " - " plus at most 31 characters, so it
    # lies in the last 34: checking those first skips the regex on almost every line.
    tail = text[-_SITE_SUFFIX_SPAN:]
    if " - " not in tail and " | " not in tail:
        return None
    return _SITE_SUFFIX.search(text)


def drop_noise_lines(lines: list[Line], keep: frozenset[int] = frozenset()) -> list[int]:
    """Numbers of the lines worth keeping: first copies only, and no truncated copies. Lines in
    ``keep`` (code, whose repeated "```" and "}" are part of it) are kept as they are."""
    seen: set[str] = set()
    unique: list[Line] = []
    for line in lines:
        if line.number in keep:
            continue
        key = line.text.casefold()
        if key not in seen:
            seen.add(key)
            unique.append(line)
    truncated = find_truncated_copies(unique)
    kept = {line.number for line in unique if line.number not in truncated}
    return [line.number for line in lines if line.number in kept or line.number in keep]


def find_truncated_copies(lines: list[Line]) -> set[int]:
    """Lines that are a cut-off copy of the start of another, longer line of the same file.

    Scraped pages repeat the lead paragraph as a teaser cut mid-word ("the two sides ha"); the
    teaser is sometimes an earlier wording of the paragraph, so a near-identical prefix counts.
    Lines are bucketed by their first characters so this stays linear on big files.
    """
    buckets: dict[str, list[Line]] = {}
    shared = False
    for line in lines:
        if len(line.text) >= _MIN_TRUNCATED_CHARS:
            key = line.text[:_PREFIX_KEY_CHARS].casefold()
            bucket = buckets.get(key)
            if bucket is None:
                buckets[key] = [line]
            else:
                bucket.append(line)
                shared = True
    truncated: set[int] = set()
    if not shared:  # every line starts differently: the common case, nothing to compare
        return truncated
    for bucket in buckets.values():
        if len(bucket) < 2:
            continue
        for short in bucket:
            if short.text.endswith(_TERMINAL):
                continue
            if any(_is_truncated_copy(short.text, other.text) for other in bucket if other is not short):
                truncated.add(short.number)
    return truncated


def _is_truncated_copy(short: str, long: str) -> bool:
    if len(long) <= len(short):
        return False
    short_folded, head = short.casefold(), long[: len(short)].casefold()
    if short_folded == head:
        cut_mid_word = long[len(short) - 1].isalnum() and long[len(short)].isalnum()
        return cut_mid_word or len(short) >= _LONG_TEASER_CHARS
    return len(short) >= _LONG_TEASER_CHARS and fuzz.ratio(short_folded, head) >= _NEAR_PREFIX_RATIO


def group_paragraphs(texts: list[str], lines: list[Line], kept: set[int], alone: frozenset[int]) -> tuple[tuple[Line, ...], ...]:
    """Paragraphs are runs of non-blank lines; a file without blank lines has one per line.

    ``texts`` are all lines of the file (blank ones too), ``lines`` the non-blank ones. Dropped
    lines end a paragraph as a blank line would, so the text around a removed teaser is not
    glued together. The lines in ``alone`` (headings, table rows, code: their breaks carry
    meaning) stand alone, and a list item or a quote starts a paragraph, so a quoted table or
    list keeps its rows.
    """
    has_blank_lines = len(lines) < len(texts)
    paragraphs: list[tuple[Line, ...]] = []
    current: list[Line] = []
    previous = 0
    for line in lines:
        # A gap in the numbers is a blank line.
        if current and (line.number != previous + 1 or starts_a_block(line.text, current[-1].text, current[0].text)):
            paragraphs.append(tuple(current))
            current = []
        previous = line.number
        if line.number not in kept:
            if current:
                paragraphs.append(tuple(current))
                current = []
            continue
        if current and line.number in alone:
            paragraphs.append(tuple(current))
            current = []
        current.append(line)
        if not has_blank_lines or line.number in alone:
            paragraphs.append(tuple(current))
            current = []
    if current:
        paragraphs.append(tuple(current))
    return tuple(paragraphs)


# Markdown (and plain-text) structure: "# Heading"; "| cell | cell |"; "```" or "~~~" fences;
# "- item", "* item", "• item", "1. item"; "> quote".
_HEADING = re.compile(r"#{1,6}(?:\s|$)")
_FENCES = ("```", "~~~")
_BULLET = re.compile(r"[-*+\u2022]\s")
_NUMBERED = re.compile(r"\d{1,3}[.)]\s")
_ENDS_A_CLAUSE = (".", "!", "?", ":", ";", ")")


@dataclass(frozen=True)
class MarkdownStructure:
    """Line numbers (1-based) of a file's Markdown blocks whose line breaks are part of what
    they say."""

    code: frozenset[int]  # fences and the lines between an opening fence and its closing one
    headings: frozenset[int]  # "## Requirements" outside code
    rows: frozenset[int]  # "| cell | cell |" outside code

    @property
    def alone(self) -> frozenset[int]:
        """The lines that are a paragraph of their own."""
        return self.code | self.headings | self.rows


def markdown_structure(texts: list[str]) -> MarkdownStructure:
    code = code_lines(texts)
    headings: set[int] = set()
    rows: set[int] = set()
    for number, text in enumerate(texts, 1):
        if number in code:
            continue  # "# install deps" in a shell block is a comment, not a heading
        if text.startswith("|"):
            rows.add(number)
        elif is_heading(text):
            headings.add(number)
    return MarkdownStructure(frozenset(code), frozenset(headings), frozenset(rows))


def code_lines(texts: list[str]) -> set[int]:
    """Fenced code: from a "```" (or "~~~") line to the next line opening with the same fence.
    A fence never closed is not code: one stray "```" must not turn the rest into code."""
    code: set[int] = set()
    opened: tuple[int, str] | None = None
    for number, text in enumerate(texts, 1):
        fence = text[:3]
        if fence not in _FENCES:
            continue
        if opened is None:
            opened = (number, fence)
        elif fence == opened[1]:
            code.update(range(opened[0], number + 1))
            opened = None
    return code


def is_heading(text: str) -> bool:
    """A Markdown heading ("## Requirements"), not a hashtag ("#Kyiv")."""
    return text.startswith("#") and _HEADING.match(text) is not None


def starts_a_block(text: str, previous: str, paragraph_start: str) -> bool:
    """A list item or a quote begins here, not a wrapped line of the paragraph so far. A quote
    line goes on a quote; an item follows a line that ended a clause ("…as follows:") or another
    item, since a wrapped sentence can break before "- which was agreed -" or "20. The talks"."""
    if text[:1] == ">":
        return paragraph_start[:1] != ">"
    if not is_list_item(text):
        return False
    return previous.endswith(_ENDS_A_CLAUSE) or is_list_item(paragraph_start)


def is_list_item(text: str) -> bool:
    first = text[:1]
    if first in ("-", "*", "+", "\u2022"):  # the regexes only for lines that may match, as few do
        return _BULLET.match(text) is not None
    return first.isdigit() and _NUMBERED.match(text) is not None


def read_and_clean(source: str, path: str | os.PathLike[str], digests: dict[str, str] | None = None) -> Document | SkippedFile:
    """One article file, cleaned; or why it is skipped. Records the file's hash in ``digests``."""
    try:
        data = read_file_bytes(path)
        text = decode_article(data)
    except (OSError, ValueError) as error:
        return SkippedFile(source, describe_read_error(error))
    document = clean_document(source, text)
    if not document.paragraphs:
        return SkippedFile(source, "no text")
    if digests is not None:
        digests[source] = content_digest(data)
    return document


def load_corpus(root: str | os.PathLike[str]) -> Corpus:
    """Read and clean every article under ``root``; unreadable files are skipped, not fatal."""
    listing = scan_corpus(root)
    skipped = list(listing.skipped)
    documents: list[Document] = []
    digests: dict[str, str] = {}
    for source, path in zip(listing.sources, listing.paths):
        result = read_and_clean(source, path, digests)
        if isinstance(result, SkippedFile):
            skipped.append(result)
        else:
            documents.append(result)
    return Corpus(listing.root, tuple(documents), tuple(sorted(skipped, key=lambda s: s.source)), digests)


def describe_read_error(error: OSError | ValueError) -> str:
    if isinstance(error, PermissionError):
        return "permission denied"
    if isinstance(error, FileNotFoundError):
        return "file disappeared while reading"
    if isinstance(error, OSError):
        return f"cannot read: {error.strerror or error}"
    return str(error)
