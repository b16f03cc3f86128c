"""Measuring answers against a question file: hit@1, hit@3 and MRR, overall and per kind.

A question file is JSON Lines of ``{"question", "source", "must_contain", "kind"}``. A result
is a hit when it comes from ``source`` and its text contains ``must_contain`` (case and
whitespace folded); ``source: null`` means the right answer is no result at all.

``NaiveBm25`` is the reference the issue measures against: rank-bm25 over one passage per line,
lowercase whitespace split, always its top 3. Its figures on a question file tell how hard the
file is, so figures on different question sets can be compared.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from rank_bm25 import BM25Okapi

from .answers import Answer, Engine
from .corpus import decode_article, normalize_text, read_file_bytes, scan_corpus

EVAL_DEPTH = 10


@dataclass(frozen=True)
class EvalQuestion:
    question: str
    source: str | None
    must_contain: str | None
    kind: str


@dataclass(frozen=True)
class Outcome:
    question: EvalQuestion
    rank: int | None  # 1-based rank of the first hit; None when missed
    answer: Answer


@dataclass
class Scores:
    count: int = 0
    hit1: int = 0
    hit3: int = 0
    reciprocal_rank: float = 0.0

    def add(self, rank: int | None) -> None:
        self.count += 1
        if rank is not None:
            self.hit1 += rank == 1
            self.hit3 += rank <= 3
            self.reciprocal_rank += 1.0 / rank

    def as_dict(self) -> dict[str, float | int]:
        n = self.count or 1
        # Six places, so a table that prints three is not rounded twice (68/84 = 0.8095238 is
        # 0.810, but 0.8095 printed to three places is 0.809).
        return {
            "questions": self.count,
            "hit@1": round(self.hit1 / n, 6),
            "hit@3": round(self.hit3 / n, 6),
            "mrr": round(self.reciprocal_rank / n, 6),
        }


@dataclass
class EvalReport:
    overall: Scores = field(default_factory=Scores)
    per_kind: dict[str, Scores] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)

    def record(self, question: EvalQuestion, rank: int | None) -> None:
        self.overall.add(rank)
        self.per_kind.setdefault(question.kind, Scores()).add(rank)

    def figures(self) -> dict:
        return {
            "overall": self.overall.as_dict(),
            "per_kind": {kind: scores.as_dict() for kind, scores in sorted(self.per_kind.items())},
        }

    def as_dict(self) -> dict:
        return {
            **self.figures(),
            "misses": [
                {
                    "question": o.question.question,
                    "kind": o.question.kind,
                    "expected": o.question.source,
                    "got": [f"{h.passage.citation}" for h in o.answer.hits[:3]],
                }
                for o in self.outcomes
                if o.rank != 1
            ],
        }


class QuestionFileError(ValueError):
    pass


def load_questions(path: str | Path) -> list[EvalQuestion]:
    questions = []
    # utf-8-sig: editors on Windows start files with a byte-order mark, which json rejects.
    for number, line in enumerate(Path(path).read_text(encoding="utf-8-sig").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            questions.append(
                EvalQuestion(
                    question=str(record["question"]),
                    source=_corpus_path(record.get("source")),
                    must_contain=None if record.get("must_contain") is None else str(record["must_contain"]),
                    kind=str(record.get("kind", "unknown")),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise QuestionFileError(f"{path}:{number}: not a question record ({error})") from None
    return questions


def _corpus_path(source: object) -> str | None:
    """A source as the engine cites it: relative to the corpus folder, with forward slashes
    ("./news\\a.txt" → "news/a.txt")."""
    if source is None:
        return None
    path = str(source).strip().replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path


def unknown_sources(questions: Iterable[EvalQuestion], sources: Iterable[str]) -> list[str]:
    """Sources the question file names that the corpus does not have, in file order: such a
    question can never be a hit, and it is nearly always a path written from the wrong folder."""
    known = set(sources)
    return list(dict.fromkeys(q.source for q in questions if q.source is not None and q.source not in known))


def fold(text: str) -> str:
    """Case, whitespace and typography folded the way the corpus is cleaned, so a phrase
    copied from the raw file ("Ukraine’s") is found in the cleaned passage ("Ukraine's")."""
    return " ".join(normalize_text(text).casefold().split())


def rank_of_first_hit(question: EvalQuestion, answer: Answer) -> int | None:
    return rank_in_results(question, [(hit.source, hit.text) for hit in answer.hits])


def rank_in_results(question: EvalQuestion, results: Sequence[tuple[str, str]]) -> int | None:
    """1-based rank of the first (source, text) result that answers ``question``."""
    if question.source is None:
        return None if results else 1
    wanted = fold(question.must_contain or "")
    for rank, (source, text) in enumerate(results, 1):
        if source == question.source and wanted in fold(text):
            return rank
    return None


def evaluate(engine: Engine, questions: Iterable[EvalQuestion], depth: int = EVAL_DEPTH) -> EvalReport:
    report = EvalReport()
    for question in questions:
        answer = engine.ask(question.question, top_k=depth)
        rank = rank_of_first_hit(question, answer)
        report.record(question, rank)
        report.outcomes.append(Outcome(question, rank, answer))
    return report


@dataclass
class NaiveBm25:
    """rank-bm25's ``BM25Okapi`` over every non-empty line of the corpus files as they are (no
    cleaning), tokenised by ``str.lower().split()``; it always answers with its top 3."""

    lines: list[tuple[str, str]]  # (source, line text)
    bm25: BM25Okapi | None  # None for a corpus with no text

    @classmethod
    def from_folder(cls, root: str | Path) -> "NaiveBm25":
        listing = scan_corpus(root, with_stats=False)
        lines = []
        for source, path in zip(listing.sources, listing.paths):
            try:
                text = decode_article(read_file_bytes(path))
            except (OSError, ValueError):
                continue  # the engine skips it too
            lines.extend((source, line) for line in text.splitlines() if line.strip())
        bm25 = BM25Okapi([text.lower().split() for _, text in lines]) if lines else None
        return cls(lines, bm25)

    def top(self, question: str, k: int = 3) -> list[tuple[str, str]]:
        if self.bm25 is None:
            return []
        scores = self.bm25.get_scores(question.lower().split())
        best = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:k]
        return [self.lines[i] for i in best]


def evaluate_naive(baseline: NaiveBm25, questions: Iterable[EvalQuestion]) -> EvalReport:
    """The naive reference's figures (its outcomes are not kept: it has no ``Answer``)."""
    report = EvalReport()
    for question in questions:
        report.record(question, rank_in_results(question, baseline.top(question.question)))
    return report
