"""Per-word tables a process fills in as it meets new words: growable numpy columns, the
numbering that gives each new word the next id, and memos of a per-word computation."""

from __future__ import annotations

from typing import Callable, Generic, Sequence, TypeVar

import numpy as np


class Column:
    """An integer array that grows at its end (amortised doubling, like a list).

    ``values`` is a view of the used part: writing into it updates the column, so values
    computed later (on first use) are stored in place.
    """

    def __init__(self, dtype: type = np.int32, fill: int = 0) -> None:
        self._data = np.full(256, fill, dtype=dtype)
        self._size = 0
        self._fill = fill

    def __len__(self) -> int:
        return self._size

    @property
    def values(self) -> np.ndarray:
        return self._data[: self._size]

    def extend(self, values: Sequence[int] | np.ndarray) -> None:
        end = self._size + len(values)
        self._reserve(end)
        self._data[self._size : end] = values
        self._size = end

    def pad(self, count: int) -> None:
        """``count`` more entries holding the fill value (meaning "not computed yet")."""
        end = self._size + count
        self._reserve(end)
        self._data[self._size : end] = self._fill
        self._size = end

    def _reserve(self, size: int) -> None:
        if size > self._data.shape[0]:
            data = np.full(max(size, 2 * self._data.shape[0]), self._fill, dtype=self._data.dtype)
            data[: self._size] = self._data[: self._size]
            self._data = data


class Numbering(dict):
    """word -> id, giving the next id to a word on first sight (``words`` lists them by id).

    A dict subclass so that looking up many words is ``map(numbering.__getitem__, words)``:
    C calls throughout, with Python only for the new ones."""

    def __init__(self, words: list[str]) -> None:
        super().__init__()
        self._words = words

    def __missing__(self, word: str) -> int:
        number = self[word] = len(self._words)
        self._words.append(word)
        return number


V = TypeVar("V")


class Memo(dict, Generic[V]):
    """key -> ``compute(key)``, computed on first lookup and kept (``map(memo.__getitem__, keys)``
    stays in C for the keys already seen)."""

    def __init__(self, compute: Callable[[str], V]) -> None:
        super().__init__()
        self._compute = compute

    def __missing__(self, key: str) -> V:
        value = self[key] = self._compute(key)
        return value


def range_positions(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The positions of the ranges ``[starts[i], starts[i] + lengths[i])``, back to back: what
    gathers several slices of an array in one indexing."""
    ends = np.cumsum(lengths)
    total = int(ends[-1]) if ends.shape[0] else 0
    return np.repeat(starts - (ends - lengths), lengths) + np.arange(total, dtype=np.int64)
