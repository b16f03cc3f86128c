"""Reliability figures under load: ``python -m tests.reliability_bench [--quick] [--big] [--json]``.

The bot runs on the main event loop exactly as in production; the loopback Discord stand-in runs
on its own event loop in a second thread, so the event-loop lag measured here is the bot's (plus
what the GIL costs it), not the stand-in's work. Scenarios:

* burst     200 questions from 50 members at once (half /ask, half mentions), default cooldown
            (3 per 10 s): answered / politely rate-limited / dropped, answer latency (dispatch to
            the reply request recorded by the stand-in) p50/p95/p99, worst event-loop lag. Run
            without rate-limit headers (the bot's own latency) and with the stand-in's bucket
            (50 requests per second per route, which discord.py honours by holding requests).
* reload    a full /reload of a larger corpus while questions keep arriving: failures, latency,
            worst event-loop lag, reload time.
* soak      N questions (default 10,000; no cooldown, 10 % with a never-seen word): RSS at the
            start (after a 500-question warm-up) and at the end, and the bounded stores' sizes.
* big       (``--big``) a /reload that adds one 50 MB file of prose, under steady questions.
* words     questions made only of never-seen words: what the analyzer's memos (per word and per
            whitespace chunk, 2^20 entries each) cost per word when nothing trims them.

Timing figures depend on the machine; the suite (tests/test_reliability_*.py) asserts behaviour
only. Nothing here needs the network.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import gc
import json
import logging
import os
import platform
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

from bot.bench import rss_mb
from bot.build import build_engine
from bot.config import EngineSettings
from bot.discord import runner
from bot.discord.client import CorpusBot
from bot.discord.index import MAX_MEMO_GROWTH

from .conftest import SEEDS
from .discord_helpers import TOKEN, LoopLagProbe, Question, ReplyTracker, discord_config, mention_payload, percentile
from .discord_standin import OWNER_ID, DiscordStandIn, run_client

QUESTIONS = [
    "How many cruise missiles did Russia launch?",
    "Who is Stoltenberg?",
    "What did Vucic say about Kosovo?",
    "How many BMP-1 vehicles did Slovakia send?",
    "Where is Ukraine regrouping after Lysychansk?",
    "What about quantum chromodynamics?",
    "Zelenskyy speech",
    "F-35 stealth fighters",
    "Did Belarus join the war?",
    "What did NATO foreign ministers decide in Bucharest?",
]
FIRST_USER = 1_400_000_000_000_000_000


class StandInThread:
    """A :class:`DiscordStandIn` on its own event loop in a daemon thread."""

    def __init__(self, **options: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.server = DiscordStandIn(token=TOKEN, **options)
        self._thread = threading.Thread(target=self.loop.run_forever, name="stand-in", daemon=True)

    def __enter__(self) -> "StandInThread":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    async def call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a plain function of the stand-in on its loop (its state is not thread-safe),
        without blocking the bot's loop meanwhile."""
        future: concurrent.futures.Future = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(function(*args, **kwargs))
            except BaseException as error:  # noqa: BLE001
                future.set_exception(error)

        self.loop.call_soon_threadsafe(run)
        return await asyncio.wrap_future(future)

    async def run(self, coroutine) -> Any:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self.loop))

    async def prune(self) -> None:
        """Forget the recorded traffic (a long soak would otherwise measure the stand-in's memory)."""

        def forget() -> None:
            server = self.server
            server.requests.clear()
            server._consumed_requests.clear()
            server.gateway_log.clear()
            server._consumed_frames.clear()
            server.interactions.clear()
            server.messages.clear()

        await self.call(forget)


async def send(standin: StandInThread, questions: list[Question]) -> None:
    def build() -> None:
        for question in questions:
            if question.via == "ask":
                question.payload = standin.server.interaction_create_slash(
                    "ask", {"question": question.text}, user_id=question.user_id
                )
            else:
                question.payload = mention_payload(standin.server, question.text, author_id=question.user_id)

    await standin.call(build)
    for question in questions:
        question.sent_at = time.monotonic()
    event = {"ask": "INTERACTION_CREATE", "mention": "MESSAGE_CREATE"}

    async def dispatch_all() -> None:
        await asyncio.gather(*(standin.server.dispatch(event[q.via], q.payload) for q in questions))

    await standin.run(dispatch_all())


async def wait_for(tracker: ReplyTracker, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not tracker.done:
        if time.monotonic() > deadline:
            missing = sum(1 for o in tracker.outcomes() if not o.replies)
            raise TimeoutError(f"{missing} question(s) got no reply within {timeout} s")
        await asyncio.sleep(0.005)


def questions_for(users: int, per_user: int, *, offset: int = 0, unique_every: int = 0, rng=None) -> list[Question]:
    out = []
    for n in range(per_user):
        for u in range(users):
            i = offset + n * users + u
            text = QUESTIONS[i % len(QUESTIONS)]
            if unique_every and i % unique_every == 0:
                text += " " + "".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(9))
            out.append(Question(FIRST_USER + u, text, "ask" if i % 2 == 0 else "mention"))
    return out


def summarize(outcomes) -> dict:
    kinds: dict[str, int] = {}
    for outcome in outcomes:
        kinds[outcome.kind] = kinds.get(outcome.kind, 0) + 1
    latencies = [o.latency_ms for o in outcomes if o.latency_ms is not None]
    by_path = {}
    for via in ("ask", "mention"):
        values = [o.latency_ms for o in outcomes if o.latency_ms is not None and o.question.via == via]
        by_path[via] = {"p50": round(percentile(values, 50), 1), "p95": round(percentile(values, 95), 1)}
    return {
        "questions": len(outcomes),
        "outcomes": kinds,
        "duplicates": sum(1 for o in outcomes if o.replies > 1),
        "latency_ms": {p: round(percentile(latencies, q), 1) for p, q in (("p50", 50), ("p95", 95), ("p99", 99))}
        | {"max": round(max(latencies, default=0.0), 1)},
        "latency_ms_by_path": by_path,
    }


class Bot:
    """Our bot on the main loop, connected to a stand-in thread."""

    def __init__(self, standin: StandInThread, built, settings: EngineSettings, tmp: Path, **config: Any) -> None:
        self.standin = standin
        self.bot = CorpusBot(built, settings, discord_config(standin.server, tmp, **config), guild_ready_timeout=0.05)
        self._context = None

    async def __aenter__(self) -> CorpusBot:
        self._patch = self.standin.server.patch_discord()
        self._patch.__enter__()
        self._context = run_client(self.bot, self.standin.server, token=TOKEN)
        return await self._context.__aenter__()

    async def __aexit__(self, *exc: object) -> None:
        await self._context.__aexit__(*exc)
        self._patch.__exit__(None, None, None)


# --------------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------------
async def scenario_burst(built, tmp: Path, *, bucket: bool) -> dict:
    with StandInThread(ratelimit_headers=bucket) as standin:
        async with Bot(standin, built, EngineSettings(corpus_dir=SEEDS), tmp, cooldown_questions=3, cooldown_seconds=10):
            questions = questions_for(users=50, per_user=4)
            started = time.monotonic()
            async with LoopLagProbe() as lag:
                await send(standin, questions)
                tracker = ReplyTracker(standin.server, questions)
                await wait_for(tracker)
            result = summarize(tracker.outcomes())
            result["seconds"] = round(time.monotonic() - started, 2)
            result["worst_loop_lag_ms"] = round(lag.worst_ms, 1)
            return result


def synthetic_corpus(folder: Path, articles: int, rng: random.Random) -> None:
    """The seeds plus ``articles`` generated articles made of the seeds' sentences."""
    shutil.copytree(SEEDS, folder)
    sentences = [s.strip() + "." for p in SEEDS.glob("*.txt") for s in p.read_text(encoding="utf-8").split(".") if len(s) > 40]
    for n in range(articles):
        paragraphs = ["\n".join(rng.sample(sentences, 4)) for _ in range(4)]
        (folder / f"gen_{n:05d}.txt").write_text(f"Generated article {n}\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")


def big_file_corpus(folder: Path, megabytes: int, rng: random.Random) -> None:
    """The seeds plus one file of ``megabytes`` MB of distinct prose (shuffled seed words)."""
    shutil.copytree(SEEDS, folder)
    words = " ".join(p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt")).split()
    with (folder / "huge.txt.new").open("w", encoding="utf-8") as handle:
        size = n = 0
        while size < megabytes * 1024 * 1024:
            paragraph = " ".join(" ".join(rng.choices(words, k=20)) + f" number{n}." for _ in range(5)) + "\n\n"
            handle.write(paragraph)
            size += len(paragraph.encode("utf-8"))
            n += 1


async def scenario_reload(tmp: Path, *, articles: int, burst: bool, rng: random.Random, big_mb: int = 0) -> dict:
    """A full /reload while questions keep arriving: 5 every 100 ms (and, with ``burst``, the
    200 questions from 50 members at the same moment as the reload). With ``big_mb``, the reload
    adds one file of that many MB of prose instead of using a corpus of many articles."""
    folder = tmp / f"reload-corpus-{int(burst)}-{big_mb}"
    if big_mb:
        big_file_corpus(folder, big_mb, rng)
    else:
        synthetic_corpus(folder, articles, rng)
    settings = EngineSettings(corpus_dir=folder)
    built = build_engine(settings)
    if big_mb:
        (folder / "huge.txt.new").rename(folder / "huge.txt")  # the reload is what reads it
    with StandInThread(ratelimit_headers=False) as standin:
        async with Bot(standin, built, settings, tmp, cooldown_questions=0) as bot:
            loop = asyncio.get_running_loop()
            gc_started = time.perf_counter()
            gc.collect()  # what one full collection of this heap costs: it stops every thread
            full_gc_ms = (time.perf_counter() - gc_started) * 1000
            (folder / "new_article.txt").write_text("Penguins were seen marching in Antarctica.\n", encoding="utf-8")
            asked: list[Question] = []
            reload_payload = await standin.call(standin.server.interaction_create_slash, "reload", user_id=OWNER_ID)
            waves = 0

            async def steady_wave() -> None:
                """Five questions from five members, then a tenth of a second."""
                nonlocal waves
                batch = questions_for(users=5, per_user=1, offset=waves * 5)
                asked.extend(batch)
                await send(standin, batch)
                waves += 1
                await asyncio.sleep(0.1)

            async with LoopLagProbe() as lag:
                # Steady questions for a second before the reload: the baseline.
                baseline_start = loop.time()
                while loop.time() - baseline_start < 1.0:
                    await steady_wave()
                reload_start = loop.time()
                await standin.run(standin.server.dispatch("INTERACTION_CREATE", reload_payload))
                if burst:
                    first = questions_for(users=50, per_user=4, offset=waves * 5)
                    asked += first
                    await send(standin, first)
                while bot.corpus.reloading or (bot.corpus.generation == 1 and bot.corpus.last_reload is None):
                    await steady_wave()
                reload_end = loop.time()
                tracker = ReplyTracker(standin.server, asked)
                await wait_for(tracker)
            result = summarize(tracker.outcomes())
            result.update(
                worst_loop_lag_ms={
                    "before_reload": round(lag.worst_ms_between(baseline_start, reload_start), 1),
                    "during_reload": round(lag.worst_ms_between(reload_start, reload_end), 1),
                    **({"during_reload_after_first_second": round(lag.worst_ms_between(reload_start + 1.0, reload_end), 1)}
                       if burst else {}),
                },  # fmt: skip
                reload_ok=bot.corpus.last_reload is not None and bot.corpus.last_reload.ok,
                reload_seconds=round(reload_end - reload_start, 2),
                full_gc_pause_ms=round(full_gc_ms, 1),
                gc_tracked_objects=len(gc.get_objects()),
                corpus={"articles": bot.corpus.current.report.documents, "passages": bot.corpus.current.report.passages},
            )
            return result


async def scenario_soak(built, tmp: Path, *, total: int, rng: random.Random) -> dict:
    batch_size, users = 200, 50
    with StandInThread(ratelimit_headers=False) as standin:
        async with Bot(standin, built, EngineSettings(corpus_dir=SEEDS), tmp, cooldown_questions=0) as bot:
            samples = []
            start_rss = None
            start_memo = None
            failures = duplicates = sent = 0
            started = time.monotonic()
            async with LoopLagProbe() as lag:
                while sent < total:
                    count = min(batch_size, total - sent)
                    batch = questions_for(users=users, per_user=count // users, offset=sent, unique_every=10, rng=rng)
                    await send(standin, batch)
                    tracker = ReplyTracker(standin.server, batch)
                    await wait_for(tracker)
                    outcomes = tracker.outcomes()
                    failures += sum(1 for o in outcomes if o.kind not in ("answered", "no_match"))
                    duplicates += sum(1 for o in outcomes if o.replies > 1)
                    sent += len(batch)
                    await standin.prune()
                    lag.paused = True  # the collection below stops every thread; it is not the bot's lag
                    gc.collect()
                    samples.append((sent, round(rss_mb(), 1)))
                    await asyncio.sleep(0.02)
                    lag.paused = False
                    if start_rss is None and sent >= 500:
                        start_rss, start_memo = samples[-1][1], bot.corpus.memo_entries()
            return {
                "questions": sent,
                "seconds": round(time.monotonic() - started, 1),
                "failures": failures,
                "duplicates": duplicates,
                "rss_mb": {"start_after_500": start_rss, "end": samples[-1][1], "min": min(s[1] for s in samples),
                           "max": max(s[1] for s in samples)},  # fmt: skip
                "rss_trend": samples[:: max(1, len(samples) // 10)] + [samples[-1]],
                "worst_loop_lag_ms": round(lag.worst_ms, 1),
                "stores": {
                    "answers": len(bot.answers), "conversations": len(bot.conversations._questions),
                    "latency_samples": len(bot.stats._latencies), "unanswered": len(bot.stats.unanswered),
                    "cooldown_buckets": len(bot.limiter._mapping._cache),
                    "analyzer_memo_entries": {"start": start_memo, "end": bot.corpus.memo_entries()},
                },  # fmt: skip
            }


def scenario_words(built, *, questions: int, words: int, rng: random.Random) -> dict:
    """Never-seen words only: the analyzer's memos (per word, per whitespace chunk) are the one
    store that grows with them, up to their bounds, when the Discord layer does not trim them.
    Their memory is measured with tracemalloc (RSS would hide it in free heap)."""
    import tracemalloc

    analyzer = built.engine.analyzer
    before = analyzer.memo_entries()
    letters = "bcdfghjklmnpqrstvwxz"
    texts = [" ".join("".join(rng.choice(letters) for _ in range(10)) for _ in range(words)) for _ in range(questions)]
    tracemalloc.start()
    for text in texts:
        built.engine.ask(text)
    grown_bytes = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    new_words = questions * words
    per_word = grown_bytes / new_words
    return {
        "questions": questions,
        "new_words": new_words,
        "memo_entries_added": analyzer.memo_entries() - before,
        "memos_grew_mb": round(grown_bytes / 1024 / 1024, 1),
        "bytes_per_new_word": round(per_word),
        "untrimmed_worst_case_mb": round(per_word * (1 << 20) / 1024 / 1024),
        "trimmed_by_the_bot_at_entries": MAX_MEMO_GROWTH,
    }


# --------------------------------------------------------------------------------------------
async def main_async(args) -> dict:
    rng = random.Random(6)
    runner.freeze_startup_heap()  # as `python -m bot run` does, before the first index is built
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("discord").setLevel(logging.ERROR)  # the stand-in's 429 tests are elsewhere
    built = build_engine(EngineSettings(corpus_dir=SEEDS))
    report: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "command": "python -m tests.reliability_bench" + (" --quick" if args.quick else "") + (" --big" if args.big else ""),
    }
    with tempfile.TemporaryDirectory(prefix="reliability-bench-") as tmp_name:
        tmp = Path(tmp_name)
        report["burst"] = await scenario_burst(built, tmp, bucket=False)
        report["burst_with_rate_limit_bucket"] = await scenario_burst(built, tmp, bucket=True)
        articles = 300 if args.quick else 3000
        report["reload_under_steady_load"] = await scenario_reload(tmp, articles=articles, burst=False, rng=rng)
        report["reload_with_200_question_burst"] = await scenario_reload(tmp, articles=articles, burst=True, rng=rng)
        report["soak"] = await scenario_soak(built, tmp, total=1000 if args.quick else args.soak, rng=rng)
        if args.big:
            report["reload_of_a_50_mb_file"] = await scenario_reload(tmp, articles=0, burst=False, rng=rng, big_mb=50)
    report["unique_words"] = scenario_words(built, questions=200 if args.quick else 2000, words=40, rng=rng)
    return report


def print_report(report: dict) -> None:
    print(f"# {report['command']}  ({report['machine']})\n")
    for name in ("burst", "burst_with_rate_limit_bucket"):
        r = report[name]
        lat = r["latency_ms"]
        print(f"{name}: {r['questions']} questions in {r['seconds']} s -> {r['outcomes']}, duplicates {r['duplicates']}")
        print(f"  latency p50 {lat['p50']} ms, p95 {lat['p95']} ms, p99 {lat['p99']} ms, max {lat['max']} ms;"
              f" by path {r['latency_ms_by_path']}; worst loop lag {r['worst_loop_lag_ms']} ms")  # fmt: skip
    for name in ("reload_under_steady_load", "reload_with_200_question_burst", "reload_of_a_50_mb_file"):
        if name not in report:
            continue
        r = report[name]
        lat = r["latency_ms"]
        print(f"{name}: corpus {r['corpus']}, reload {'ok' if r['reload_ok'] else 'FAILED'} in {r['reload_seconds']} s;"
              f" {r['questions']} questions -> {r['outcomes']}, duplicates {r['duplicates']}")  # fmt: skip
        print(f"  latency p50 {lat['p50']} ms, p95 {lat['p95']} ms, p99 {lat['p99']} ms, max {lat['max']} ms;"
              f" worst loop lag {r['worst_loop_lag_ms']} ms; one full gc.collect() of this heap"
              f" ({r['gc_tracked_objects']:,} objects) {r['full_gc_pause_ms']} ms")  # fmt: skip
    r = report["soak"]
    print(f"soak: {r['questions']} questions in {r['seconds']} s, failures {r['failures']}, duplicates {r['duplicates']};"
          f" RSS {r['rss_mb']} MB; worst loop lag {r['worst_loop_lag_ms']} ms")  # fmt: skip
    print(f"  RSS trend (questions, MB): {r['rss_trend']}")
    print(f"  stores at the end: {r['stores']}")
    r = report["unique_words"]
    print(f"unique_words: {r['questions']} questions, {r['new_words']} new words -> analyzer memos +{r['memos_grew_mb']} MB"
          f" (~{r['bytes_per_new_word']} B per word; {r['memo_entries_added']} entries); untrimmed they could reach"
          f" ~{r['untrimmed_worst_case_mb']} MB (2^20 words); the bot clears them past"
          f" {r['trimmed_by_the_bot_at_entries']:,} new entries")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller corpus and soak (about a minute)")
    parser.add_argument("--soak", type=int, default=10_000, metavar="N", help="questions in the soak (default 10,000)")
    parser.add_argument("--big", action="store_true", help="also reload a 50 MB file of prose under load (slow)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    report = asyncio.run(main_async(args))
    if args.json:
        print(json.dumps(report))
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
