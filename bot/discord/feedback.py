"""👍 / 👎 votes as JSON Lines: the question, the files quoted, the vote and when. No user ids."""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

log = logging.getLogger(__name__)

VOTES = ("up", "down")


class FeedbackLog:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def record(self, question: str, sources: Sequence[str], vote: str) -> dict:
        """Append one line (blocking: call it off the event loop)."""
        if vote not in VOTES:
            raise ValueError(f"vote must be one of {VOTES}")
        entry = {
            "question": question,
            "sources": list(sources),
            "vote": vote,
            "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
        return entry
