"""The Discord rendering: escaping, bold matches, sentence cuts, and Discord's limits for any input."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answers import Answer, Hit, QueryWord
from bot.corpus import SkippedFile
from bot.discord import render
from bot.discord.index import CorpusDiff, ReloadResult
from bot.discord.render import (
    CONTENT_LIMIT,
    EMBED_DESCRIPTION_LIMIT,
    EMBED_FOOTER_LIMIT,
    EMBED_TITLE_LIMIT,
    EMBED_TOTAL_LIMIT,
    EMBEDS_PER_MESSAGE,
    discord_len,
)
from bot.passages import Passage


def make_hit(text: str, highlights=(), best=None, source: str = "a.txt", lines=(1, 2), score: float = 1.0) -> Hit:
    best = best if best is not None else (0, len(text))
    return Hit(Passage(source, lines[0], lines[1], text), score, 1.0, 1.0, tuple(highlights), best)


def make_answer(hits, question: str = "a question?", missing=()) -> Answer:
    # Words of the question with no match anywhere: every one is missing from the quotes.
    words = tuple(QueryWord(f"t{n}", 1.0, {}, written) for n, written in enumerate(missing))
    return Answer(question, tuple(hits), 1.0, None if hits else "no passage matches enough of the question", False, words)


def word_spans(text: str, *words: str) -> tuple[tuple[int, int], ...]:
    spans = []
    for word in words:
        spans += [(m.start(), m.end()) for m in re.finditer(re.escape(word), text)]
    return tuple(sorted(spans))


def unrender(rendered: str) -> str:
    """Undo :func:`render.mark`: drop the bold markers, resolve the backslash escapes."""
    out, i = [], 0
    while i < len(rendered):
        if rendered[i] == "\\" and i + 1 < len(rendered):
            out.append(rendered[i + 1])
            i += 2
        elif rendered.startswith("**", i):
            i += 2
        else:
            out.append(rendered[i])
            i += 1
    return "".join(out)


def embed_sizes(embed) -> dict[str, int]:
    data = embed.to_dict()
    return {
        "title": discord_len(data.get("title") or ""),
        "description": discord_len(data.get("description") or ""),
        "footer": discord_len((data.get("footer") or {}).get("text") or ""),
        "author": discord_len((data.get("author") or {}).get("name") or ""),
        "fields": sum(discord_len(f["name"]) + discord_len(f["value"]) for f in data.get("fields", [])),
    }


def assert_within_limits(rendered: render.Rendered) -> None:
    assert rendered.content is None or discord_len(rendered.content) <= CONTENT_LIMIT
    assert len(rendered.embeds) <= EMBEDS_PER_MESSAGE
    total = 0
    for embed in rendered.embeds:
        sizes = embed_sizes(embed)
        assert sizes["title"] <= EMBED_TITLE_LIMIT
        assert sizes["description"] <= EMBED_DESCRIPTION_LIMIT
        assert sizes["footer"] <= EMBED_FOOTER_LIMIT
        assert sizes["title"] or sizes["description"], "an embed must not be empty"
        total += sum(sizes.values())
    assert total <= EMBED_TOTAL_LIMIT


# --------------------------------------------------------------------------------------------
# Escaping and bold
# --------------------------------------------------------------------------------------------
def test_matched_words_are_bold():
    text = "Russia launched 48 cruise missiles against Ukraine overnight."
    out = render.mark(text, word_spans(text, "cruise", "missiles", "Ukraine"))
    assert out == "Russia launched 48 **cruise missiles** against **Ukraine** overnight."


def test_markdown_in_the_passage_is_escaped_before_the_bold_markers():
    text = "The *secret* plan_of_action `code` ~~gone~~ ||spoiler|| was **bold**."
    out = render.mark(text, word_spans(text, "plan", "spoiler"))
    assert "\\*secret\\*" in out
    assert "**plan**\\_of\\_action" in out
    assert "\\|\\|**spoiler**\\|\\|" in out
    assert "\\`code\\`" in out and "\\~\\~gone\\~\\~" in out
    assert "\\*\\*bold\\*\\*" in out
    assert unrender(out) == text


def test_line_start_markdown_is_escaped_only_at_line_starts():
    text = "# Heading\n> quoted - not a list\n- item"
    out = render.mark(text, word_spans(text, "quoted"))
    lines = out.split("\n")
    assert lines[0].startswith("\\#")
    assert lines[1].startswith("\\> **quoted**")
    assert " - not" in lines[1]  # a dash inside a line is not a list
    assert lines[2].startswith("\\-")
    assert unrender(out) == text


def test_a_highlight_next_to_a_backslash_keeps_its_markers():
    text = "path C:\\temp\\ and more"
    out = render.mark(text, word_spans(text, "and"))
    assert "**and**" in out
    assert unrender(out) == text


def test_invalid_spans_are_ignored_safely():
    text = "short text"
    assert render.mark(text, render.clean_spans([(-5, 2), (3, 100), (7, 4), (2, 2)], len(text))) == "**sh**o**rt text**"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.text(alphabet=st.sampled_from(list("ab *_`~|\\>#-[]()\n.!?Ωé😀")), max_size=300),
    raw_spans=st.lists(st.tuples(st.integers(0, 300), st.integers(0, 300)), max_size=8),
)
def test_marking_never_loses_or_changes_text(text, raw_spans):
    spans = render.clean_spans(raw_spans, len(text))
    assert unrender(render.mark(text, spans)) == text


# --------------------------------------------------------------------------------------------
# Cutting at sentence boundaries
# --------------------------------------------------------------------------------------------
SENTENCES = [f"Sentence number {n} talks about topic {n}." for n in range(1, 41)]
LONG_PASSAGE = " ".join(SENTENCES)


def test_a_passage_that_fits_is_quoted_whole():
    text = "One sentence. Another one."
    assert render.quote_passage(text, (), (0, 13), 1000) == text


def test_long_passages_are_cut_at_sentence_boundaries_around_the_best_sentence():
    focus_text = SENTENCES[19]
    start = LONG_PASSAGE.index(focus_text)
    spans = word_spans(LONG_PASSAGE, "topic 20")
    out = render.quote_passage(LONG_PASSAGE, spans, (start, start + len(focus_text)), 300)
    assert discord_len(out) <= 300
    assert out.startswith("… ") and out.endswith(" …")
    assert "**topic 20**" in out
    inner = unrender(out[2:-2])
    # Whole sentences only: the excerpt starts and ends where sentences do.
    assert inner in LONG_PASSAGE
    assert inner.startswith("Sentence number") and inner.endswith(".")


def test_the_start_of_a_passage_has_no_leading_ellipsis():
    out = render.quote_passage(LONG_PASSAGE, (), (0, len(SENTENCES[0])), 200)
    assert out.startswith("Sentence number 1 talks")
    assert out.endswith(" …")


def test_one_huge_sentence_is_cut_at_a_word_with_an_ellipsis():
    text = " ".join(f"word{n}" for n in range(3000))  # no sentence end at all
    out = render.quote_passage(text, word_spans(text, "word1 "), (0, len(text)), 500)
    assert discord_len(out) <= 500
    assert out.endswith(" …")
    assert unrender(out[:-2]).strip() in text
    assert re.search(r"word\d+ …$", out), "cut between words, not inside one"


def test_share_gives_small_items_all_they_want():
    assert render.share([100, 5000, 5000], 6000) == [100, 2950, 2950]
    assert render.share([10, 20], 1000) == [10, 20]
    assert render.share([], 100) == []


# --------------------------------------------------------------------------------------------
# Whole answers
# --------------------------------------------------------------------------------------------
def test_answer_embeds_cite_file_and_lines_and_echo_the_question():
    text = "In addition, Russia launched 48 cruise missiles against Ukraine overnight."
    hit = make_hit(text, word_spans(text, "cruise", "missiles"), source="001_x.txt", lines=(5, 7), score=11.27)
    rendered = render.answer_embeds(make_answer([hit], "How many cruise missiles did Russia launch?"))
    assert rendered.content == "**Q:** How many cruise missiles did Russia launch?"
    (embed,) = rendered.embeds
    assert embed.title == "1. 001\\_x.txt"
    assert embed.footer.text == "lines 5–7 · score 11.27"
    assert "**cruise missiles**" in embed.description
    assert_within_limits(rendered)


def test_plain_text_answer_quotes_each_passage_with_its_source():
    text = "Kiev was hit.\nThe second paragraph."
    rendered = render.answer_text(make_answer([make_hit(text, word_spans(text, "Kiev"), source="a.txt", lines=(3, 3))]))
    assert rendered.embeds == ()
    assert "**1. a.txt** · line 3\n> **Kiev** was hit.\n> The second paragraph." in rendered.content


def test_words_no_quote_holds_are_struck_through_under_the_question():
    text = "Slovakia sends howitzers, partly financed by Germany, delivered to Ukraine from 2023."
    answer = make_answer([make_hit(text)], "How many Leopard tanks has Germany delivered?", missing=("Leopard", "tanks"))
    expected = "**Q:** How many Leopard tanks has Germany delivered?\n-# Missing: ~~Leopard~~ ~~tanks~~"
    assert render.answer_embeds(answer).content == expected
    assert render.answer_text(answer).content.startswith(expected + "\n\n**1. a.txt**")
    # A word is the member's text: its Markdown is escaped like the question's.
    assert "~~\\*bold\\*~~" in render.answer_embeds(make_answer([make_hit(text)], missing=("*bold*",))).content


def test_follow_up_answers_show_the_earlier_question():
    rendered = render.answer_embeds(make_answer([make_hit("Belarus text.")], "and Belarus?"), context="missiles?")
    assert "following up on: missiles?" in rendered.content


def test_huge_passages_fill_but_never_exceed_the_limits():
    text = ("This is a long sentence about missiles and drones. " * 400).strip()
    hits = [make_hit(text, word_spans(text, "missiles"), source=f"{'x' * 300}{n}.txt") for n in range(10)]
    answer = make_answer(hits, "q" * 5000)
    for rendered in (render.answer_embeds(answer), render.answer_text(answer)):
        assert_within_limits(rendered)
    embeds = render.answer_embeds(answer).embeds
    assert sum(embed_sizes(e)["description"] for e in embeds) > 4000, "the budget is used, not wasted"


def test_everyone_mentions_are_kept_as_text():
    # Pings are prevented by allowed_mentions on every send, not by mangling the quote.
    text = "Ping @everyone and <@123> and <@&456> now."
    rendered = render.answer_embeds(make_answer([make_hit(text)], "@everyone?"))
    assert "@everyone" in rendered.embeds[0].description
    assert "@everyone" in rendered.content


def test_no_match_is_friendly_and_points_to_sources():
    text = render.no_match(make_answer([], "What about quantum chromodynamics?"))
    assert "couldn't find" in text and "/sources" in text and "quantum chromodynamics" in text
    assert discord_len(text) <= CONTENT_LIMIT


hit_text = st.one_of(
    st.text(max_size=400),
    st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=120), st.integers(1, 80)),
)


@st.composite
def hits(draw):
    text = draw(hit_text)
    n = len(text)
    spans = draw(st.lists(st.tuples(st.integers(-3, n + 3), st.integers(-3, n + 3)), max_size=12))
    best = draw(st.tuples(st.integers(-3, n + 3), st.integers(-3, n + 3)))
    source = draw(st.text(min_size=1, max_size=400))
    first = draw(st.integers(1, 10**6))
    last = draw(st.integers(first, 10**6 + 10))
    score = draw(st.floats(min_value=0, max_value=1e9, allow_nan=False))
    return Hit(Passage(source, first, last, text), score, 1.0, 1.0, tuple(spans), best)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    answer_hits=st.lists(hits(), min_size=1, max_size=10),
    question=st.text(max_size=3000),
    context=st.one_of(st.none(), st.text(max_size=3000)),
    offset=st.integers(0, 1000),
    missing=st.lists(st.text(min_size=1, max_size=300), max_size=30),
)
def test_any_answer_fits_discord_limits(answer_hits, question, context, offset, missing):
    answer = make_answer(answer_hits, question, missing)
    assert_within_limits(render.answer_embeds(answer, context=context, offset=offset))
    assert_within_limits(render.answer_text(answer, context=context, offset=offset))


@settings(max_examples=100, deadline=None)
@given(text=hit_text, budget=st.integers(0, 5000), focus=st.tuples(st.integers(-5, 5000), st.integers(-5, 5000)))
def test_quote_passage_respects_any_budget(text, budget, focus):
    assert discord_len(render.quote_passage(text, (), focus, budget)) <= max(budget, 0)


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=3000), limit=st.integers(0, 2500), markdown=st.booleans())
def test_clip_respects_any_limit(text, limit, markdown):
    assert discord_len(render.clip(text, limit, markdown=markdown)) <= limit


@settings(max_examples=100, deadline=None)
@given(question=st.text(max_size=5000), reason=st.text(max_size=3000), context=st.one_of(st.none(), st.text(max_size=3000)))
def test_no_match_fits_for_any_question(question, reason, context):
    answer = Answer(question, (), 1.0, reason, False)
    assert discord_len(render.no_match(answer, context=context)) <= CONTENT_LIMIT


# --------------------------------------------------------------------------------------------
# Moderator and info replies
# --------------------------------------------------------------------------------------------
def sources_pages(per_source: dict[str, int], skipped=()) -> list[str]:
    """Every page of /sources, as a member paging through all of them sees them."""
    names = sorted(per_source)
    bounds = render.source_page_bounds(per_source, names)
    total = sum(per_source.values())
    return [render.sources_page(per_source, skipped, n, names=names, bounds=bounds, total=total) for n in range(1, len(bounds) + 1)]


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=300), st.integers(0, 10**6), max_size=300))
def test_sources_pages_each_fit_a_message(per_source):
    pages = sources_pages(per_source)
    assert pages
    assert all(discord_len(page) <= CONTENT_LIMIT for page in pages)
    listed = "\n".join(pages)
    for source in per_source:
        assert render.clip(source, 180).replace("`", "ʼ") in listed


def test_sources_pages_paginate_long_lists():
    pages = sources_pages({f"article_{n:04}.txt": n for n in range(500)})
    assert len(pages) > 1
    assert "(page 1/" in pages[0]
    assert "article_0499.txt" in pages[-1]


def test_one_sources_page_is_that_page_of_all_of_them():
    per_source = {f"article_{n:04}.txt": n for n in range(500)}
    skipped = [object()]
    pages = sources_pages(per_source, skipped)
    names = sorted(per_source)
    bounds = render.source_page_bounds(per_source, names)
    assert len(bounds) == len(pages) > 2 and bounds[0][0] == 0 and bounds[-1][1] == 500
    for page in (1, 2, len(pages)):
        assert render.sources_page(per_source, skipped, page) == pages[page - 1]
        assert render.sources_page(per_source, skipped, page, names=names, bounds=bounds,
                                   total=sum(per_source.values())) == pages[page - 1]  # fmt: skip
    assert render.sources_page(per_source, skipped, 10_000) == pages[-1], "past the end: the last page"
    assert "file(s) skipped" in pages[-1] and "file(s) skipped" not in pages[0]
    assert render.sources_page({}, (), 3) == "**Indexed files** — 0 files, 0 passages\nNo files are indexed."


def reload_result(**overrides) -> ReloadResult:
    base = dict(ok=True, by="Mod", at=datetime.now(timezone.utc), seconds=0.25, documents=5, passages=64)
    return ReloadResult(**{**base, **overrides})


def test_reload_report_lists_added_removed_changed_and_skipped():
    result = reload_result(
        diff=CorpusDiff(added=("new.txt",), removed=("old.txt",), changed=("edited.txt",)),
        skipped=(SkippedFile("blob.txt", "binary file, not text"),),
    )
    text = render.reload_report(result)
    assert "Index reloaded" in text and "5 articles, 64 passages" in text and "0.25 s" in text
    assert "**Added (1):** `new.txt`" in text
    assert "**Removed (1):** `old.txt`" in text
    assert "**Changed (1):** `edited.txt`" in text
    assert "`blob.txt`: binary file, not text" in text


def test_failed_reload_report_says_why_and_that_the_old_index_serves():
    text = render.reload_report(reload_result(ok=False, error="cannot read the corpus: folder 'x' does not exist"))
    assert "previous index is still answering" in text
    assert "does not exist" in text


def test_reload_report_fits_with_thousands_of_files():
    names = tuple(f"{'n' * 200}{i}.txt" for i in range(3000))
    skipped = tuple(SkippedFile(f"s{i}", "r" * 500) for i in range(3000))
    text = render.reload_report(reload_result(diff=CorpusDiff(names, names, names), skipped=skipped))
    assert discord_len(text) <= CONTENT_LIMIT


def test_stats_report_fits_and_shows_the_figures():
    from bot.discord.stats import Stats

    stats = Stats()
    for n in range(100):
        stats.record(f"question {n} " + "x" * 900, answered=n % 4 != 0, latency_ms=float(n))
    index = SimpleNamespace(
        current=SimpleNamespace(report=SimpleNamespace(documents=5, passages=64, terms=2345, skipped=())),
        loaded_at=datetime.now(timezone.utc),
        last_reload=reload_result(by="Alice"),
    )
    text = render.stats_report(stats, index, shards=2, guilds=3)
    assert discord_len(text) <= CONTENT_LIMIT
    assert "100 — 75 answered, 25 without a match" in text
    assert "p50 49.0 ms, p95 94.0 ms" in text
    assert "by Alice" in text and "Recent unanswered" in text


@pytest.mark.parametrize("seconds, expected", [(5, "5s"), (65, "1m 5s"), (3600, "1h 0m 0s"), (90061, "1d 1h 1m 1s")])
def test_format_duration(seconds, expected):
    assert render.format_duration(seconds) == expected


def test_help_fits():
    assert discord_len(render.help_text()) <= CONTENT_LIMIT


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=5000), limit=st.integers(1, 2500))
def test_fit_content_respects_any_limit(text, limit):
    fitted = render.fit_content(text, limit)
    assert discord_len(fitted) <= limit
    if discord_len(text) <= limit:
        assert fitted == text
