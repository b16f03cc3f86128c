"""Bounded, in-memory memory of recent answers: what the buttons and follow-ups refer to.

A button's ``custom_id`` carries only an opaque random key into :class:`AnswerStore`; everything
the button acts on (the question, the files shown) lives here, on the server. A tampered or old
key simply finds nothing. Both maps are LRU-bounded, so memory stays flat however long the bot runs.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Generic, Hashable, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

KEY_BYTES = 9  # 12 URL-safe characters: unguessable, and short enough for a custom_id
DEFAULT_ANSWERS = 2000
DEFAULT_CONVERSATIONS = 5000


class LRU(Generic[K, V]):
    """A small thread-safe LRU map."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


@dataclass
class AnswerRecord:
    """One answer message: enough to show its next passages, its files and to log a vote."""

    question: str  # as the member asked it
    query: str  # what the engine was asked (with the earlier question for a follow-up)
    context: str | None  # the earlier question, for a follow-up
    source: str | None  # the file filter of /ask, if any
    count: int  # passages per page
    shown: int  # passages shown so far (the offset of "More")
    sources: tuple[str, ...]  # files quoted in this message, best first
    must_match: tuple[str, ...] = ()  # follow-up: terms a passage must contain (see asking.py)
    voters: set[int] = field(default_factory=set)  # in memory only, to count one vote per member
    # The member an answer was shown to privately (an ephemeral "More", a DM): only they may use
    # its buttons, so a leaked or guessed key cannot read someone else's results. None: public.
    owner: int | None = None


class AnswerStore:
    """Recent answers under opaque keys (the only thing a button's custom_id carries)."""

    def __init__(self, capacity: int = DEFAULT_ANSWERS) -> None:
        self._answers: LRU[str, AnswerRecord] = LRU(capacity)

    def add(self, record: AnswerRecord) -> str:
        key = secrets.token_urlsafe(KEY_BYTES)
        self._answers.put(key, record)
        return key

    def get(self, key: str) -> AnswerRecord | None:
        if not isinstance(key, str) or len(key) > 64:
            return None
        return self._answers.get(key)

    def __len__(self) -> int:
        return len(self._answers)


class Conversations:
    """Message or thread id → the question it answered, for follow-ups.

    A thread started from a message has the message's id, so one map serves both "a reply to
    an answer" and "a question in the thread of an answer".
    """

    def __init__(self, capacity: int = DEFAULT_CONVERSATIONS, max_chars: int = 1000) -> None:
        self._questions: LRU[int, str] = LRU(capacity)
        self.max_chars = max_chars

    def remember(self, ids: tuple[int | None, ...] | list[int | None], question: str) -> None:
        question = _keep_end(" ".join(question.split()), self.max_chars)
        for item in ids:
            if item is not None:
                self._questions.put(int(item), question)

    def previous(self, *ids: int | None) -> str | None:
        for item in ids:
            if item is not None:
                found = self._questions.get(int(item))
                if found:
                    return found
        return None

    def __contains__(self, item: object) -> bool:
        return item in self._questions


def _keep_end(text: str, limit: int) -> str:
    """The last ``limit`` characters, starting at a word: the newest part of a conversation."""
    if len(text) <= limit:
        return text
    cut = text[-limit:]
    space = cut.find(" ")
    return cut[space + 1:] if 0 <= space < len(cut) - 1 else cut
