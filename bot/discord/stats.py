"""Usage figures for /stats: counts, latency percentiles, recent unanswered questions."""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable

LATENCY_SAMPLES = 1000
RECENT_UNANSWERED = 10


@dataclass(frozen=True)
class Unanswered:
    question: str
    when: datetime


class Stats:
    def __init__(self) -> None:
        self.started_at = datetime.now(timezone.utc)
        self._started = time.monotonic()
        self.questions = 0
        self.no_match = 0
        self._latencies: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        self.unanswered: deque[Unanswered] = deque(maxlen=RECENT_UNANSWERED)

    @property
    def uptime_seconds(self) -> float:
        return time.monotonic() - self._started

    @property
    def answered(self) -> int:
        return self.questions - self.no_match

    @property
    def no_match_rate(self) -> float:
        return self.no_match / self.questions if self.questions else 0.0

    def record(self, question: str, *, answered: bool, latency_ms: float) -> None:
        self.questions += 1
        self._latencies.append(latency_ms)
        if not answered:
            self.no_match += 1
            self.unanswered.append(Unanswered(question, datetime.now(timezone.utc)))

    def percentile(self, p: float) -> float | None:
        """Nearest-rank percentile of the recent latencies (ms), None before the first question."""
        return nearest_rank(self._latencies, p) if self._latencies else None


def nearest_rank(values: Iterable[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile of (at least one) ``values``."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]
