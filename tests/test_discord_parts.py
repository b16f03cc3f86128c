"""The Discord layer's parts that need no Discord: follow-ups, stores, reload, settings, limits."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import multiprocessing
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from bot.build import build_engine
from bot.config import DEFAULT_API_BASE, EngineSettings, SettingsError, load_discord_settings
from bot.discord import asking
from bot.discord.checks import QuestionLimiter
from bot.discord.client import make_intents
from bot.discord.feedback import FeedbackLog
from bot.corpus import SkippedFile
from bot.discord.index import AlreadyReloading, Catalogue, CorpusIndex, corpus_diff
from bot.discord.rebuild import BUILD_NICENESS, BuildProcessError, SubprocessBuilder, merge_skipped
from bot.discord.stats import Stats
from bot.discord.store import LRU, AnswerRecord, AnswerStore, Conversations

from .conftest import SEEDS

MISSILES = "How many cruise missiles did Russia launch?"


def write_corpus(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


# --------------------------------------------------------------------------------------------
# Follow-ups
# --------------------------------------------------------------------------------------------
def test_a_question_without_context_is_asked_as_is(engine):
    asked = asking.ask(engine, MISSILES)
    assert asked.context is None and asked.query == MISSILES
    assert "48 cruise missiles" in asked.answer.hits[0].text


def test_follow_up_uses_the_earlier_question_but_answers_the_new_words(engine):
    asked = asking.ask(engine, "and what about Belarus?", context=MISSILES)
    assert asked.context == MISSILES
    # Any form of the name will do: a passage on "Belarusian rockets" is about Belarus.
    assert asked.must_match == ("belarus", "belarusian")
    assert asked.answer.question == "and what about Belarus?"
    assert asked.answer.hits
    assert all("Belarus" in hit.text for hit in asked.answer.hits)
    # What the quotes lack is told of the member's words only, not the earlier question's.
    assert asked.answer.terms == ("belarus",) and asked.answer.missing == ()
    # Asked as one text, the old topic's words are searched too: a quote on the missiles that
    # never mentions Belarus comes with the others.
    combined = engine.ask(f"{MISSILES} and what about Belarus?")
    assert "cruis" in combined.terms
    assert not all("Belarus" in hit.text for hit in combined.hits)


def test_context_decides_between_equally_good_passages(tmp_path):
    folder = write_corpus(
        tmp_path / "c",
        {
            "a.txt": "Spain exports oranges and lemons to many countries.\n",
            "b.txt": "Spain has old castles and sunny beaches.\n",
            "c.txt": "Italy exports oranges and fine wine to many countries.\n",
            "d.txt": "Italy has old castles and sunny beaches.\n",
            "e.txt": "Norway has fjords and long winters.\n",
        },
    )
    engine = build_engine(EngineSettings(corpus_dir=folder)).engine
    alone = asking.ask(engine, "and Italy?")
    assert {hit.source for hit in alone.answer.hits} == {"c.txt", "d.txt"}
    follow_up = asking.ask(engine, "and Italy?", context="What does Spain export?")
    assert [hit.source for hit in follow_up.answer.hits] == ["c.txt"]
    assert follow_up.remembered == "What does Spain export? and Italy?"


def test_follow_up_falls_back_to_the_new_question_alone(engine):
    asked = asking.ask(engine, "and drones?", context=MISSILES)
    assert asked.context is None  # the combined question found no drone passage good enough
    assert asked.answer.hits and "drone" in asked.answer.hits[0].text


def test_follow_up_with_unknown_words_is_a_clear_no_match(engine):
    asked = asking.ask(engine, "what about quantum chromodynamics?", context=MISSILES)
    assert not asked.answer.hits
    assert asked.answer.no_match_reason


def test_more_continues_after_the_shown_passages(engine):
    first = asking.ask(engine, "Belarus", top_k=1)
    assert first.answer.more_available
    second = asking.more(engine, question="Belarus", query="Belarus", must_match=(), top_k=1, source=None, offset=1)
    assert second.hits and second.hits[0].passage != first.answer.hits[0].passage


def test_more_of_a_follow_up_keeps_filtering(engine):
    asked = asking.ask(engine, "and what about Belarus?", context=MISSILES, top_k=1)
    page2 = asking.more(
        engine, question="and what about Belarus?", query=asked.query, must_match=asked.must_match,
        top_k=1, source=None, offset=1,
    )
    assert page2.hits and "Belarus" in page2.hits[0].text
    assert page2.hits[0].passage != asked.answer.hits[0].passage


# --------------------------------------------------------------------------------------------
# Stores
# --------------------------------------------------------------------------------------------
def test_lru_is_bounded_and_keeps_recently_used():
    lru: LRU[int, str] = LRU(2)
    lru.put(1, "a")
    lru.put(2, "b")
    assert lru.get(1) == "a"
    lru.put(3, "c")
    assert lru.get(2) is None and lru.get(1) == "a" and lru.get(3) == "c"
    assert len(lru) == 2


def record(**overrides) -> AnswerRecord:
    base = dict(question="q", query="q", context=None, source=None, count=3, shown=3, sources=("a.txt",))
    return AnswerRecord(**{**base, **overrides})


def test_answer_store_keys_are_opaque_and_bounded():
    store = AnswerStore(capacity=3)
    keys = [store.add(record(question=str(n))) for n in range(5)]
    assert len(set(keys)) == 5
    assert all(len(key) <= 16 and ":" not in key for key in keys)
    assert store.get(keys[0]) is None  # evicted
    assert store.get(keys[-1]).question == "4"
    assert store.get("../../etc/passwd") is None
    assert store.get("x" * 1000) is None
    assert len(store) == 3


def test_conversations_map_messages_and_threads_to_questions():
    conversations = Conversations(capacity=10, max_chars=20)
    conversations.remember([111, None, 222], "first question here")
    assert conversations.previous(None, 111) == "first question here"
    assert conversations.previous(222) == "first question here"
    assert conversations.previous(333) is None
    conversations.remember([111], "a much longer question that goes on and on")
    assert conversations.previous(111) == "that goes on and on"  # the newest words, from a word start
    assert 222 in conversations and 333 not in conversations


# --------------------------------------------------------------------------------------------
# Reloading
# --------------------------------------------------------------------------------------------
def test_corpus_diff_finds_added_removed_and_changed(tmp_path):
    folder = write_corpus(tmp_path / "c", {"a.txt": "Alpha text.\n", "b.txt": "Beta text.\n", "c.txt": "Gamma text.\n"})
    old = build_engine(EngineSettings(corpus_dir=folder)).corpus
    (folder / "a.txt").unlink()
    (folder / "b.txt").write_text("Beta text, edited.\n", encoding="utf-8")
    (folder / "d.txt").write_text("Delta text.\n", encoding="utf-8")
    new = build_engine(EngineSettings(corpus_dir=folder)).corpus
    diff = corpus_diff(old, new)
    assert (diff.added, diff.removed, diff.changed) == (("d.txt",), ("a.txt",), ("b.txt",))


def make_index(tmp_path, builder=build_engine) -> tuple[CorpusIndex, Path]:
    folder = tmp_path / "corpus"
    shutil.copytree(SEEDS, folder)
    settings = EngineSettings(corpus_dir=folder)
    return CorpusIndex(build_engine(settings), settings, builder), folder


async def test_reload_swaps_in_the_new_index(tmp_path):
    index, folder = make_index(tmp_path)
    old = index.current
    (folder / "new.txt").write_text("Brand new article about penguins in Antarctica.\n", encoding="utf-8")
    result = await index.reload(by="Mod")
    assert result.ok and result.diff.added == ("new.txt",)
    assert index.current is not old and index.generation == 2
    assert index.current.engine.ask("penguins Antarctica").hits


async def test_failed_reload_keeps_the_old_index(tmp_path):
    index, folder = make_index(tmp_path)
    old = index.current
    shutil.rmtree(folder)
    result = await index.reload(by="Mod")
    assert not result.ok and "does not exist" in result.error
    assert index.current is old and index.last_reload is result


async def test_reload_to_an_empty_corpus_is_refused(tmp_path):
    index, folder = make_index(tmp_path)
    old = index.current
    for path in folder.iterdir():
        path.write_bytes(b"\x00binary")
    result = await index.reload(by="Mod")
    assert not result.ok and "no readable articles" in result.error
    assert len(result.skipped) == 5
    assert index.current is old


async def test_any_exception_while_building_keeps_the_old_index(tmp_path):
    def broken(settings):
        raise MemoryError("out of memory")

    index, _ = make_index(tmp_path, broken)
    old = index.current
    result = await index.reload(by="Mod")
    assert not result.ok and "MemoryError" in result.error
    assert index.current is old


async def test_one_reload_at_a_time_and_questions_use_the_old_index_meanwhile(tmp_path):
    started, release = threading.Event(), threading.Event()

    def slow(settings):
        started.set()
        release.wait(10)
        return build_engine(settings)

    index, _ = make_index(tmp_path, slow)
    old = index.current
    task = asyncio.create_task(index.reload(by="Mod"))
    await asyncio.to_thread(started.wait, 10)
    assert index.reloading
    with pytest.raises(AlreadyReloading):
        await index.reload(by="Other")
    assert index.current is old and index.current.engine.ask(MISSILES).hits  # still serving
    release.set()
    result = await task
    assert result.ok and index.current is not old and not index.reloading


# --------------------------------------------------------------------------------------------
# Reloads built in a child process (the default)
# --------------------------------------------------------------------------------------------
def in_the_test_process() -> bool:
    return os.getpid() == TEST_PROCESS


TEST_PROCESS = os.getpid()


async def test_the_default_reload_builds_in_a_child_process_at_a_lower_priority(tmp_path):
    calls = []  # (pid, niceness) of every build, wherever it runs; a child writes to the log file
    log_file = tmp_path / "builds.log"

    def recording(settings):
        with open(log_file, "a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()} {os.nice(0)} {settings.cache_dir}\n")
        return build_engine(settings)

    index, folder = make_index(tmp_path, SubprocessBuilder(recording))
    assert isinstance(CorpusIndex(index.current, index.settings)._builder, SubprocessBuilder), "the default"
    (folder / "new.txt").write_text("Brand new article about penguins in Antarctica.\n", encoding="utf-8")
    result = await index.reload(by="Mod")
    assert result.ok and result.diff.added == ("new.txt",), result
    assert index.current.engine.ask("penguins Antarctica").hits
    calls = [line.split() for line in log_file.read_text(encoding="utf-8").splitlines()]
    (child_pid, child_nice, child_cache), (load_pid, load_nice, load_cache) = calls
    assert int(child_pid) != TEST_PROCESS and int(load_pid) == TEST_PROCESS
    assert int(child_nice) == min(19, int(load_nice) + BUILD_NICENESS)
    # No INDEX_CACHE_DIR: the child hands the index over in a private cache, loaded here as a hit.
    assert child_cache == load_cache and Path(child_cache).is_dir()
    assert index.current.report.cache == "cold" and index.current.report.files_read == 6
    index.close()
    assert not Path(child_cache).exists(), "the private cache goes with the bot"


async def test_a_reload_uses_the_configured_index_cache_to_hand_over(tmp_path):
    folder = tmp_path / "corpus"
    shutil.copytree(SEEDS, folder)
    settings = EngineSettings(corpus_dir=folder, cache_dir=tmp_path / "cache")
    index = CorpusIndex(build_engine(settings), settings)
    (folder / "new.txt").write_text("Walruses were counted on the ice.\n", encoding="utf-8")
    result = await index.reload(by="Mod")
    assert result.ok and result.diff.added == ("new.txt",)
    assert index.current.report.cache == "updated" and index.current.report.files_read == 1
    index.close()
    assert (tmp_path / "cache").is_dir(), "the configured cache stays"


async def test_when_the_build_process_cannot_store_the_index_it_is_built_again_here(tmp_path, caplog):
    folder = tmp_path / "corpus"
    shutil.copytree(SEEDS, folder)
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    settings = EngineSettings(corpus_dir=folder, cache_dir=tmp_path / "a-file" / "cache")  # cannot be created
    index = CorpusIndex(build_engine(settings), settings)
    (folder / "new.txt").write_text("Walruses were counted on the ice.\n", encoding="utf-8")
    result = await index.reload(by="Mod")
    assert result.ok and result.diff.added == ("new.txt",)
    assert "could not store the new index" in caplog.text and index.current.engine.ask("walruses ice").hits


async def test_a_build_process_that_raises_keeps_the_old_index(tmp_path, caplog):
    def broken(settings):
        if not in_the_test_process():
            raise ValueError("the stemmer broke")
        return build_engine(settings)

    index, _ = make_index(tmp_path, SubprocessBuilder(broken))
    old = index.current
    result = await index.reload(by="Mod")
    assert not result.ok and result.error == "building the index failed (ValueError: the stemmer broke)"
    assert index.current is old and index.generation == 1 and index.current.engine.ask(MISSILES).hits
    assert "In the build process" in caplog.text and 'raise ValueError("the stemmer broke")' in caplog.text


async def test_a_build_process_that_dies_keeps_the_old_index(tmp_path):
    def killed(settings):
        if not in_the_test_process():
            os._exit(9)  # as if the kernel's OOM killer had stepped in
        return build_engine(settings)

    index, folder = make_index(tmp_path, SubprocessBuilder(killed))
    old = index.current
    (folder / "new.txt").write_text("Never indexed.\n", encoding="utf-8")
    result = await index.reload(by="Mod")
    assert not result.ok and "BuildProcessError" in result.error and "exit code 9" in result.error, result.error
    assert index.current is old and not index.reloading
    with pytest.raises(BuildProcessError):
        SubprocessBuilder(killed)(index.settings)


def _sleep_in_worker(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def test_a_build_process_that_dies_while_its_workers_run_does_not_hang_the_reload(tmp_path):
    """The build's worker processes inherit the result pipe: the bot must notice the build
    process's end anyway, and stop the orphaned workers (its process group)."""
    pids_file = tmp_path / "workers.txt"

    def dies_with_workers(settings):
        if in_the_test_process():
            return build_engine(settings)
        pool = concurrent.futures.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork"))
        running = [pool.submit(_sleep_in_worker, 60) for _ in range(2)]
        time.sleep(0.5)  # the workers have started
        pids_file.write_text(" ".join(str(pid) for pid in pool._processes), encoding="utf-8")
        os._exit(9)  # as if killed mid-build; the workers keep the pipe open
        return running  # pragma: no cover

    index, _ = make_index(tmp_path, SubprocessBuilder(dies_with_workers))
    started = time.monotonic()
    with pytest.raises(BuildProcessError, match="exit code 9"):
        index._builder(index.settings)
    assert time.monotonic() - started < 30
    for pid in map(int, pids_file.read_text(encoding="utf-8").split()):
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(pid), f"worker {pid} still running"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().split(") ")[1][0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


async def test_a_corpus_error_in_the_build_process_reads_as_one(tmp_path):
    index, folder = make_index(tmp_path, SubprocessBuilder())
    old = index.current
    shutil.rmtree(folder)
    result = await index.reload(by="Mod")
    assert not result.ok and result.error.startswith("cannot read the corpus:") and "does not exist" in result.error
    assert index.current is old


def test_skipped_files_of_the_build_process_are_kept_unless_indexed_after_all():
    by_child = [SkippedFile("gone.txt", "file disappeared while reading"), SkippedFile("back.txt", "permission denied")]
    by_load = [SkippedFile("image.txt", "binary file, not text")]
    merged = merge_skipped(by_child, by_load, indexed={"back.txt", "a.txt"})
    assert [item.source for item in merged] == ["gone.txt", "image.txt"]


def test_the_catalogue_is_sorted_once_and_suggests_like_autocomplete(tmp_path):
    folder = write_corpus(tmp_path / "c", {"b.txt": "Beta.\n", "A.txt": "Alpha.\n", f"{'x' * 101}.txt": "Long name.\n"})
    write_corpus(folder / "sub", {"Ca.md": "Gamma.\n"})
    built = build_engine(EngineSettings(corpus_dir=folder))
    catalogue = Catalogue.of(built)
    assert catalogue.names == tuple(sorted(built.report.passages_per_source))
    assert catalogue.suggest("") == ["A.txt", "b.txt", "sub/Ca.md"]  # the 105-character name is too long
    assert catalogue.suggest(" a.T ") == ["A.txt"] and catalogue.suggest("CA") == ["sub/Ca.md"]
    assert catalogue.suggest("txt", limit=1) == ["A.txt"] and catalogue.suggest("zzz") == []
    assert catalogue.pages == ((0, 4),)


async def test_a_reload_replaces_the_catalogue_with_the_index(tmp_path):
    index, folder = make_index(tmp_path)
    before = index.catalogue
    (folder / "aardvark.txt").write_text("Aardvarks dig.\n", encoding="utf-8")
    assert (await index.reload(by="Mod")).ok
    assert index.catalogue is not before and index.catalogue.names[-1] == "aardvark.txt"
    assert index.catalogue.names == tuple(sorted(index.sources()))


def test_article_path_only_serves_indexed_files(tmp_path):
    index, folder = make_index(tmp_path)
    source = sorted(index.sources())[0]
    assert index.article_path(source) == (folder / source).resolve()
    (tmp_path / "secret.txt").write_text("secret", encoding="utf-8")
    for bad in ("../secret.txt", "/etc/passwd", "", "nope.txt", None):
        assert index.article_path(bad) is None
    (folder / source).unlink()
    assert index.article_path(source) is None  # gone since the index was built


# --------------------------------------------------------------------------------------------
# Settings, limits, feedback, stats
# --------------------------------------------------------------------------------------------
DISCORD_VARS = (
    "DEV_GUILD_ID", "SYNC_COMMANDS", "SHARD_COUNT", "SHARD_IDS", "DISCORD_API_BASE", "ASK_CHANNEL_IDS",
    "MESSAGE_CONTENT_INTENT", "MOD_ROLE_IDS", "FEEDBACK_LOG", "COOLDOWN_QUESTIONS", "COOLDOWN_SECONDS",
    "MAX_QUESTION_CHARS", "LOG_LEVEL",
)  # fmt: skip


@pytest.fixture
def clean_env(monkeypatch):
    for name in DISCORD_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_discord_settings_defaults(clean_env):
    config = load_discord_settings()
    assert config.sync_commands == "off" and config.dev_guild_id is None
    assert config.api_base == DEFAULT_API_BASE
    assert not config.wants_message_content
    assert (config.cooldown_questions, config.cooldown_seconds, config.max_question_chars) == (3, 10.0, 500)
    assert config.feedback_log == Path("feedback.jsonl")


def test_discord_settings_from_the_environment(clean_env):
    clean_env.setenv("DEV_GUILD_ID", "123")
    clean_env.setenv("SHARD_COUNT", "4")
    clean_env.setenv("SHARD_IDS", "0, 2")
    clean_env.setenv("ASK_CHANNEL_IDS", "5,6")
    clean_env.setenv("MOD_ROLE_IDS", "7")
    clean_env.setenv("DISCORD_API_BASE", "http://127.0.0.1:9999/api/v10/")
    config = load_discord_settings()
    assert config.sync_commands == "guild" and config.dev_guild_id == 123
    assert config.shard_count == 4 and config.shard_ids == (0, 2)
    assert config.ask_channel_ids == {5, 6} and config.mod_role_ids == {7}
    assert config.api_base == "http://127.0.0.1:9999/api/v10"
    assert config.wants_message_content


@pytest.mark.parametrize(
    "env, message",
    [
        ({"SYNC_COMMANDS": "always"}, "SYNC_COMMANDS"),
        ({"SYNC_COMMANDS": "guild"}, "DEV_GUILD_ID"),
        ({"SHARD_IDS": "0,1"}, "SHARD_COUNT"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "0,2"}, "below SHARD_COUNT"),
        ({"ASK_CHANNEL_IDS": "general"}, "ASK_CHANNEL_IDS"),
        ({"DISCORD_API_BASE": "discord.com"}, "DISCORD_API_BASE"),
        ({"MAX_QUESTION_CHARS": "5"}, "MAX_QUESTION_CHARS"),
    ],
)
def test_bad_discord_settings_are_named(clean_env, env, message):
    for name, value in env.items():
        clean_env.setenv(name, value)
    with pytest.raises(SettingsError, match=message):
        load_discord_settings()


def test_message_content_intent_only_when_needed(clean_env):
    assert not make_intents(load_discord_settings()).message_content
    clean_env.setenv("MESSAGE_CONTENT_INTENT", "true")
    assert make_intents(load_discord_settings()).message_content
    clean_env.delenv("MESSAGE_CONTENT_INTENT")
    clean_env.setenv("ASK_CHANNEL_IDS", "1")
    intents = make_intents(load_discord_settings())
    assert intents.message_content and intents.guild_messages and not intents.members and not intents.presences


def test_question_limiter_is_per_member():
    limiter = QuestionLimiter(2, 60)
    assert limiter.retry_after(1) is None and limiter.retry_after(1) is None
    assert limiter.retry_after(1) > 0
    assert limiter.retry_after(2) is None  # another member is not slowed down
    assert QuestionLimiter(0, 10).retry_after(1) is None  # 0 disables it


def test_feedback_lines_have_no_user_ids(tmp_path):
    log = FeedbackLog(tmp_path / "sub" / "feedback.jsonl")
    log.record("q1", ["a.txt"], "up")
    log.record("q2", ["b.txt", "c.txt"], "down")
    lines = [json.loads(line) for line in (tmp_path / "sub" / "feedback.jsonl").read_text().splitlines()]
    assert [sorted(line) for line in lines] == [["question", "sources", "timestamp", "vote"]] * 2
    assert lines[1]["sources"] == ["b.txt", "c.txt"] and lines[1]["vote"] == "down"
    with pytest.raises(ValueError):
        log.record("q", [], "maybe")


def test_stats_rates_and_percentiles():
    stats = Stats()
    assert stats.percentile(50) is None and stats.no_match_rate == 0
    for n in range(1, 11):
        stats.record(f"q{n}", answered=n > 2, latency_ms=n * 10.0)
    assert (stats.questions, stats.answered, stats.no_match) == (10, 8, 2)
    assert stats.no_match_rate == 0.2
    assert stats.percentile(50) == 50.0 and stats.percentile(95) == 100.0
    assert [u.question for u in stats.unanswered] == ["q1", "q2"]


def test_env_example_documents_every_setting():
    import re

    root = Path(__file__).resolve().parent.parent
    config_source = (root / "bot" / "config.py").read_text(encoding="utf-8")
    read = set(re.findall(r'"([A-Z][A-Z0-9_]+)"', config_source)) - {"INFO", "DEBUG", "WARNING", "ERROR", "CRITICAL"}
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (root / ".env.example").read_text(encoding="utf-8"), re.M))
    assert read <= documented, f"not in .env.example: {sorted(read - documented)}"
    assert {"DISCORD_TOKEN", "CORPUS_DIR", "MIN_COVERAGE", "SYNC_COMMANDS", "DISCORD_API_BASE"} <= documented


def test_log_records_never_show_the_token():
    import logging

    from bot.discord.runner import RedactSecrets

    token = "MTIz.very-secret"
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "login with %s failed", (token,), None)
    assert RedactSecrets(token).filter(record)
    assert record.getMessage() == "login with [token] failed"
    try:
        raise RuntimeError(f"bad {token}")
    except RuntimeError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", (), sys.exc_info())
    RedactSecrets(token).filter(record)
    assert token not in logging.Formatter().format(record)
