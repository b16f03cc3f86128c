"""Building a reload's index in a child process, so that it never competes with the event loop.

A build is seconds of CPU: reading, analysing and merging in Python, garbage collections, and
worker processes on every core. Run in a thread of the bot, it shared the GIL and the cores with
the event loop: profiled during a reload under a 200-question burst, the loop thread spent most of
its long iterations waiting for a core or the GIL, and one collection of the objects the build had
left young held the GIL for 12-18 ms.

:class:`SubprocessBuilder` runs the build in a child process at a lower CPU priority instead
(``os.nice``; the build's own worker processes inherit it). The child writes the finished index
to the index cache (``INDEX_CACHE_DIR``, or a private temporary cache when none is configured)
and exits; the bot then loads the stored index with an ordinary build of the same folder, which
is a cache hit: a listing of the folder and a read of the stored arrays (~40 ms of CPU for 3,000
articles). A file that changed in between is read again by that second build, so the result is
never older than the child's. Whatever the child raises is raised here (with its traceback as a
note), and a child that dies without a result raises :class:`BuildProcessError`: either way the
index in use keeps serving.

The child is forked where the platform can (Linux), so it starts at once with everything
imported (as ``bot.build`` forks its workers); elsewhere it is spawned. The child only builds:
it takes the default signal handlers instead of the bot's, and :mod:`logging`, the one lock it
shares with the bot's threads, re-initialises its locks at fork (the tokenizer's is loaded before
the fork, and takes no lock once loaded).
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import pickle
import signal
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Container, Iterable

from ..build import Built, build_engine
from ..config import EngineSettings
from ..corpus import SkippedFile
from ..passages import encoding

log = logging.getLogger(__name__)

Builder = Callable[[EngineSettings], Built]

# How much lower the build's CPU priority is than the bot's (nice(1) semantics: 19 is the
# lowest). With 10, Linux gives the bot's threads about nine times the CPU share of the build
# while both want it; when the bot is idle, the build gets every core as before.
BUILD_NICENESS = 10
# How often a reload checks that its build process still runs while waiting for the result.
_POLL_SECONDS = 0.25


# What the child sends back besides the index itself (which goes through the cache): the parts of
# its report that the load of the stored index cannot tell.
SUMMARY = ("files_read", "cache", "skipped")


class BuildProcessError(Exception):
    """The build process ended without a result (killed, out of memory, crashed)."""


class SubprocessBuilder:
    """A :data:`Builder` that builds in a child process and loads the result from the index cache.

    Call it from a worker thread (``asyncio.to_thread``): it blocks until the child is done,
    without holding the GIL meanwhile.
    """

    def __init__(self, builder: Builder = build_engine, *, niceness: int = BUILD_NICENESS) -> None:
        self.builder = builder
        self.niceness = niceness
        self._handoff: tempfile.TemporaryDirectory | None = None
        self._child: multiprocessing.process.BaseProcess | None = None
        self._lock = threading.Lock()

    def settings_for(self, settings: EngineSettings) -> EngineSettings:
        """``settings`` with an index cache: the configured one, or a private temporary folder
        kept for this builder's lifetime (so later reloads re-read only the changed files)."""
        if settings.cache_dir:
            return settings
        with self._lock:
            if self._handoff is None:
                self._handoff = tempfile.TemporaryDirectory(prefix="corpus-bot-reload-")
            folder = Path(self._handoff.name)
        return dataclasses.replace(settings, cache_dir=folder)

    def __call__(self, settings: EngineSettings) -> Built:
        cached = self.settings_for(settings)
        started = time.perf_counter()
        child = self._run_child(cached)
        if child["cache"] == "off":  # it could not write the cache (its log says why)
            log.warning("The build process could not store the new index in %s; building it again here", cached.cache_dir)
        built_at = time.perf_counter()
        built = self.builder(cached)  # the cache hit: loads what the child stored
        loaded = time.perf_counter() - built_at
        log.info(
            "Built the new index in a child process in %.2fs (%s file(s) read, cache %s); loaded it in %.2fs",
            built_at - started, child["files_read"], child["cache"], loaded,
        )
        # The report describes the build the moderator asked for, not the load of its result.
        report = built.report
        report = dataclasses.replace(
            report,
            files_read=child["files_read"],
            cache=child["cache"],
            seconds=time.perf_counter() - started,
            skipped=merge_skipped(child["skipped"], report.skipped, report.passages_per_source),
        )
        return dataclasses.replace(built, report=report)

    def _run_child(self, settings: EngineSettings) -> dict[str, Any]:
        # Loaded before the fork (waiting for the start's background load if it still runs):
        # the child then takes no lock that a thread of the bot could hold at the fork.
        encoding()
        context = _context()
        reader, writer = context.Pipe(duplex=False)
        child = context.Process(
            target=_child_main,
            args=(writer, self.builder, settings, self.niceness),
            name="corpus-bot-reload",
        )
        with self._lock:
            self._child = child
        try:
            child.start()
            writer.close()
            # Wait for the result or the child's end, whichever comes first. The build's own
            # worker processes inherit both the pipe and the child's sentinel, so when the child
            # dies (killed, out of memory) neither closes: ask the OS whether it still runs.
            while not reader.poll(_POLL_SECONDS) and child.is_alive():
                pass
            if not reader.poll():
                child.join()
                _terminate_group(child.pid)  # its workers, orphaned
                raise BuildProcessError(f"the build process ended without a result (exit code {child.exitcode})")
            try:
                status, payload = reader.recv()
            except EOFError:
                child.join()
                raise BuildProcessError(
                    f"the build process ended without a result (exit code {child.exitcode})"
                ) from None
        finally:
            reader.close()
            writer.close()
            if child.pid is not None:
                child.join()
            with self._lock:
                self._child = None
        if status == "error":
            raise payload
        return payload

    def close(self) -> None:
        """Stop a build in progress and remove the private cache (the bot is shutting down)."""
        with self._lock:
            child, handoff = self._child, self._handoff
            self._handoff = None
        if child is not None and child.is_alive() and child.pid is not None:
            _terminate_group(child.pid)
        if handoff is not None:
            handoff.cleanup()


def merge_skipped(by_child: Iterable[SkippedFile], by_load: Iterable[SkippedFile], indexed: Container[str]) -> tuple[SkippedFile, ...]:
    """The files skipped by the build, as the bot's load of it sees them.

    The load lists the folder again, so a file that the child could not read because it
    disappeared while being read is simply absent then: it stays skipped (with the child's
    reason), as it would have been had the bot built in a thread; "nothing the bot served is
    lost" relies on it. A file the child skipped but the load could index after all is not.
    """
    merged = {item.source: item for item in by_child if item.source not in indexed}
    merged.update((item.source, item) for item in by_load)
    return tuple(sorted(merged.values(), key=lambda item: item.source))


def _context() -> multiprocessing.context.BaseContext:
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")  # pragma: no cover - not Linux


def lower_priority(niceness: int) -> None:
    """Make this process (and the processes it starts) yield the CPU to the bot."""
    if niceness <= 0 or not hasattr(os, "nice"):
        return
    try:
        os.nice(niceness)
    except OSError:  # pragma: no cover - not allowed here: build at the same priority
        pass


def _terminate_group(pid: int) -> None:
    """Stop the build process and the worker processes it started (its process group)."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except (OSError, AttributeError):  # not a group leader, gone already, or not POSIX
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass


def _detach_signals() -> None:
    """A forked child inherits the bot's signal set-up (asyncio's Ctrl-C handler, a wake-up fd
    that is the bot's event loop's): the build takes the defaults instead (Ctrl-C interrupts it)."""
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    except (ValueError, OSError):  # pragma: no cover - not the main thread (it is, in a child)
        pass


def _child_main(writer, builder: Builder, settings: EngineSettings, niceness: int) -> None:
    """The child process: build, send back a few figures of the report (or the exception), exit."""
    _detach_signals()
    if hasattr(os, "setpgid"):
        os.setpgid(0, 0)  # its own process group, so stopping the build stops its workers too
    lower_priority(niceness)
    try:
        report = builder(settings).report
        result = ("ok", {name: getattr(report, name) for name in SUMMARY})
    except BaseException as error:  # noqa: BLE001 - everything goes back to the bot
        result = ("error", _portable(error))
    try:
        writer.send(result)
    finally:
        writer.close()


def _portable(error: BaseException) -> BaseException:
    """``error`` as it can cross to the parent, carrying the child's traceback as a note."""
    details = "".join(traceback.format_exception(error)).rstrip()
    try:
        copy = pickle.loads(pickle.dumps(error))
    except Exception:  # noqa: BLE001 - an exception type that does not pickle
        copy = RuntimeError(f"{type(error).__name__}: {error}")
    if not isinstance(copy, Exception):  # SystemExit, KeyboardInterrupt: a failed build all the same
        copy = RuntimeError(f"{type(error).__name__}: {error}")
    if hasattr(copy, "add_note"):
        copy.add_note(f"In the build process:\n{details}")
    return copy
