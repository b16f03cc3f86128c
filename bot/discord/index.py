"""The index the bot serves, and reloading it without ever serving a broken one.

A ``Built`` (engine + corpus + report) is immutable. A reload builds a new one in a worker
thread while questions keep going to the old one, then swaps the single reference on the event
loop: a question sees either the old index or the new one, never a mix. On any failure the old
index stays.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from ..build import Built, build_engine
from ..config import EngineSettings
from ..corpus import Corpus, CorpusError, SkippedFile

log = logging.getLogger(__name__)

Builder = Callable[[EngineSettings], Built]


class AlreadyReloading(Exception):
    """A reload is running; only one at a time."""


@dataclass(frozen=True)
class CorpusDiff:
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReloadResult:
    ok: bool
    by: str
    at: datetime
    seconds: float
    error: str | None = None  # why the old index is still serving
    diff: CorpusDiff = field(default_factory=CorpusDiff)
    skipped: tuple[SkippedFile, ...] = ()
    documents: int = 0
    passages: int = 0


def document_digests(corpus: Corpus) -> dict[str, str]:
    """File → hash of its cleaned lines (with their numbers, since citations use them)."""
    digests = {}
    for document in corpus.documents:
        digest = hashlib.sha256()
        for line in document.lines:
            digest.update(f"{line.number}\t{line.text}\n".encode("utf-8", "surrogatepass"))
        digests[document.source] = digest.hexdigest()
    return digests


def corpus_diff(old: Corpus, new: Corpus) -> CorpusDiff:
    before, after = document_digests(old), document_digests(new)
    return CorpusDiff(
        added=tuple(sorted(after.keys() - before.keys())),
        removed=tuple(sorted(before.keys() - after.keys())),
        changed=tuple(sorted(s for s in before.keys() & after.keys() if before[s] != after[s])),
    )


class CorpusIndex:
    def __init__(self, built: Built, settings: EngineSettings, builder: Builder = build_engine) -> None:
        self._built = built
        self.settings = settings
        self._builder = builder
        self._reloading = False
        self.generation = 1
        self.loaded_at = datetime.now(timezone.utc)
        self.last_reload: ReloadResult | None = None

    @property
    def current(self) -> Built:
        return self._built

    @property
    def reloading(self) -> bool:
        return self._reloading

    def sources(self) -> dict[str, int]:
        return self._built.report.passages_per_source

    def has_source(self, source: str) -> bool:
        return source in self._built.report.passages_per_source

    def article_path(self, source: str) -> Path | None:
        """The file of an *indexed* source, never a path made from user input alone.

        ``source`` must be one of the current index's sources, and the resolved path must
        still be inside the corpus folder.
        """
        if not isinstance(source, str) or source not in self._built.report.passages_per_source:
            return None
        root = Path(self._built.corpus.root)
        path = root / source
        try:
            resolved_root = root.resolve()
            resolved = path.resolve()
        except OSError:
            return None
        if resolved_root not in resolved.parents or not resolved.is_file():
            return None
        return resolved

    async def reload(self, by: str) -> ReloadResult:
        """Build a new index off the event loop and swap it in; raises AlreadyReloading."""
        if self._reloading:
            raise AlreadyReloading()
        self._reloading = True
        started = time.perf_counter()
        old = self._built
        try:
            try:
                new = await asyncio.to_thread(self._builder, self.settings)
            except CorpusError as error:
                return self._failed(by, started, f"cannot read the corpus: {error}")
            except Exception as error:  # noqa: BLE001 - any failure keeps the old index serving
                log.exception("Reload failed while building the index")
                return self._failed(by, started, f"building the index failed ({type(error).__name__}: {error})")
            if new.report.documents == 0 and old.report.documents > 0:
                skipped = len(new.report.skipped)
                why = f"; {skipped} file(s) were skipped" if skipped else ""
                return self._failed(
                    by,
                    started,
                    f"the corpus folder now has no readable articles{why}, while the index in use has "
                    f"{old.report.documents}. Refusing to replace it with an empty one",
                    skipped=new.report.skipped,
                )
            diff = corpus_diff(old.corpus, new.corpus)
            self._built = new  # the swap: one reference, assigned on the event loop
            self.generation += 1
            self.loaded_at = datetime.now(timezone.utc)
            result = ReloadResult(
                ok=True,
                by=by,
                at=self.loaded_at,
                seconds=time.perf_counter() - started,
                diff=diff,
                skipped=new.report.skipped,
                documents=new.report.documents,
                passages=new.report.passages,
            )
            self.last_reload = result
            log.info(
                "Reloaded the index: %d documents, %d passages (+%d -%d ~%d) in %.2fs",
                result.documents, result.passages, len(diff.added), len(diff.removed), len(diff.changed), result.seconds,
            )
            return result
        finally:
            self._reloading = False

    def _failed(self, by: str, started: float, error: str, skipped: tuple[SkippedFile, ...] = ()) -> ReloadResult:
        log.warning("Reload failed, the old index keeps serving: %s", error)
        result = ReloadResult(
            ok=False,
            by=by,
            at=datetime.now(timezone.utc),
            seconds=time.perf_counter() - started,
            error=error,
            skipped=skipped,
            documents=self._built.report.documents,
            passages=self._built.report.passages,
        )
        self.last_reload = result
        return result
