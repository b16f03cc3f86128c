"""Reading and cleaning: the noise the seed articles really carry, and files that are not articles."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, strategies as st

from bot.corpus import UNKNOWN_STAT, CorpusError, clean_document, load_corpus, normalize_lines, normalize_text, scan_corpus
from tests.conftest import SEEDS


def lines_of(document):
    return {line.number: line.text for line in document.lines}


def test_reads_every_seed_in_stable_order():
    corpus = load_corpus(SEEDS)
    assert [d.source for d in corpus.documents] == sorted(p.name for p in SEEDS.glob("*.txt"))
    assert corpus.skipped == ()


def test_truncated_teaser_is_dropped_and_full_paragraph_kept():
    # 001 opens with a teaser cut at "the two sides ha", an earlier wording of line 3.
    document = next(d for d in load_corpus(SEEDS).documents if d.source.startswith("001_"))
    kept = lines_of(document)
    assert 1 not in kept
    assert kept[3].endswith("and the war has been fierce.")


def test_repeated_headline_and_site_suffix_removed():
    # 004 repeats its headline (cut at "grad") with " - DayDayNews" on lines 1, 7, 17 and 25.
    document = next(d for d in load_corpus(SEEDS).documents if d.source.startswith("004_"))
    kept = lines_of(document)
    for number in (1, 7, 17, 25):
        assert number not in kept
    assert 5 in kept
    assert not any("DayDayNews" in text for text in kept.values())
    # "...of the Foreign" (line 41) is a cut copy of line 39.
    assert 39 in kept and 41 not in kept


def test_line_numbers_are_those_of_the_original_file():
    document = next(d for d in load_corpus(SEEDS).documents if d.source.startswith("003_"))
    original = (SEEDS / document.source).read_text(encoding="utf-8").splitlines()
    for line in document.lines:
        assert normalize_text(original[line.number - 1]) == line.text


def test_unicode_normalisation():
    assert normalize_text("\u201cquoted\u201d \u2014 it\u2019s\u00a0fine\u200b  ") == '"quoted" - it\'s fine'
    assert normalize_text("ﬁle") == "file"  # NFKC ligature


def test_verbatim_repeats_inside_an_article_are_dropped():
    document = clean_document("a.txt", "Same line here.\nOther line.\nSame line here.\n")
    assert [line.number for line in document.lines] == [1, 2]


def test_list_items_and_tables_are_not_mistaken_for_noise():
    text = (
        "- Run the installer with the default options\n"
        "- Run the installer with the default options and a proxy.\n"
        "| Kyiv | capital | yes |\n"
        "| Lviv | city | yes |\n"
        "| Odesa | port | yes |\n"
    )
    document = clean_document("notes.md", text)
    assert [line.text for line in document.lines] == text.splitlines()


def test_short_lines_are_not_mistaken_for_truncated_copies():
    document = clean_document("a.txt", "Russia\nRussia and Belarus are getting closer.\n")
    assert [line.number for line in document.lines] == [1, 2]


def test_encodings_binary_and_unreadable_files(tmp_path):
    (tmp_path / "utf8.txt").write_text("Kyïv café", encoding="utf-8")
    (tmp_path / "legacy.txt").write_bytes("Caf\xe9 in Kiev".encode("cp1252"))
    (tmp_path / "blob.txt").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "notes.md").write_text("# Title\n\nMarkdown body.", encoding="utf-8")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / "empty.txt").write_text("   \n\n", encoding="utf-8")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "nested.txt").write_text("Nested article.", encoding="utf-8")
    locked = tmp_path / "locked.txt"
    locked.write_text("secret", encoding="utf-8")
    locked.chmod(0)
    try:
        corpus = load_corpus(tmp_path)
    finally:
        locked.chmod(0o644)
    sources = [d.source for d in corpus.documents]
    reasons = {s.source: s.reason for s in corpus.skipped}
    # Root reads any file, so the permission case only shows for other users.
    if os.geteuid() == 0:
        sources.remove("locked.txt")
    else:
        assert reasons["locked.txt"] == "permission denied"
    assert sources == ["legacy.txt", "notes.md", "sub/nested.txt", "utf8.txt"]
    assert corpus.documents[0].lines[0].text == "Café in Kiev"
    assert reasons["blob.txt"] == "binary file, not text"
    assert reasons["empty.txt"] == "no text"
    assert "image.png" not in reasons


def test_symlink_outside_the_corpus_is_not_followed(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("Private notes.", encoding="utf-8")
    corpus_dir = tmp_path / "corpus"
    corpus_dir.mkdir()
    (corpus_dir / "article.txt").write_text("An article.", encoding="utf-8")
    (corpus_dir / "leak.txt").symlink_to(outside)
    (corpus_dir / "loop").symlink_to(corpus_dir, target_is_directory=True)
    corpus = load_corpus(corpus_dir)
    assert [d.source for d in corpus.documents] == ["article.txt"]
    assert [s.source for s in corpus.skipped] == ["leak.txt"]


def test_a_names_only_listing_finds_the_same_files_and_skips_the_same_ones(tmp_path):
    corpus_dir = tmp_path / "corpus"
    (corpus_dir / "sub").mkdir(parents=True)
    (corpus_dir / "b.txt").write_text("Bee.", encoding="utf-8")
    (corpus_dir / "sub" / "a.md").write_text("A.", encoding="utf-8")
    (corpus_dir / "inside.txt").symlink_to(corpus_dir / "b.txt")
    (corpus_dir / "leak.txt").symlink_to(tmp_path)
    (corpus_dir / "image.png").write_bytes(b"png")
    full = scan_corpus(corpus_dir)
    names = scan_corpus(corpus_dir, with_stats=False)
    assert names.sources == full.sources == ["b.txt", "inside.txt", "sub/a.md"]
    assert names.skipped == full.skipped
    assert set(map(tuple, names.stats.tolist())) <= {UNKNOWN_STAT, *map(tuple, full.stats.tolist())}
    (corpus_dir / "b.txt").unlink()  # the symlink to it now dangles: skipped, not fatal
    (corpus_dir / "sub" / "a.md").unlink()
    os.mkfifo(corpus_dir / "sub" / "a.md")  # a pipe: skipped, never opened
    for listing in (scan_corpus(corpus_dir), scan_corpus(corpus_dir, with_stats=False)):
        assert listing.sources == []
        reasons = {s.source: s.reason for s in listing.skipped}
        assert {"inside.txt", "sub/a.md"} <= set(reasons) and reasons["sub/a.md"] == "not a regular file"


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus(tmp_path / "nope")


# Whole-file normalisation must equal normalising line by line (the specification).
_TRICKY = st.sampled_from(list("aZé \t\u00a0\u2003\u3000\u200b\u00ad\x00\x1f\x7f\u2019\u201c\u2014\u2026ﬁＦ①\u0301\u0308\u1680\u202f"))


@given(st.lists(st.text(alphabet=st.one_of(_TRICKY, st.characters(blacklist_categories=("Cs",))), max_size=40), max_size=8))
def test_normalising_a_whole_file_equals_normalising_each_line(lines):
    lines = [line for text in lines for line in text.splitlines() or [""]]
    assert normalize_lines(lines) == [normalize_text(line) for line in lines]
