"""Property-based: any Unicode question goes through the analyzer, the engine and every formatter
(terminal, JSON, Discord embeds and plain text) and comes out valid and within limits.

Questions mix arbitrary Unicode with the corpus's own words (so real answers with highlights are
rendered too) and with the hostile fragments of the bad-questions table. Derandomized, so every
run checks the same examples.
"""

from __future__ import annotations

import json
import re

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.discord import render
from bot.formatting import answer_to_json, format_answer_for_terminal

from .discord_helpers import assert_within_limits
from .test_reliability_input import CASES

CORPUS_WORDS = [
    "Russia", "cruise", "missiles", "launched", "Belarus", "NATO", "Stoltenberg", "Kosovo", "Vucic", "BMP-1",
    "Slovakia", "Lysychansk", "Zelenskyy", "F-35", "400,000", "Ukraine", "Kyiv", "Kiev", "S-300", "Poland",
]  # fmt: skip
FRAGMENTS = [case.text for case in CASES] + ["**", "`", "||", "@everyone", "<@123>", "\n", "> ", "# ", "\\", "_"]

unicode_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=600)
questions = st.lists(
    st.one_of(unicode_text, st.sampled_from(CORPUS_WORDS), st.sampled_from(FRAGMENTS)), min_size=0, max_size=12
).map(" ".join)

FUZZ = settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
C0_EXCEPT_NEWLINE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


@FUZZ
@given(text=questions)
def test_the_analyzer_takes_any_text(engine, text):
    analyzer = engine.analyzer
    terms = analyzer.analyze(text)
    assert all(isinstance(t, str) and t and not any(c.isspace() for c in t) for t in terms)
    for token in analyzer.tokens(text):
        assert 0 <= token.start < token.end <= len(text)
    assert [t.term for t in analyzer.tokens(text)] == terms


def embed_body(rendered: render.Rendered) -> dict:
    return {"content": rendered.content, "embeds": [embed.to_dict() for embed in rendered.embeds]}


@FUZZ
@given(text=questions, top_k=st.integers(1, 10), context=st.one_of(st.none(), questions))
def test_any_question_gives_valid_in_limit_answers_everywhere(seeds_built, text, top_k, context):
    engine = seeds_built.engine
    answer = engine.ask(text, top_k=top_k)
    event("answered" if answer.hits else "no match")
    assert len(answer.hits) <= top_k
    assert bool(answer.hits) != bool(answer.no_match_reason)
    for hit in answer.hits:
        assert hit.source in seeds_built.report.passages_per_source
        assert all(0 <= s < e <= len(hit.text) for s, e in hit.highlights)

    # Terminal: one readable block; nothing from the question can drive the terminal.
    for color in (False, True):
        terminal = format_answer_for_terminal(answer, color=color)
        visible = re.sub(r"\x1b\[[0-9;]*m", "", terminal) if color else terminal
        assert not C0_EXCEPT_NEWLINE.search(visible), repr(terminal)
        assert not re.search(r"[\u202a-\u202e\u2066-\u2069]", visible.split("\n")[0]), "no bidi controls in the echo"

    # JSON: one line, valid, lossless, UTF-8 encodable.
    line = json.dumps(answer_to_json(answer), ensure_ascii=False)
    assert "\n" not in line
    decoded = json.loads(line)
    assert decoded["question"] == text and len(decoded["results"]) == len(answer.hits)
    line.encode("utf-8")

    # Discord: embeds and plain text, and the no-match reply, within every limit.
    for embeds in (True, False):
        body = embed_body(render.render_answer(answer, embeds=embeds, context=context))
        assert_within_limits(body)
        assert body["content"] or body["embeds"]
    if not answer.hits:
        assert render.discord_len(render.no_match(answer, context=context)) <= render.CONTENT_LIMIT
    assert not re.search(r"(?<!<)https?://", render.question_header(text, context)), "echoed links are not previewed"


@FUZZ
@given(text=st.text(max_size=3000), limit=st.integers(1, 2500))
def test_echo_fits_and_never_previews_links(text, limit):
    echoed = render.echo(text, limit)
    assert "\n" not in echoed
    assert not re.search(r"(?<!<)https?://\S", echoed)
    # Links add their "<>" after the cut; a message is fitted again before sending.
    assert render.discord_len(render.fit_content(echoed, limit)) <= limit
