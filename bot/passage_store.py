"""Passages kept as one UTF-8 buffer plus offsets, turned into ``Passage`` objects on demand.

A million passages as Python objects take gigabytes; as a buffer they take what their text
takes, and only the passages a question quotes are ever decoded. ``PassageStore`` is a read-only sequence, so code that indexes
``passages[position]`` or iterates them keeps working.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Callable, Iterator, TypeVar, overload

import numpy as np

from .passages import Passage
from .segments import Segment

V = TypeVar("V")


class PassageStore(Sequence[Passage]):
    def __init__(self, segment: Segment) -> None:
        self.segment = segment

    def __len__(self) -> int:
        return self.segment.passage_count

    @overload
    def __getitem__(self, position: int) -> Passage: ...

    @overload
    def __getitem__(self, position: slice) -> list[Passage]: ...

    def __getitem__(self, position):
        if isinstance(position, slice):
            return [self[i] for i in range(*position.indices(len(self)))]
        if position < 0:
            position += len(self)
        if not 0 <= position < len(self):
            raise IndexError("passage position out of range")
        segment = self.segment
        first, last = segment.lines[position].tolist()
        return Passage(self.source_of(position), first, last, segment.text(position))

    def __iter__(self) -> Iterator[Passage]:
        return (self[i] for i in range(len(self)))

    def text_of(self, position: int) -> str:
        return self.segment.text(position)

    def source_of(self, position: int) -> str:
        file = int(np.searchsorted(self.segment.file_passages, position, side="right")) - 1
        return self.segment.sources[file]

    @cached_property
    def file_of_source(self) -> dict[str, int]:
        return {source: i for i, source in enumerate(self.segment.sources)}

    def source_range(self, source: str) -> tuple[int, int]:
        """The [start, end) positions of a file's passages ((0, 0) for an unknown file)."""
        file = self.file_of_source.get(source)
        if file is None:
            return (0, 0)
        offsets = self.segment.file_passages
        return (int(offsets[file]), int(offsets[file + 1]))

    @property
    def sources(self) -> list[str]:
        return self.segment.sources

    def passages_per_source(self) -> "PerFile[int]":
        offsets = self.segment.file_passages
        return PerFile(self, lambda file: int(offsets[file + 1] - offsets[file]))

    def digests(self) -> "PerFile[str]":
        """Source → hex hash of the file's bytes when it was indexed."""
        digests = self.segment.digests
        return PerFile(self, lambda file: bytes(digests[file]).hex())


class PerFile(Mapping[str, V]):
    """A read-only ``{source: value}`` computed from the store's file table when asked, so a
    half-million-file corpus does not build dictionaries nobody may read."""

    def __init__(self, store: PassageStore, value: Callable[[int], V]) -> None:
        self._store = store
        self._value = value

    def __getitem__(self, source: str) -> V:
        file = self._store.file_of_source.get(source)
        if file is None:
            raise KeyError(source)
        return self._value(file)

    def __contains__(self, source: object) -> bool:
        return source in self._store.file_of_source

    def __iter__(self) -> Iterator[str]:
        return iter(self._store.sources)

    def __len__(self) -> int:
        return len(self._store.sources)

    def items(self):  # one pass in file order, without a lookup per file
        return zip(self._store.sources, map(self._value, range(len(self))))

    def values(self):
        return map(self._value, range(len(self)))

    def __repr__(self) -> str:
        return f"PerFile({len(self)} files)"
