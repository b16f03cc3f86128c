"""Reading a corpus folder and cleaning the noise real scraped articles carry.

Cleaning never renumbers lines: every kept line remembers its number in the original file, so
a passage can always be cited as ``file.txt:12-14``.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True)
class Line:
    number: int  # 1-based line number in the original file
    text: str


@dataclass(frozen=True)
class Document:
    source: str  # path relative to the corpus folder, with forward slashes
    paragraphs: tuple[tuple[Line, ...], ...]

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
    documents: tuple[Document, ...]
    skipped: tuple[SkippedFile, ...]


class CorpusError(Exception):
    """The corpus folder itself cannot be used (missing, not a folder)."""


def normalize_text(text: str) -> str:
    """Unicode-normalise one line: NFKC, plain quotes and dashes, no invisible characters."""
    text = unicodedata.normalize("NFKC", text).translate(_TYPOGRAPHY)
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


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


def find_corpus_files(root: Path) -> tuple[list[Path], list[SkippedFile]]:
    """Every .txt/.md file under ``root``, recursively, in a stable order.

    Symlinked folders are not descended (no loops); a symlinked file is read only when it
    points inside the corpus folder.
    """
    if not root.exists():
        raise CorpusError(f"corpus folder {str(root)!r} does not exist")
    if not root.is_dir():
        raise CorpusError(f"corpus path {str(root)!r} is not a folder")
    resolved_root = root.resolve()
    files: list[Path] = []
    skipped: list[SkippedFile] = []

    def on_error(error: OSError) -> None:
        where = Path(error.filename) if error.filename else root
        skipped.append(SkippedFile(_relative(where, root), f"cannot list folder: {error.strerror}"))

    for folder, subfolders, names in os.walk(root, onerror=on_error, followlinks=False):
        subfolders.sort()
        for name in sorted(names):
            path = Path(folder) / name
            if path.suffix.lower() not in CORPUS_SUFFIXES:
                continue
            if path.is_symlink() and not _inside(path.resolve(), resolved_root):
                skipped.append(SkippedFile(_relative(path, root), "symlink points outside the corpus folder"))
                continue
            files.append(path)
    files.sort(key=lambda p: _relative(p, root))
    return files, skipped


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def read_text_file(path: Path) -> str:
    """The file's text; raises ``ValueError`` with a human reason when it is not an article."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ValueError(f"too large ({size / 1e6:.0f} MB > {MAX_FILE_BYTES / 1e6:.0f} MB)")
    data = path.read_bytes()
    if looks_binary(data):
        raise ValueError("binary file, not text")
    return decode_bytes(data)


def clean_document(source: str, raw_text: str) -> Document:
    """Normalise lines, drop repeated and truncated copies, and group lines into paragraphs."""
    numbered = [Line(number, normalize_text(text)) for number, text in enumerate(raw_text.splitlines(), 1)]
    numbered = strip_site_suffixes(numbered)
    kept = set(number for number in drop_noise_lines([line for line in numbered if line.text]))
    return Document(source, group_paragraphs(numbered, kept))


def strip_site_suffixes(lines: list[Line]) -> list[Line]:
    """Remove a trailing " - SiteName" that several lines of the same file end with."""
    suffixes = Counter(match.group(1) for line in lines if (match := _SITE_SUFFIX.search(line.text)))
    repeated = {suffix for suffix, count in suffixes.items() if count >= 2}
    if not repeated:
        return lines
    cleaned = []
    for line in lines:
        match = _SITE_SUFFIX.search(line.text)
        if match and match.group(1) in repeated:
            line = Line(line.number, line.text[: match.start()].rstrip())
        cleaned.append(line)
    return cleaned


def drop_noise_lines(lines: list[Line]) -> list[int]:
    """Numbers of the lines worth keeping: first copies only, and no truncated copies."""
    seen: set[str] = set()
    unique: list[Line] = []
    for line in lines:
        key = line.text.casefold()
        if key not in seen:
            seen.add(key)
            unique.append(line)
    truncated = find_truncated_copies(unique)
    return [line.number for line in unique if line.number not in truncated]


def find_truncated_copies(lines: list[Line]) -> set[int]:
    """Lines that are a cut-off copy of the start of another, longer line of the same file.

    Scraped pages repeat the lead paragraph as a teaser cut mid-word ("the two sides ha"); the
    teaser is sometimes an earlier wording of the paragraph, so a near-identical prefix counts.
    Lines are bucketed by their first characters so this stays linear on big files.
    """
    buckets: dict[str, list[Line]] = defaultdict(list)
    for line in lines:
        if len(line.text) >= _MIN_TRUNCATED_CHARS:
            buckets[line.text[:_PREFIX_KEY_CHARS].casefold()].append(line)
    truncated: set[int] = set()
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


def group_paragraphs(lines: list[Line], kept: set[int]) -> tuple[tuple[Line, ...], ...]:
    """Paragraphs are runs of non-blank lines; a file without blank lines has one per line.

    Dropped lines end a paragraph as a blank line would, so the text around a removed teaser is
    not glued together.
    """
    has_blank_lines = any(not line.text for line in lines)
    paragraphs: list[tuple[Line, ...]] = []
    current: list[Line] = []
    for line in lines:
        if line.number not in kept:
            if current:
                paragraphs.append(tuple(current))
                current = []
            continue
        current.append(line)
        if not has_blank_lines or line.text.startswith("#"):
            paragraphs.append(tuple(current))
            current = []
    if current:
        paragraphs.append(tuple(current))
    return tuple(paragraphs)


def load_corpus(root: str | os.PathLike[str]) -> Corpus:
    """Read and clean every article under ``root``; unreadable files are skipped, not fatal."""
    root_path = Path(root)
    paths, skipped = find_corpus_files(root_path)
    documents: list[Document] = []
    for path in paths:
        source = _relative(path, root_path)
        try:
            text = read_text_file(path)
        except (OSError, ValueError) as error:
            skipped.append(SkippedFile(source, _describe_read_error(error)))
            continue
        document = clean_document(source, text)
        if not document.paragraphs:
            skipped.append(SkippedFile(source, "no text"))
            continue
        documents.append(document)
    return Corpus(root_path, tuple(documents), tuple(sorted(skipped, key=lambda s: s.source)))


def _describe_read_error(error: OSError | ValueError) -> str:
    if isinstance(error, PermissionError):
        return "permission denied"
    if isinstance(error, FileNotFoundError):
        return "file disappeared while reading"
    if isinstance(error, OSError):
        return f"cannot read: {error.strerror or error}"
    return str(error)
