"""Answers → Discord messages, always within Discord's limits. Pure: no network, no bot state.

Every function here returns text or embeds that Discord accepts whatever the corpus holds:
passages are cut at sentence boundaries (inside a sentence only when one sentence alone is too
long) with an ellipsis, the quoted text has its Markdown escaped *before* the matched words are
wrapped in bold, and the sizes are measured in UTF-16 code units (what Discord's JavaScript-side
limits count; never fewer than Python's code points), so a send never fails for length.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable, Sequence

import discord

from ..answers import Answer, Hit, sentence_spans_of_passage

# Discord's limits (https://discord.com/developers/docs/resources/message#create-message).
CONTENT_LIMIT = 2000
EMBED_TITLE_LIMIT = 256
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000
EMBEDS_PER_MESSAGE = 10

ELLIPSIS = "…"
EMBED_COLOUR = discord.Colour.blurple()
# The question echoed above an answer is a reminder, not the answer: keep it short.
QUESTION_ECHO_CHARS = 300
MISSING_WORDS_SHOWN = 8  # "Missing:" words under a question (a long one may miss many)
MISSING_WORD_CHARS = 40
# A file name is a label: long ones are shortened so the quotes keep the room.
SOURCE_TITLE_CHARS = 120


def discord_len(text: str) -> int:
    """Length as Discord counts it: UTF-16 code units (an emoji outside the BMP counts twice).

    A lone surrogate (from a JSON "\\ud800" escape; Discord never sends one) counts as one unit
    instead of raising.
    """
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


# --------------------------------------------------------------------------------------------
# Escaping and cutting plain text
# --------------------------------------------------------------------------------------------
def escape(text: str, *, at_line_start: bool = True) -> str:
    """``discord.utils.escape_markdown`` for a piece of text.

    A piece that does not start a line in the final message must not have its first characters
    treated as line-start Markdown ("- ", "# ", "> "), so it is escaped behind a placeholder.
    """
    if at_line_start or not text:
        return discord.utils.escape_markdown(text)
    return discord.utils.escape_markdown("x" + text)[1:]


def _word_cut(text: str, end: int) -> int:
    """The last word boundary at or before ``end`` (``end`` itself if there is none)."""
    if end >= len(text):
        return len(text)
    space = text.rfind(" ", 0, end + 1)
    newline = text.rfind("\n", 0, end + 1)
    boundary = max(space, newline)
    return boundary if boundary > 0 else end


def _longest_prefix(length: int, fits) -> int:
    """The largest k in [0, length] with ``fits(k)``; ``fits`` must be monotonic (true, then false)."""
    low, high = 0, length
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


def clip(text: str, limit: int, *, markdown: bool = False) -> str:
    """``text`` within ``limit`` (Discord length), cut at a word boundary with an ellipsis.

    With ``markdown=True`` the text is escaped first and the escaped form is what must fit.
    """
    render = escape if markdown else (lambda s: s)
    whole = render(text)
    if discord_len(whole) <= limit:
        return whole
    if limit < discord_len(ELLIPSIS):
        return ""
    room = limit - discord_len(ELLIPSIS)
    cut = _longest_prefix(len(text), lambda k: discord_len(render(text[:k].rstrip())) <= room)
    word = _word_cut(text, cut)
    if word > cut or word < cut // 2:  # no usable boundary: cut mid-word rather than lose half
        word = cut
    return render(text[:word].rstrip()) + ELLIPSIS


def one_line(text: str) -> str:
    return " ".join(text.split())


# A link Discord would preview (fetch and show as an embed); "<url>" is shown but not previewed.
_BARE_URL = re.compile(r"(?<![<\w])((?:https?|steam)://[^\s<>]*[^\s<>)\].,;:!?'\"”’])")


def defuse_links(text: str) -> str:
    """Wrap bare links in ``<...>`` so that echoing a member's text never makes the bot post a
    preview of a site they chose."""
    return _BARE_URL.sub(r"<\1>", text)


def echo(text: str, limit: int) -> str:
    """A member's text shown back to them: one line, clipped, Markdown escaped, links not previewed."""
    return defuse_links(clip(one_line(text), limit, markdown=True))


def fit_content(text: str, limit: int = CONTENT_LIMIT) -> str:
    """Already-formatted text within ``limit``: whole lines are dropped from the end, then a cut."""
    if discord_len(text) <= limit:
        return text
    lines = text.split("\n")
    while len(lines) > 1 and discord_len("\n".join(lines) + "\n" + ELLIPSIS) > limit:
        lines.pop()
    joined = "\n".join(lines)
    if discord_len(joined + "\n" + ELLIPSIS) <= limit:
        return joined + "\n" + ELLIPSIS
    # One line that is too long on its own: cut it (it is already formatted, so no escaping).
    room = limit - discord_len(ELLIPSIS)
    cut = _longest_prefix(len(joined), lambda k: discord_len(joined[:k]) <= room)
    return joined[:cut] + ELLIPSIS


# --------------------------------------------------------------------------------------------
# Quoting a passage: escaped, matched words in bold, cut at sentence boundaries
# --------------------------------------------------------------------------------------------
def clean_spans(spans: Iterable[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    """Spans clipped to the text, empty ones dropped, sorted and merged."""
    cleaned: list[tuple[int, int]] = []
    for start, end in sorted((max(0, min(s, length)), max(0, min(e, length))) for s, e in spans):
        if end <= start:
            continue
        if cleaned and start <= cleaned[-1][1]:
            cleaned[-1] = (cleaned[-1][0], max(end, cleaned[-1][1]))
        else:
            cleaned.append((start, end))
    return cleaned


def mark(
    text: str, spans: Sequence[tuple[int, int]], start: int = 0, end: int | None = None, *, starts_line: bool = True
) -> str:
    """``text[start:end]`` escaped, with the parts inside ``spans`` in bold.

    Each piece between bold markers is escaped on its own (so the markers themselves are never
    escaped and the span offsets, which index the raw text, stay right). ``starts_line`` says
    whether ``text[start]`` begins a line of the message (it does not after an ellipsis).
    """
    end = len(text) if end is None else end
    out: list[str] = []
    cursor = start
    # Only the spans that reach into [start, end) (``spans`` are sorted and disjoint).
    first = bisect.bisect_right(spans, (start, len(text) + 1)) - 1
    last = bisect.bisect_left(spans, (end, -1))
    spans = spans[max(first, 0):last]
    # "**Russia launched**" reads better than "**Russia** **launched**".
    joined: list[tuple[int, int]] = []
    for span in spans:
        if joined and span[0] >= joined[-1][1] and text[joined[-1][1]:span[0]] in (" ", "-"):
            joined[-1] = (joined[-1][0], span[1])
        else:
            joined.append(span)
    spans = joined

    def piece(a: int, b: int) -> str:
        at_line_start = starts_line if a == start else text[a - 1] == "\n"
        return escape(text[a:b], at_line_start=at_line_start)

    for span_start, span_end in spans:
        span_start, span_end = max(span_start, start), min(span_end, end)
        if span_end <= span_start or span_start < cursor:
            continue
        # Bold needs something non-blank inside; whitespace-only "matches" stay plain.
        if not text[span_start:span_end].strip():
            continue
        out.append(piece(cursor, span_start))
        out.append("**" + piece(span_start, span_end) + "**")
        cursor = span_end
    out.append(piece(cursor, end))
    return "".join(out)


def quote_passage(text: str, spans: Sequence[tuple[int, int]], focus: tuple[int, int], budget: int, *, marked: str | None = None) -> str:
    """The passage with matched words in bold, within ``budget`` (Discord length).

    When the whole passage does not fit, the excerpt is grown sentence by sentence around the
    sentence that matches best (``focus``), and the cuts are marked with an ellipsis.
    ``marked`` is the whole passage marked already (``marked_passage``), if the caller has it.
    """
    if budget <= 0:
        return ""
    spans = clean_spans(spans, len(text))
    whole = mark(text, spans) if marked is None else marked
    if discord_len(whole) <= budget:
        return whole
    focus_start = max(0, min(focus[0] if focus else 0, len(text)))
    sentences = _sentences_near(text, focus_start, budget)
    index = next((i for i, (s, e) in enumerate(sentences) if s <= focus_start < e), None)
    if index is None:
        index = min(range(len(sentences)), key=lambda i: abs(sentences[i][0] - focus_start))

    # Grow the window on an additive estimate (each sentence rendered once), then check the
    # real rendering and shrink if the estimate was short: linear, even for huge passages.
    sizes = [0]
    gaps = [0]
    for i, (s, e) in enumerate(sentences):
        sizes.append(sizes[-1] + discord_len(mark(text, spans, s, e, starts_line=False)))
        following = sentences[i + 1][0] if i + 1 < len(sentences) else e
        gaps.append(gaps[-1] + discord_len(text[e:following]))
    ellipsis = discord_len(ELLIPSIS) + 1

    def estimate(a: int, b: int) -> int:
        size = sizes[b + 1] - sizes[a] + gaps[b] - gaps[a]
        size += ellipsis if text[: sentences[a][0]].strip() else 0
        size += ellipsis if text[sentences[b][1]:].strip() else 0
        return size

    first = last = index
    grew = True
    while grew:
        grew = False
        # Prefer the sentences after the best one (they usually finish its thought), then before.
        if last + 1 < len(sentences) and estimate(first, last + 1) <= budget:
            last += 1
            grew = True
        if first > 0 and estimate(first - 1, last) <= budget:
            first -= 1
            grew = True
    while True:
        rendered = _window(text, spans, sentences[first][0], sentences[last][1])
        if discord_len(rendered) <= budget:
            return rendered
        if first == last:
            return _cut_inside(text, spans, sentences[index][0], sentences[index][1], budget)
        if first < index:
            first += 1
        else:
            last -= 1


def _sentences_near(text: str, focus: int, budget: int) -> list[tuple[int, int]]:
    """The sentences that an excerpt of ``budget`` around ``focus`` can reach.

    A quote never holds more raw characters than its budget, so only that much text on each
    side of the focus needs splitting (the sentence splitter is slow on huge paragraphs). The
    sentences cut by that window's edges are dropped, unless one holds the focus.
    """
    low, high = max(0, focus - budget - 1), min(len(text), focus + budget + 1)
    spans = [(low + s, low + e) for s, e in sentence_spans_of_passage(text[low:high]) if 0 <= s < e <= high - low]
    if low > 0 and len(spans) > 1 and spans[0][1] <= focus:
        spans = spans[1:]
    if high < len(text) and len(spans) > 1 and spans[-1][0] > focus:
        spans = spans[:-1]
    return spans or [(low, high)]


def _window(text: str, spans: Sequence[tuple[int, int]], start: int, end: int) -> str:
    """``text[start:end]`` marked, with an ellipsis on each side where text was left out."""
    before = ELLIPSIS + " " if text[:start].strip() else ""
    after = " " + ELLIPSIS if text[end:].strip() else ""
    return before + mark(text, spans, start, end, starts_line=not before) + after


def _cut_inside(text: str, spans: Sequence[tuple[int, int]], start: int, end: int, budget: int) -> str:
    """One sentence too long for the budget: cut it at a word boundary, with ellipses."""
    before = ELLIPSIS + " " if text[:start].strip() else ""
    tail = " " + ELLIPSIS

    def rendered(cut: int) -> str:
        return before + mark(text, spans, start, cut, starts_line=not before) + tail

    best = _longest_prefix(end - start, lambda k: discord_len(rendered(start + k)) <= budget)
    if best == 0:
        return ELLIPSIS if budget >= discord_len(ELLIPSIS) else ""
    cut = _word_cut(text, start + best)
    if cut <= start or cut > start + best:
        cut = start + best
    while cut > start and text[cut - 1].isspace():
        cut -= 1
    if cut <= start:
        cut = start + best
    return rendered(cut)


# --------------------------------------------------------------------------------------------
# Budgets
# --------------------------------------------------------------------------------------------
def share(wanted: Sequence[int], total: int) -> list[int]:
    """Split ``total`` among items wanting ``wanted`` each: small ones get all they want."""
    budgets = [0] * len(wanted)
    remaining = sorted(range(len(wanted)), key=lambda i: wanted[i])
    left = max(0, total)
    while remaining:
        fair = left // len(remaining)
        i = remaining[0]
        if wanted[i] <= fair:
            budgets[i] = wanted[i]
            left -= wanted[i]
            remaining.pop(0)
            continue
        for i in remaining:
            budgets[i] = fair
        break
    return budgets


# --------------------------------------------------------------------------------------------
# Answers
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rendered:
    """What to send: ``content`` and/or ``embeds`` (``discord.Embed`` objects)."""

    content: str | None = None
    embeds: tuple[discord.Embed, ...] = field(default_factory=tuple)


def line_range(hit: Hit) -> str:
    first, last = hit.lines
    return f"line {first}" if first == last else f"lines {first}–{last}"


def question_header(question: str, context: str | None = None) -> str:
    header = "**Q:** " + echo(question, QUESTION_ECHO_CHARS)
    if context:
        header += "\n-# following up on: " + echo(context, QUESTION_ECHO_CHARS)
    return header


def answer_header(answer: Answer, context: str | None = None) -> str:
    """The question, and the words of it that none of the quotes holds, struck through as search
    engines show them ("Missing: ~~tanks~~"): a near miss reads as one."""
    header = question_header(answer.question, context)
    missing = answer.missing  # computed from the hits on each access
    if missing:
        words = " ".join(f"~~{echo(word, MISSING_WORD_CHARS)}~~" for word in missing[:MISSING_WORDS_SHOWN])
        header += "\n-# Missing: " + words
    return header


def marked_passage(hit: Hit) -> str:
    """The hit's whole passage with its matched words in bold."""
    return mark(hit.text, clean_spans(hit.highlights, len(hit.text)))


def answer_embeds(answer: Answer, *, context: str | None = None, offset: int = 0) -> Rendered:
    """One embed per passage: title = number and file, footer = line range, body = the quote."""
    hits = answer.hits[:EMBEDS_PER_MESSAGE]
    titles = [clip(f"{offset + n}. {hit.source}", min(SOURCE_TITLE_CHARS, EMBED_TITLE_LIMIT), markdown=True) for n, hit in enumerate(hits, 1)]
    footers = [clip(f"{line_range(hit)} · score {hit.score:.2f}", EMBED_FOOTER_LIMIT) for hit in hits]
    fixed = sum(discord_len(t) + discord_len(f) for t, f in zip(titles, footers))
    marked = [marked_passage(hit) for hit in hits]
    budgets = share([min(discord_len(m), EMBED_DESCRIPTION_LIMIT) for m in marked], EMBED_TOTAL_LIMIT - fixed)
    embeds = []
    for hit, whole, title, footer, budget in zip(hits, marked, titles, footers, budgets):
        description = quote_passage(hit.text, hit.highlights, hit.best_sentence, min(budget, EMBED_DESCRIPTION_LIMIT), marked=whole)
        embed = discord.Embed(title=title, description=description or None, colour=EMBED_COLOUR)
        embed.set_footer(text=footer)
        embeds.append(embed)
    return Rendered(content=fit_content(answer_header(answer, context)), embeds=tuple(embeds))


def answer_text(answer: Answer, *, context: str | None = None, offset: int = 0) -> Rendered:
    """The same answer as plain text, for channels where the bot may not embed (no Embed Links)."""
    header = answer_header(answer, context)
    hits = answer.hits[:EMBEDS_PER_MESSAGE]
    heads = [f"**{clip(f'{offset + n}. {hit.source}', SOURCE_TITLE_CHARS, markdown=True)}** · {line_range(hit)}" for n, hit in enumerate(hits, 1)]
    # Separators: "\n\n" between blocks and "\n" after each head.
    fixed = discord_len(header) + sum(discord_len(h) + 3 for h in heads)
    room = CONTENT_LIMIT - fixed
    marked = [marked_passage(hit) for hit in hits]
    budgets = share([discord_len(_quote_lines(m)) for m in marked], room)
    blocks = [header]
    for hit, whole, head, budget in zip(hits, marked, heads, budgets):
        blocks.append(head + "\n" + _quoted_within(hit, budget, whole))
    return Rendered(content=fit_content("\n\n".join(blocks)))


def _quote_lines(text: str) -> str:
    return "\n".join("> " + line for line in text.split("\n"))


def _quoted_within(hit: Hit, budget: int, marked: str) -> str:
    """The passage as a block quote ("> " per line) within ``budget``."""
    inner = budget
    while inner > 0:
        quoted = _quote_lines(quote_passage(hit.text, hit.highlights, hit.best_sentence, inner, marked=marked))
        size = discord_len(quoted)
        if size <= budget:
            return quoted
        inner -= max(1, size - budget)
    return ""


def render_answer(answer: Answer, *, embeds: bool, context: str | None = None, offset: int = 0) -> Rendered:
    if embeds:
        return answer_embeds(answer, context=context, offset=offset)
    return answer_text(answer, context=context, offset=offset)


def no_match(answer: Answer, *, context: str | None = None) -> str:
    """A friendly "not in the articles", with what to try instead; never a random quote."""
    question = echo(answer.question, QUESTION_ECHO_CHARS)
    reason = answer.no_match_reason or "nothing matched"
    lines = [f"I couldn't find an answer to “{question}” in the articles: {escape(reason)}."]
    if context:
        lines.append("-# (I also tried it together with the earlier question: " + echo(context, 200) + ")")
    lines.append(
        "Try other words — names, places, numbers or phrases the articles would use — "
        "or see `/sources` for the files I have read."
    )
    return fit_content("\n".join(lines))


def no_more(question: str) -> str:
    return fit_content(f"That was everything I found for “{echo(question, QUESTION_ECHO_CHARS)}”.")


# --------------------------------------------------------------------------------------------
# Moderator and info replies (plain text: short, and they work without Embed Links)
# --------------------------------------------------------------------------------------------
_SOURCES_HEAD_ROOM = 120  # a /sources page's header is added to its list of files


def _source_line(source: str, count: int) -> str:
    return f"`{clip(source, 180).replace('`', 'ʼ')}` — {count} passage{'s' if count != 1 else ''}"


def source_page_bounds(passages_per_source: dict[str, int], names: Sequence[str]) -> tuple[tuple[int, int], ...]:
    """Where each /sources page starts and ends in ``names`` (the sorted file names): as many
    files as fit one message. Measuring every line is O(files): done once per index, not per page."""
    bounds: list[tuple[int, int]] = []
    start = size = 0
    for position, source in enumerate(names):
        width = discord_len(_source_line(source, passages_per_source[source])) + 1
        if position > start and size + width > CONTENT_LIMIT - _SOURCES_HEAD_ROOM:
            bounds.append((start, position))
            start, size = position, 0
        size += width
    bounds.append((start, len(names)))
    return tuple(bounds)


def sources_page(
    passages_per_source: dict[str, int],
    skipped: Sequence[object] = (),
    page: int = 1,
    *,
    names: Sequence[str] | None = None,
    bounds: Sequence[tuple[int, int]] | None = None,
    total: int | None = None,
) -> str:
    """One page of the indexed files with their passage counts (the last page if ``page`` is past
    it). Only that page's lines are rendered; pass the sorted ``names``, their page ``bounds``
    (:func:`source_page_bounds`) and the ``total`` of passages when they are at hand, or they are
    computed here (O(files))."""
    if names is None:
        names = sorted(passages_per_source)
    if bounds is None:
        bounds = source_page_bounds(passages_per_source, names)
    if total is None:
        total = sum(passages_per_source.values())
    number = max(1, min(page, len(bounds)))
    start, end = bounds[number - 1]
    header = f"**Indexed files** — {len(passages_per_source)} files, {total} passages"
    if len(bounds) > 1:
        header += f" (page {number}/{len(bounds)})"
    lines = [_source_line(source, passages_per_source[source]) for source in names[start:end]]
    text = fit_content(header + "\n" + ("\n".join(lines) if lines else "No files are indexed."))
    if skipped and number == len(bounds):
        text = fit_content(text + f"\n-# {len(skipped)} file(s) skipped; a moderator sees why in /reload.")
    return text


def format_duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    parts = [f"{days}d"] if days else []
    if days or hours:
        parts.append(f"{hours}h")
    if days or hours or minutes:
        parts.append(f"{minutes}m")
    parts.append(f"{seconds}s")
    return " ".join(parts)


def timestamp(when: datetime) -> str:
    """A Discord timestamp: every reader sees it in their own time zone."""
    return f"<t:{int(when.replace(tzinfo=when.tzinfo or timezone.utc).timestamp())}:f>"


HELP_TEXT = """\
**I answer questions by quoting the articles I have read**, with the file and lines each quote comes from.

**Ask**
- `/ask question:<text>` — optionally `source:` (one file) and `count:` (1–5 passages).
- Mention me with a question, or reply to one of my answers.
- Follow-ups: reply to an answer (or ask in its thread), e.g. “and what about Belarus?” — I read it together with the earlier question.

**Under an answer**
- **More** — the next passages. **Full article** — the whole file, just for you.
- 👍 / 👎 — tell the maintainers whether the answer helped (only the question, the files and the vote are kept).

**Other commands**
- `/sources` — the files I have read. `/help` — this message.
- Moderators: `/reload` (re-read the articles), `/stats` (usage, unanswered questions).

If I find nothing, I say so instead of guessing: try names, places or numbers the articles would use."""


def help_text() -> str:
    return fit_content(HELP_TEXT)


def _names(title: str, names: Sequence[str], limit: int = 15) -> list[str]:
    if not names:
        return []
    shown = ", ".join(f"`{clip(name, 120).replace('`', 'ʼ')}`" for name in names[:limit])
    more = f" … and {len(names) - limit} more" if len(names) > limit else ""
    return [f"**{title} ({len(names)}):** {shown}{more}"]


def _skipped(skipped: Sequence, limit: int = 10) -> list[str]:
    if not skipped:
        return []
    lines = [f"**Skipped ({len(skipped)}):**"]
    for item in skipped[:limit]:
        lines.append(f"- `{clip(item.source, 120).replace('`', 'ʼ')}`: {escape(clip(item.reason, 200))}")
    if len(skipped) > limit:
        lines.append(f"- … and {len(skipped) - limit} more")
    return lines


def reload_report(result) -> str:
    """The moderator's view of a reload (``bot.discord.index.ReloadResult``)."""
    if not result.ok:
        lines = [
            f"⚠️ **Reload failed — the previous index is still answering** "
            f"({result.documents} articles, {result.passages} passages).",
            f"Why: {escape(clip(result.error or 'unknown error', 900))}.",
        ]
        lines += _skipped(result.skipped)
        return fit_content("\n".join(lines))
    diff = result.diff
    lines = [
        f"✅ **Index reloaded** in {result.seconds:.2f} s: {result.documents} articles, {result.passages} passages.",
    ]
    lines += _names("Added", diff.added)
    lines += _names("Removed", diff.removed)
    lines += _names("Changed", diff.changed)
    if not (diff.added or diff.removed or diff.changed):
        lines.append("No article was added, removed or changed.")
    lines += _skipped(result.skipped)
    return fit_content("\n".join(lines))


def stats_report(stats, index, *, shards: int, guilds: int) -> str:
    """/stats: ``stats`` is a ``Stats``, ``index`` a ``CorpusIndex``."""
    report = index.current.report
    p50, p95 = stats.percentile(50), stats.percentile(95)
    latency = f"p50 {p50:.1f} ms, p95 {p95:.1f} ms" if p50 is not None else "no questions yet"
    lines = [
        "**corpus-bot stats**",
        f"Uptime: {format_duration(stats.uptime_seconds)} (since {timestamp(stats.started_at)}), "
        f"{shards} shard(s), {guilds} server(s)",
        f"Corpus: {report.documents} articles, {report.passages} passages, {report.terms:,} terms "
        f"({len(report.skipped)} file(s) skipped), loaded {timestamp(index.loaded_at)}",
    ]
    last = index.last_reload
    if last is None:
        lines.append("Last reload: none since the bot started")
    else:
        outcome = "succeeded" if last.ok else f"failed ({escape(clip(last.error or '', 200))})"
        lines.append(f"Last reload: by {clip(last.by, 80, markdown=True)}, {timestamp(last.at)} — {outcome}")
    lines.append(
        f"Questions: {stats.questions} — {stats.answered} answered, {stats.no_match} without a match "
        f"({stats.no_match_rate:.0%} no-match rate)"
    )
    lines.append(f"Latency: {latency}")
    if stats.unanswered:
        lines.append("**Recent unanswered questions** (what the articles may lack):")
        for item in reversed(stats.unanswered):
            lines.append(f"- {echo(item.question, 150)} ({timestamp(item.when)})")
    return fit_content("\n".join(lines))
