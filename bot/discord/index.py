"""The index the bot serves, and reloading it without ever serving a broken one.

A ``Built`` (engine + corpus + report) is immutable. A reload builds a new one while questions
keep going to the old one (by default in a child process, see :mod:`.rebuild`; the bot only
waits for it in a worker thread), then swaps the single reference on the event loop: a question
sees either the old index or the new one, never a mix. On any failure the old index stays.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

from ..build import Built, build_engine
from ..config import EngineSettings
from ..corpus import Corpus, CorpusError, SkippedFile
from . import render
from .rebuild import Builder, SubprocessBuilder

log = logging.getLogger(__name__)


# The analyzer memoizes every word (LRU, up to 2^20) and every whitespace-separated chunk (dict,
# cleared past 2^20) it analyses, the words of questions too, at ~340 bytes per word: questions
# full of never-seen words could grow them by hundreds of MB. Once they hold this many more
# entries than when their index was built, they are cleared (they are only caches).
MAX_MEMO_GROWTH = 100_000


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


def empty_index(settings: EngineSettings) -> Built:
    """An index with no articles, for ``settings.corpus_dir``: what the bot serves when the folder
    cannot be used at start-up, so it still answers ("the corpus is empty") and a moderator's
    /reload picks the articles up once the folder is fixed."""
    with tempfile.TemporaryDirectory(prefix="corpus-bot-empty-") as folder:  # nothing worth caching
        built = build_engine(dataclasses.replace(settings, corpus_dir=Path(folder), cache_dir=None))
    root = Path(settings.corpus_dir)
    return dataclasses.replace(
        built,
        corpus=dataclasses.replace(built.corpus, root=root),
        report=dataclasses.replace(built.report, corpus_dir=root),
    )


def lost_sources(served: Iterable[str], skipped: Iterable[SkippedFile]) -> list[SkippedFile]:
    """The files of the index in use that a new build could not read: skipped themselves, or
    inside a folder that could not be listed. (A file that is simply gone was removed on purpose.)"""
    served = list(served)
    served_set = set(served)  # membership per skipped file must not scan half a million names
    lost: list[SkippedFile] = []
    for item in skipped:
        folder = "" if item.source in (".", "") else item.source.rstrip("/") + "/"
        listing = item.reason.startswith("cannot list folder")
        hit = item.source in served_set or (listing and any(source.startswith(folder) for source in served))
        if hit:
            lost.append(item)
    return lost


def corpus_diff(old: Corpus, new: Corpus) -> CorpusDiff:
    # The hashes recorded by each build: the documents themselves are not kept in memory, and
    # reading them again would see today's files.
    before, after = old.digests, new.digests
    return CorpusDiff(
        added=tuple(sorted(after.keys() - before.keys())),
        removed=tuple(sorted(before.keys() - after.keys())),
        changed=tuple(sorted(s for s in before.keys() & after.keys() if before[s] != after[s])),
    )


@dataclass(frozen=True)
class Catalogue:
    """The file names of one index as /sources and the ``source`` autocomplete show them,
    prepared once per index (for a reload, off the event loop) instead of sorting and measuring
    every name on each keystroke or page."""

    names: tuple[str, ...]  # sorted
    folded: tuple[str, ...]  # the names casefolded, in the same order
    pages: tuple[tuple[int, int], ...]  # each /sources page's slice of ``names``

    @classmethod
    def of(cls, built: Built) -> "Catalogue":
        per_source = built.report.passages_per_source
        names = tuple(sorted(per_source))
        return cls(names, tuple(name.casefold() for name in names), render.source_page_bounds(per_source, names))

    def suggest(self, typed: str, *, limit: int = 25, max_chars: int = 100) -> list[str]:
        """The first ``limit`` names (sorted) containing ``typed``, ignoring case; names longer than
        ``max_chars`` are left out (Discord refuses longer choices)."""
        wanted = typed.casefold().strip()
        found: list[str] = []
        for name, folded in zip(self.names, self.folded):
            if wanted in folded and len(name) <= max_chars:
                found.append(name)
                if len(found) == limit:
                    break
        return found


def compare(old: Built, new: Built) -> tuple[CorpusDiff, Catalogue]:
    """What a reload changed, and the new index's catalogue. O(files of both indexes): run it
    in a worker thread (comparing the per-file digests of two corpora of half a million files
    takes ~0.5 s)."""
    return corpus_diff(old.corpus, new.corpus), Catalogue.of(new)


class CorpusIndex:
    """The served index. ``builder`` makes a new one for a reload, called in a worker thread;
    the default builds in a child process (:class:`~.rebuild.SubprocessBuilder`)."""

    def __init__(self, built: Built, settings: EngineSettings, builder: Builder | None = None) -> None:
        self._built = built
        self._catalogue = Catalogue.of(built)
        self.settings = settings
        self._builder = builder if builder is not None else SubprocessBuilder(build_engine)
        self._reloading = False
        self.generation = 1
        self.loaded_at = datetime.now(timezone.utc)
        self.last_reload: ReloadResult | None = None
        self._memo_baseline = self.memo_entries()

    @property
    def current(self) -> Built:
        return self._built

    @property
    def catalogue(self) -> Catalogue:
        """The file names of :attr:`current`, sorted (replaced together with it)."""
        return self._catalogue

    def memo_entries(self) -> int:
        """Entries in the analyzer's memos (each word or chunk it has analysed, questions included)."""
        return self._built.engine.analyzer.memo_entries()

    def memo_overgrown(self) -> bool:
        """Whether questions have grown the analyzer's memos past MAX_MEMO_GROWTH entries."""
        return self.memo_entries() > self._memo_baseline + MAX_MEMO_GROWTH

    def trim_memo(self) -> None:
        """Clear the analyzer's memos (run it on the engine thread, between questions)."""
        log.info("Clearing the analyzer's memos (%d entries)", self.memo_entries())
        self._built.engine.analyzer.clear_memos()
        self._memo_baseline = 0

    def close(self) -> None:
        """Stop a build in progress and clean up after the builder (the bot is shutting down)."""
        close = getattr(self._builder, "close", None)
        if close is not None:
            close()

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
        except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
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
            # Everything that walks the whole corpus (lost files, the diff, the sorted names for
            # /sources and autocomplete) runs off the loop; the swap below is two assignments.
            lost = await asyncio.to_thread(lost_sources, old.report.passages_per_source, new.report.skipped)
            if lost:
                shown = "; ".join(f"{item.source}: {item.reason}" for item in lost[:5])
                more = f"; and {len(lost) - 5} more" if len(lost) > 5 else ""
                return self._failed(
                    by,
                    started,
                    f"{len(lost)} file(s) of the index in use could not be read this time ({shown}{more}). "
                    "Nothing was replaced; fix or delete them, then reload again",
                    skipped=new.report.skipped,
                )
            diff, catalogue = await asyncio.to_thread(compare, old, new)
            self._built, self._catalogue = new, catalogue  # the swap, on the event loop
            self._memo_baseline = self.memo_entries()
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
