"""Broken corpora, through /reload and at start-up: the bot explains, keeps answering, loses nothing.

On /reload the index in use keeps serving unless the new one is sound: a folder that is gone or
empty, or an article that was being served and can no longer be read, refuses the reload (the
moderator is told why); a new file that is binary, unreadable or outside the folder is skipped
with a reason and the rest is swapped in. At start-up the bot starts with whatever it could read
and names what it skipped in the log. Tests run as root in CI, where chmod 000 does not stop a
read, so "permission denied" is simulated by making ``Path.read_bytes`` raise PermissionError.
"""

from __future__ import annotations

import asyncio
import builtins
import dataclasses
import io
import logging
import os
import pathlib
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from bot.build import build_engine
from bot.config import EngineSettings, Settings, load_engine_settings
from bot.discord import runner
from bot.discord.index import CorpusIndex, lost_sources
from bot.corpus import SkippedFile

from .conftest import SEEDS
from .discord_helpers import (  # noqa: F401  (fixtures are used by name)
    MISSILES,
    TOKEN,
    all_text,
    ask,
    click,
    launch,
    reply_to,
    slash,
    standin,
)
from .discord_standin import OWNER_ID, DiscordStandIn

SERVED = "001_ba5d04ac19317d3f.txt"  # the article that answers MISSILES
ANSWER = "48 **cruise missiles**"


@pytest.fixture
def folder(tmp_path) -> Path:
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    return corpus


class ReadFaults:
    """Simulated failures at the moment the index builder reads a file.

    The corpus reader may read with ``os.open``, ``open`` or ``Path.read_bytes``; all three are
    intercepted, for the named files only, and only where reloads build: in worker threads, and
    in the build process a reload forks (which inherits these patches). Each rule also touches
    its file first, as a real chmod or edit would, so that a cache keyed on the file's stat
    cannot skip the read. ``hits`` lists the faults triggered, in whichever process.
    """

    def __init__(self, monkeypatch, hits_file: Path) -> None:
        self.rules: dict[str, Callable[[str], None]] = {}
        self._hits_file = hits_file
        test_process = os.getpid()
        original_os_open, original_open, original_read_bytes = os.open, builtins.open, pathlib.Path.read_bytes

        def fault(path, reading_a_file: bool = True) -> None:
            if not reading_a_file or isinstance(path, int):
                return
            if os.getpid() == test_process and threading.current_thread() is threading.main_thread():
                return
            name = os.path.basename(os.fspath(path))
            rule = self.rules.get(name)
            if rule is not None:
                with original_open(self._hits_file, "a", encoding="utf-8") as hits:
                    hits.write(name + "\n")
                rule(os.fspath(path))

        def os_open(path, flags, *args, **kwargs):
            fault(path, not flags & getattr(os, "O_DIRECTORY", 0) and not flags & (os.O_WRONLY | os.O_RDWR))
            return original_os_open(path, flags, *args, **kwargs)

        def open_(file, mode="r", *args, **kwargs):
            fault(file, not any(c in mode for c in "wax+"))
            return original_open(file, mode, *args, **kwargs)

        def read_bytes(path):
            fault(path)
            return original_read_bytes(path)

        monkeypatch.setattr(os, "open", os_open)
        monkeypatch.setattr(builtins, "open", open_)
        monkeypatch.setattr(pathlib.Path, "read_bytes", read_bytes)

    @property
    def hits(self) -> list[str]:
        try:
            return self._hits_file.read_text(encoding="utf-8").split()
        except FileNotFoundError:
            return []

    def _rule(self, name: str, folder: Path | None, action: Callable[[str], None]) -> None:
        if folder is not None and (folder / name).exists():
            stat = (folder / name).stat()
            os.utime(folder / name, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        self.rules[name] = action

    def permission_denied(self, name: str, folder: Path | None = None) -> None:
        def deny(path: str) -> None:
            raise PermissionError(13, "Permission denied", path)

        self._rule(name, folder, deny)

    def delete_before_reading(self, name: str, folder: Path | None = None) -> None:
        self._rule(name, folder, os.unlink)

    def rewrite_before_reading(self, name: str, text: str, folder: Path | None = None) -> None:
        def rewrite(path: str) -> None:
            del self.rules[name]  # the rewrite itself opens the file
            with original_open_for_tests(path, "w", encoding="utf-8") as handle:
                handle.write(text)

        self._rule(name, folder, rewrite)

    def crash_build(self, folder: Path) -> None:
        """Reading any article raises something unexpected (a bug, MemoryError ...): the build fails."""

        def crash(path: str) -> None:
            raise RuntimeError("unexpected failure in the index builder")

        for path in folder.iterdir():
            self._rule(path.name, folder, crash)


original_open_for_tests = builtins.open


# --------------------------------------------------------------------------------------------
# /reload: one table of breakages
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Breakage:
    id: str
    breaks: Callable[[Path, ReadFaults, Path], None]  # (corpus folder, read faults, outside folder)
    ok: bool  # whether the reload goes through (with the rest of the folder)
    says: str  # what the moderator's report must say
    then_ask: str | None = None  # after the reload, this question ...
    then_finds: str | None = None  # ... finds this in the answer


def _outside_file(outside: Path) -> Path:
    secret = outside / "secret.txt"
    secret.write_text("The vault combination of the zeppelin hangar is 4-8-15-16.\n", encoding="utf-8")
    return secret


def _symlink_loop(folder: Path) -> None:
    os.symlink("loop_b.txt", folder / "loop_a.txt")
    os.symlink("loop_a.txt", folder / "loop_b.txt")
    os.symlink(".", folder / "dir_loop")


BREAKAGES = [
    Breakage("missing-folder", lambda f, r, o: shutil.rmtree(f), False, "does not exist"),
    Breakage("not-a-folder", lambda f, r, o: (shutil.rmtree(f), f.write_text("x")), False, "is not a folder"),
    Breakage("empty-folder", lambda f, r, o: [p.unlink() for p in f.iterdir()], False, "no readable articles"),
    Breakage("only-unreadable-files", lambda f, r, o: [r.permission_denied(p.name, f) for p in f.iterdir()], False,
             "no readable articles; 5 file(s) were skipped"),
    Breakage("new-unreadable-file",
             lambda f, r, o: ((f / "walrus.txt").write_text("Walrus facts.\n"), r.permission_denied("walrus.txt", f)),
             True, "`walrus.txt`: permission denied"),
    Breakage("served-file-unreadable", lambda f, r, o: r.permission_denied(SERVED, f), False,
             f"`{SERVED}`: permission denied"),
    Breakage("new-binary-file", lambda f, r, o: (f / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" * 100),
             True, "`image.txt`: binary file"),
    Breakage("served-file-now-binary", lambda f, r, o: (f / SERVED).write_bytes(b"\x00\x01" * 1000), False,
             f"`{SERVED}`: binary file"),
    Breakage("served-file-emptied", lambda f, r, o: (f / SERVED).write_bytes(b""), False, f"`{SERVED}`: no text"),
    Breakage("invalid-utf8", lambda f, r, o: (f / "latin.txt").write_bytes(b"Caf\xe9 cr\xe8me and the narwhal \xff\xfe.\n"),
             True, "**Added (1):** `latin.txt`", "narwhal", "narwhal"),
    Breakage("served-file-deleted-during-reload", lambda f, r, o: r.delete_before_reading(SERVED, f), False,
             f"`{SERVED}`: file disappeared while reading"),
    Breakage("new-file-deleted-during-reload",
             lambda f, r, o: ((f / "brief.txt").write_text("Brief note.\n"), r.delete_before_reading("brief.txt", f)),
             True, "`brief.txt`: file disappeared while reading"),
    Breakage("served-file-rewritten-during-reload",
             lambda f, r, o: r.rewrite_before_reading(SERVED, "The pelican parade returns to Lisbon in May.\n", f),
             True, f"**Changed (1):** `{SERVED}`", "Where does the pelican parade return?", "**pelican parade returns**"),
    Breakage("symlink-outside", lambda f, r, o: os.symlink(_outside_file(o), f / "secret.txt"), True,
             "`secret.txt`: symlink points outside the corpus folder", "vault combination zeppelin hangar", None),
    Breakage("symlinked-folder-outside", lambda f, r, o: (_outside_file(o), os.symlink(o, f / "linked")), True,
             "No article was added", "vault combination zeppelin hangar", None),
    Breakage("symlink-loop", lambda f, r, o: _symlink_loop(f), True, "`loop_a.txt`: cannot read"),
    Breakage("thousands-of-tiny-files",
             lambda f, r, o: [(f / f"tiny_{i:04d}.txt").write_text(f"Tiny note {i} about walrus number w{i}.\n")
                              for i in range(3000)],
             True, "**Added (3000):**", "walrus number w2999", "tiny\\_2999.txt"),
    # The bot builds in a child process: what goes wrong there comes back, and nothing is replaced.
    Breakage("build-crashes", lambda f, r, o: r.crash_build(f), False,
             "building the index failed (RuntimeError: unexpected failure in the index builder)"),
]  # fmt: skip


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda b: b.id)
async def test_reload_with_a_broken_corpus(standin, launch, folder, tmp_path, monkeypatch, breakage, caplog):
    settings = EngineSettings(corpus_dir=folder)
    outside = tmp_path / "outside"
    outside.mkdir()
    async with launch(built=build_engine(settings), engine_settings=settings) as bot:
        served_before = dict(bot.corpus.sources())
        generation = bot.corpus.generation
        faults = ReadFaults(monkeypatch, tmp_path / "fault-hits.txt")
        breakage.breaks(folder, faults, outside)
        _, report = await reply_to(standin, await slash(standin, "reload", user_id=OWNER_ID))
        text = report.json["content"]
        assert breakage.says in text, text
        if breakage.ok:
            assert "Index reloaded" in text, text
            assert bot.corpus.generation == generation + 1
        else:
            assert "Reload failed" in text and "previous index is still answering" in text, text
            assert bot.corpus.generation == generation
            assert bot.corpus.sources() == served_before, "nothing the bot served is lost"
            if f"`{SERVED}`" in breakage.says:
                assert "of the index in use could not be read this time" in text, text
            assert "Reload failed, the old index keeps serving" in caplog.text
        if faults.rules and breakage.id != "only-unreadable-files":
            assert faults.hits, "the simulated read failure was never triggered: has the way files are read changed?"
        monkeypatch.undo()  # the faults were for the reload only
        if "rewritten" not in breakage.id:
            _, answer = await ask(standin, MISSILES)
            assert ANSWER in all_text(answer.json), "the article that answered before still answers"
        if breakage.then_ask:
            _, found = await ask(standin, breakage.then_ask)
            if breakage.then_finds:
                assert breakage.then_finds in all_text(found.json), all_text(found.json)
            else:
                assert "couldn't find" in found.json["content"], "a file outside the corpus folder is never read"
                assert "4-8-15-16" not in all_text(found.json)


async def test_a_symlink_loop_never_costs_the_index_in_use(standin, launch, folder):
    """Looping symlinks (file and folder) are skipped; the rest is read and keeps answering."""
    settings = EngineSettings(corpus_dir=folder)
    async with launch(built=build_engine(settings), engine_settings=settings) as bot:
        _symlink_loop(folder)
        _, report = await reply_to(standin, await slash(standin, "reload", user_id=OWNER_ID))
        assert "Index reloaded" in report.json["content"], report.json["content"]
        assert SERVED in bot.corpus.sources()
        _, answer = await ask(standin, MISSILES)
        assert ANSWER in all_text(answer.json)


def test_a_symlink_loop_is_skipped_and_the_rest_is_read(folder):
    _symlink_loop(folder)
    built = build_engine(EngineSettings(corpus_dir=folder))
    assert built.report.documents == 5
    assert {s.source for s in built.report.skipped} >= {"loop_a.txt", "loop_b.txt"}


async def test_an_unlistable_subfolder_of_served_articles_refuses_the_reload(standin, launch, folder, monkeypatch):
    (folder / "europe").mkdir()
    (folder / "europe" / "nato.md").write_text("NATO foreign ministers met in Bucharest.\n", encoding="utf-8")
    settings = EngineSettings(corpus_dir=folder)
    async with launch(built=build_engine(settings), engine_settings=settings) as bot:
        assert "europe/nato.md" in bot.corpus.sources()
        real_scandir = os.scandir

        def scandir(path="."):
            if Path(path).name == "europe":
                raise PermissionError(13, "Permission denied", str(path))
            return real_scandir(path)

        monkeypatch.setattr(os, "scandir", scandir)
        _, report = await reply_to(standin, await slash(standin, "reload", user_id=OWNER_ID))
        monkeypatch.undo()
        text = report.json["content"]
        assert "Reload failed" in text and "europe: cannot list folder" in text, text
        assert "europe/nato.md" in bot.corpus.sources()


def test_lost_sources_covers_skipped_files_and_unlistable_folders():
    served = ["a.txt", "sub/b.txt", "subway.txt"]
    skipped = [SkippedFile("a.txt", "permission denied"), SkippedFile("new.txt", "binary file, not text"),
               SkippedFile("sub", "cannot list folder: Permission denied")]  # fmt: skip
    assert [s.source for s in lost_sources(served, skipped)] == ["a.txt", "sub"]
    assert lost_sources(served, [SkippedFile(".", "cannot list folder: Permission denied")])
    assert not lost_sources(served, [SkippedFile("sub2", "cannot list folder: x"), SkippedFile("n.txt", "no text")])


async def test_a_50_mb_file_is_indexed_while_the_old_index_keeps_answering(standin, launch, folder):
    """A 50 MB log dump dropped into the folder: the build takes seconds, questions keep flowing."""
    line = ("2024-01-01 12:00:00 INFO the albatross gateway served request in 12 ms from node " * 120) + "\n"
    with (folder / "dump.txt").open("w", encoding="utf-8") as handle:
        handle.write(line * (50 * 1024 * 1024 // len(line) + 1))
    assert (folder / "dump.txt").stat().st_size >= 50 * 1024 * 1024
    (folder / "dump.txt").rename(folder / "dump.tmp")  # not in the first index
    settings = EngineSettings(corpus_dir=folder)
    async with launch(built=build_engine(settings), engine_settings=settings) as bot:
        (folder / "dump.tmp").rename(folder / "dump.txt")
        payload = await slash(standin, "reload", user_id=OWNER_ID)
        await standin.wait_for_callback(payload)
        answered = 0
        while answered == 0 or bot.corpus.reloading:  # at least one, however fast the build
            _, answer = await ask(standin, MISSILES)
            assert ANSWER in all_text(answer.json)
            answered += 1
        report = await standin.wait_for_request("POST", "/webhooks/{a}/{t}", 30, predicate=lambda r: payload["token"] in r.path)
        assert "Index reloaded" in report.json["content"] and "`dump.txt`" in report.json["content"]
        assert answered >= 1
        _, answer = await ask(standin, "albatross gateway")
        assert "dump.txt" in all_text(answer.json)
        # Full article: 50 MB is over the 10 MB attachment limit; it is refused, not read.
        _, with_buttons = await ask(standin, "albatross gateway node", opts={"count": 1})
        full = next(c["custom_id"] for row in with_buttons.json["components"] for c in row["components"]
                    if c["custom_id"].startswith("answer:full:"))  # fmt: skip
        _, sent = await reply_to(standin, await click(standin, full))
        assert "too large to attach" in sent.json["content"] and not sent.files


async def test_full_article_never_follows_a_file_swapped_for_a_symlink(standin, launch, folder, tmp_path):
    """An indexed file replaced by a symlink to a file outside the corpus after indexing."""
    secret = _outside_file(tmp_path)
    settings = EngineSettings(corpus_dir=folder)
    async with launch(built=build_engine(settings), engine_settings=settings):
        _, answer = await ask(standin, MISSILES, opts={"count": 1})
        (folder / SERVED).unlink()
        os.symlink(secret, folder / SERVED)
        full = next(c["custom_id"] for row in answer.json["components"] for c in row["components"]
                    if c["custom_id"].startswith("answer:full:"))  # fmt: skip
        _, sent = await reply_to(standin, await click(standin, full))
        assert not sent.files and "no longer in the index" in sent.json["content"]
        assert "4-8-15-16" not in str(sent.json)


# --------------------------------------------------------------------------------------------
# Start-up: the bot starts with what it could read and says what it could not
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StartCase:
    id: str
    breaks: Callable[[Path, ReadFaults, Path], None]
    documents: int  # articles the bot starts with
    logged: str  # what the log must say


START_CASES = [
    StartCase("missing-folder", lambda f, r, o: shutil.rmtree(f), 0, "does not exist. Starting with an empty index"),
    StartCase("not-a-folder", lambda f, r, o: (shutil.rmtree(f), f.write_text("x")), 0, "is not a folder"),
    StartCase("empty-folder", lambda f, r, o: [p.unlink() for p in f.iterdir()], 0, "has no readable articles"),
    StartCase("unreadable-file", lambda f, r, o: r.permission_denied(SERVED, f), 4, f"Skipped {SERVED}: permission denied"),
    StartCase("binary-file", lambda f, r, o: (f / "x.txt").write_bytes(b"\x00" * 64), 5, "Skipped x.txt: binary file"),
    StartCase("invalid-utf8", lambda f, r, o: (f / "l.txt").write_bytes(b"Caf\xe9 \xff narwhal\n"), 6, "Indexed 6 articles"),
    StartCase("symlink-outside", lambda f, r, o: os.symlink(_outside_file(o), f / "s.txt"), 5,
              "Skipped s.txt: symlink points outside the corpus folder"),
    StartCase("symlink-loop", lambda f, r, o: _symlink_loop(f), 5, "Skipped loop_a.txt: cannot read"),
    StartCase("build-crashes", lambda f, r, o: r.crash_build(f), 0, "failed. Starting with an empty index"),
    StartCase("thousands-of-tiny-files",
              lambda f, r, o: [(f / f"t{i:04d}.md").write_text(f"Note {i}.\n") for i in range(2000)], 2005,
              "Indexed 2005 articles"),
]  # fmt: skip


@pytest.mark.parametrize("case", START_CASES, ids=lambda c: c.id)
async def test_start_up_with_a_broken_corpus(standin, launch, folder, tmp_path, monkeypatch, caplog, case):
    caplog.set_level(logging.INFO)
    outside = tmp_path / "outside"
    outside.mkdir()
    faults = ReadFaults(monkeypatch, tmp_path / "fault-hits.txt")
    case.breaks(folder, faults, outside)
    settings = EngineSettings(corpus_dir=folder)
    if faults.rules:  # the start-up build runs on the main thread here
        built = await asyncio.to_thread(runner.load_index, settings)
    else:
        built = runner.load_index(settings)
    monkeypatch.undo()
    assert built.report.documents == case.documents, built.report
    assert case.logged in caplog.text, caplog.text
    async with launch(built=built, engine_settings=settings) as bot:
        _, answer = await ask(standin, MISSILES)
        if case.documents and SERVED in bot.corpus.sources():
            assert ANSWER in all_text(answer.json)
        else:
            assert "couldn't find an answer" in answer.json["content"]
            assert "corpus is empty" in answer.json["content"] or case.documents
    if case.documents == 0 and case.id != "empty-folder":
        # The folder is fixed: a moderator's /reload picks the articles up.
        if folder.is_symlink() or folder.is_file():
            folder.unlink()
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(SEEDS, folder)
        index = CorpusIndex(built, settings)
        result = await index.reload(by="mod")
        assert result.ok and result.documents == 5 and len(result.diff.added) == 5


async def test_run_bot_starts_without_a_corpus_folder_and_says_why(tmp_path, monkeypatch):
    """The real entry point with a missing CORPUS_DIR: it explains, then goes on to connect
    (here the stand-in refuses the wrong token, which ends the run)."""
    async with DiscordStandIn(token=TOKEN) as server:
        with server.patch_discord():
            for name in ("DEV_GUILD_ID", "SYNC_COMMANDS", "SHARD_COUNT", "SHARD_IDS", "ASK_CHANNEL_IDS"):
                monkeypatch.delenv(name, raising=False)
            monkeypatch.setenv("DISCORD_API_BASE", server.api_base)
            monkeypatch.setenv("FEEDBACK_LOG", str(tmp_path / "f.jsonl"))
            captured = io.StringIO()

            def fake_setup_logging(level, root=True):
                logging.getLogger().addHandler(logging.StreamHandler(captured))
                logging.getLogger().setLevel(logging.INFO)

            root = logging.getLogger()
            saved = (root.handlers[:], root.level)
            monkeypatch.setattr(runner.discord.utils, "setup_logging", fake_setup_logging)
            monkeypatch.setattr(runner, "freeze_startup_heap", lambda: None)  # not in the test process
            settings = Settings(EngineSettings(corpus_dir=tmp_path / "nowhere"), discord_token="MTE5.wrong-token")
            try:
                code = await asyncio.to_thread(runner.run_bot, settings)
            finally:
                root.handlers[:], _ = saved
                root.setLevel(saved[1])
    logs = captured.getvalue()
    assert "does not exist. Starting with an empty index" in logs
    assert code == 1 and "rejected DISCORD_TOKEN" in logs, logs  # it went on to log in
    assert "MTE5.wrong-token" not in logs


# --------------------------------------------------------------------------------------------
# The index cache (issue 4), if it exists
# --------------------------------------------------------------------------------------------
def _has_index_cache() -> bool:
    fields = {f.name for f in dataclasses.fields(EngineSettings)}
    return any("cache" in name for name in fields)


@pytest.mark.skipif(not _has_index_cache(), reason="no index cache yet (issue 4's INDEX_CACHE_DIR): nothing to corrupt")
@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_a_corrupted_or_stale_index_cache_is_rebuilt(folder, tmp_path, monkeypatch, damage):
    cache = tmp_path / "cache"
    monkeypatch.setenv("INDEX_CACHE_DIR", str(cache))
    monkeypatch.setenv("CORPUS_DIR", str(folder))
    settings = load_engine_settings()
    fresh = build_engine(settings)
    assert cache.exists() and any(p.is_file() for p in cache.rglob("*")), "the build wrote no cache"
    for path in (p for p in cache.rglob("*") if p.is_file()):
        data = path.read_bytes()
        path.write_bytes({"garbage": os.urandom(len(data) or 64), "truncated": data[: len(data) // 2], "empty": b""}[damage])
    again = build_engine(settings)
    assert again.report.passages == fresh.report.passages
    assert [h.source for h in again.engine.ask(MISSILES).hits] == [h.source for h in fresh.engine.ask(MISSILES).hits]
    # Stale: an article changes after the cache was written; the next build must see it.
    (folder / SERVED).write_text("The pelican parade returns to Lisbon in May.\n", encoding="utf-8")
    stale = build_engine(settings)
    assert stale.engine.ask("pelican parade").hits
    assert not stale.engine.ask(MISSILES).hits or stale.engine.ask(MISSILES).hits[0].source != SERVED
