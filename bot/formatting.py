"""Answers as text for a terminal and as JSON for scripts (the Discord layer has its own)."""

from __future__ import annotations

import textwrap
from typing import Any, Callable

from .answers import Answer, Hit

ANSI_BOLD = "\033[1m"
ANSI_DIM = "\033[2m"
ANSI_RESET = "\033[0m"


def mark_spans(text: str, spans: tuple[tuple[int, int], ...], wrap: Callable[[str], str]) -> str:
    """``text`` with every span passed through ``wrap`` (e.g. bold)."""
    out: list[str] = []
    cursor = 0
    for start, end in spans:
        if start < cursor:
            continue
        out.append(text[cursor:start])
        out.append(wrap(text[start:end]))
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


def hit_to_json(hit: Hit) -> dict[str, Any]:
    return {
        "source": hit.source,
        "lines": [hit.passage.first_line, hit.passage.last_line],
        "score": round(hit.score, 4),
        "text": hit.text,
        "highlights": [list(span) for span in hit.highlights],
        "best_sentence": list(hit.best_sentence),
    }


def answer_to_json(answer: Answer) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "question": answer.question,
        "results": [hit_to_json(hit) for hit in answer.hits],
        "took_ms": round(answer.took_ms, 3),
        "missing": list(answer.missing),
    }
    if not answer.hits and answer.no_match_reason:
        payload["no_match"] = answer.no_match_reason
    return payload


def format_answer_for_terminal(answer: Answer, *, color: bool, width: int = 100) -> str:
    """Numbered quotes with their sources; matched words in bold (ANSI) or **like this**."""
    bold = (lambda s: f"{ANSI_BOLD}{s}{ANSI_RESET}") if color else (lambda s: f"**{s}**")
    dim = (lambda s: f"{ANSI_DIM}{s}{ANSI_RESET}") if color else (lambda s: s)
    if not answer.hits:
        reason = answer.no_match_reason or "nothing matched"
        return (
            f"No answer in the corpus for {answer.question!r}: {reason}.\n"
            "Try other words (names, places, numbers from the articles), or `python -m bot index` "
            "to see what is indexed."
        )
    blocks = []
    for number, hit in enumerate(answer.hits, 1):
        header = f"[{number}] {hit.passage.citation}  " + dim(f"(score {hit.score:.2f})")
        body = mark_spans(hit.text, hit.highlights, bold)
        quoted = "\n".join(
            textwrap.fill(paragraph, width=width, initial_indent="  > ", subsequent_indent="  > ")
            for paragraph in body.split("\n")
        )
        blocks.append(f"{header}\n{quoted}")
    footer = dim(f"{len(answer.hits)} passage(s) in {answer.took_ms:.1f} ms")
    missing = answer.missing  # computed from the hits on each access
    if missing:
        footer = f"Missing: {', '.join(missing)}\n" + footer
    return "\n\n".join(blocks) + "\n" + footer
