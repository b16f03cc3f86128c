"""Shared by the end-to-end and reliability tests: our bot against the loopback Discord stand-in.

The ``standin`` fixture checks every recorded request when its test ends: a message body always
carries ``allowed_mentions = {"parse": []}``, no request was refused, and the token appears
nowhere but the Authorization header. ``launch`` starts our bot against it (and checks that the
token never reached the logs). Import the fixtures by name into a test module to use them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from bot.config import DiscordSettings, EngineSettings
from bot.discord import render
from bot.discord.client import CorpusBot
from bot.discord.stats import nearest_rank

from .conftest import SEEDS
from .discord_standin import BOT_USER_ID, GUILD_ID, DiscordStandIn, run_client

TOKEN = "MTE5OTk5OTk5.e2e-secret-token-never-log-me"
MISSILES = "How many cruise missiles did Russia launch?"
MOD_ROLE_ID = 1_200_000_000_000_000_555
FLAG_EPHEMERAL = 1 << 6
SEEN_MESSAGE_BODIES: list[dict] = []  # every message body of the e2e suite, for the last test

MESSAGE_ROUTES = ("/channels/{c}/messages", "/channels/{c}/messages/{m}", "/webhooks/{a}/{t}", "/webhooks/{a}/{t}/messages/{m}")


# --------------------------------------------------------------------------------------------
# Safety checks run on every request of every test
# --------------------------------------------------------------------------------------------
def message_body(request) -> dict | None:
    """The message a request sends (create, edit, follow-up, interaction response), if any."""
    if request.method not in ("POST", "PATCH") or not isinstance(request.json, dict):
        return None
    if request.path.endswith("/callback"):
        body = request.json.get("data") if request.json.get("type") in (4, 7) else None
    elif request.route in MESSAGE_ROUTES or "/messages" in request.path or request.path.startswith("/webhooks/"):
        body = request.json
    else:
        return None
    if not body or not any(key in body for key in ("content", "embeds", "components", "attachments")) and not request.files:
        return None
    return body


def assert_no_pings(body: dict) -> None:
    allowed = body.get("allowed_mentions")
    assert allowed is not None, f"no allowed_mentions in {body}"
    assert allowed.get("parse") == [], allowed
    assert not allowed.get("users") and not allowed.get("roles") and not allowed.get("replied_user"), allowed


def assert_safe_requests(server: DiscordStandIn, requests) -> None:
    """No message body can ping, Discord refused nothing we sent, and the token never leaked."""
    for request in requests:
        body = message_body(request)
        if body is not None:
            assert_no_pings(body)
            SEEN_MESSAGE_BODIES.append(body)
        assert request.status < 400 or request.fault, f"Discord refused {request}: {request.response}"
    assert not server.token_leaks(), server.token_leaks()


def assert_safe_traffic(server: DiscordStandIn) -> None:
    assert_safe_requests(server, server.requests)
    assert not server.unknown_requests, server.describe()


@pytest_asyncio.fixture
async def standin():
    async with DiscordStandIn(token=TOKEN) as server:
        with server.patch_discord():
            yield server
    assert_safe_traffic(server)


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(SEEDS, folder)
    return folder


@pytest.fixture
def launch(standin, seeds_built, tmp_path, caplog):
    """``async with launch(**settings) as bot``: our bot, connected to the stand-in."""
    caplog.set_level(logging.DEBUG)

    @contextlib.asynccontextmanager
    async def _launch(*, built=None, engine_settings=None, builder=None, **overrides):
        config = discord_config(standin, tmp_path, **overrides)
        engine_settings = engine_settings or EngineSettings(corpus_dir=SEEDS)
        extra = {"builder": builder} if builder else {}
        bot = CorpusBot(built or seeds_built, engine_settings, config, guild_ready_timeout=0.05, **extra)
        async with run_client(bot, standin, token=TOKEN):
            yield bot

    yield _launch
    assert TOKEN not in caplog.text


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------
async def slash(standin: DiscordStandIn, name: str, options=None, **kwargs) -> dict:
    payload = standin.interaction_create_slash(name, options, **kwargs)
    await standin.dispatch("INTERACTION_CREATE", payload)
    return payload


async def click(standin: DiscordStandIn, custom_id: str, **kwargs) -> dict:
    payload = standin.interaction_create_component(custom_id, **kwargs)
    await standin.dispatch("INTERACTION_CREATE", payload)
    return payload


async def reply_to(standin: DiscordStandIn, payload: dict):
    """(callback request, the message the member finally sees: inline or the deferred follow-up)."""
    callback = await standin.wait_for_callback(payload)
    if callback.json["type"] == 4:
        return callback, callback.json["data"]
    assert callback.json["type"] == 5, callback.json
    followup = await standin.wait_for_request("POST", "/webhooks/{app}/{token}", predicate=lambda r: payload["token"] in r.path)
    return callback, followup


async def ask(standin: DiscordStandIn, question: str, **options) -> tuple:
    payload = await slash(standin, "ask", {"question": question, **options.pop("opts", {})}, **options)
    return await reply_to(standin, payload)


async def mention(standin: DiscordStandIn, text: str, **kwargs):
    message = mention_payload(standin, text, **kwargs)
    await standin.dispatch("MESSAGE_CREATE", message)
    request = await standin.wait_for_request("POST", r"/channels/{c}/messages")
    return message, request


def custom_ids(body: dict) -> dict[str, str]:
    """action -> custom_id of the buttons in a message body."""
    ids = {}
    for row in body.get("components", []):
        for component in row.get("components", []):
            ids[component["custom_id"].split(":")[1]] = component["custom_id"]
    return ids


def all_text(body: dict) -> str:
    parts = [body.get("content") or ""]
    for embed in body.get("embeds") or []:
        parts += [embed.get("title") or "", embed.get("description") or "", (embed.get("footer") or {}).get("text", "")]
    return "\n".join(parts)


def assert_within_limits(body: dict) -> None:
    assert render.discord_len(body.get("content") or "") <= 2000
    embeds = body.get("embeds") or []
    assert len(embeds) <= 10
    total = 0
    for embed in embeds:
        title, description = embed.get("title") or "", embed.get("description") or ""
        footer = (embed.get("footer") or {}).get("text") or ""
        assert render.discord_len(title) <= 256 and render.discord_len(description) <= 4096
        total += sum(render.discord_len(x) for x in (title, description, footer))
    assert total <= 6000


# --------------------------------------------------------------------------------------------
# For the reliability tests and benchmark: one bot for a whole module, logs, loop lag, retries
# --------------------------------------------------------------------------------------------
class LogCapture(logging.Handler):
    """Every log record of the process (DEBUG and up), formatted with its traceback, as text."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def messages(self, level: int = logging.DEBUG, name: str = "") -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno >= level and r.name.startswith(name)]

    @contextlib.contextmanager
    def installed(self, level: int = logging.DEBUG):
        root = logging.getLogger()
        old_level = root.level
        root.addHandler(self)
        root.setLevel(level)
        try:
            yield self
        finally:
            root.removeHandler(self)
            root.setLevel(old_level)


def discord_config(standin: DiscordStandIn, tmp_path: Path, **overrides) -> DiscordSettings:
    return DiscordSettings(
        **{
            "dev_guild_id": GUILD_ID,
            "sync_commands": "guild",
            "api_base": standin.api_base,
            "feedback_log": tmp_path / "feedback.jsonl",
            "cooldown_questions": 0,
            **overrides,
        }
    )


@contextlib.asynccontextmanager
async def serve(built, tmp_path: Path, *, engine_settings=None, builder=None, standin_options=None, **overrides):
    """A stand-in and our bot connected to it, outside the per-test fixtures (a module, a script).

    Yields ``(standin, bot, logs)``; on exit the stand-in's traffic is checked like the
    ``standin`` fixture does, and the token must not be in the logs.
    """
    logs = LogCapture()
    with logs.installed():
        async with DiscordStandIn(token=TOKEN, **(standin_options or {})) as server:
            with server.patch_discord():
                extra = {"builder": builder} if builder else {}
                bot = CorpusBot(
                    built,
                    engine_settings or EngineSettings(corpus_dir=SEEDS),
                    discord_config(server, tmp_path, **overrides),
                    guild_ready_timeout=0.05,
                    **extra,
                )
                async with run_client(bot, server, token=TOKEN):
                    yield server, bot, logs
    assert_safe_traffic(server)
    assert TOKEN not in logs.text


def assert_safe_since(server: DiscordStandIn, mark: int) -> None:
    """``assert_safe_traffic`` for the requests after ``mark`` only (a shared stand-in)."""
    assert_safe_requests(server, server.find_requests(after=mark))


class LoopLagProbe:
    """A task in the running loop that measures how late its sleeps wake up (event-loop lag)."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.samples: list[float] = []
        self.times: list[float] = []  # loop time of each sample
        self.paused = False  # while True (e.g. during a measurement's own gc.collect), nothing is recorded
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(self.interval)
            if not self.paused:
                now = loop.time()
                self.samples.append(max(0.0, now - started - self.interval))
                self.times.append(now)

    @property
    def worst_ms(self) -> float:
        return max(self.samples, default=0.0) * 1000

    def worst_ms_between(self, start: float, end: float) -> float:
        """The worst lag of the samples taken between two ``loop.time()`` instants."""
        return max((s for s, t in zip(self.samples, self.times) if start <= t <= end), default=0.0) * 1000

    async def __aenter__(self) -> "LoopLagProbe":
        self._task = asyncio.create_task(self._run(), name="loop-lag-probe")
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class _FastSleepAsyncio:
    """``asyncio`` as discord.http sees it, with sleeps capped: its 500 retries wait 1, 3, 5, 7 s."""

    def __init__(self, cap: float) -> None:
        self.cap = cap

    def __getattr__(self, name: str):
        return getattr(asyncio, name)

    async def sleep(self, delay: float, result=None):
        return await asyncio.sleep(min(delay, self.cap), result)


@contextlib.contextmanager
def fast_discord_retries(cap: float = 0.01):
    """Make discord.py's REST retry back-off (500s, 429 retry_after) take at most ``cap`` s."""
    import discord.http
    import discord.webhook.async_ as webhooks  # interaction follow-ups retry on their own

    modules = (discord.http, webhooks)
    originals = [module.asyncio for module in modules]
    for module in modules:
        module.asyncio = _FastSleepAsyncio(cap)
    try:
        yield
    finally:
        for module, original in zip(modules, originals):
            module.asyncio = original


def mention_payload(server: DiscordStandIn, text: str, **kwargs) -> dict:
    return server.message_create(f"<@{BOT_USER_ID}> {text}", **kwargs)


async def reply_to_message(server: DiscordStandIn, message: dict, timeout: float = 5.0):
    """The bot's reply to ``message`` (a POST in its channel referencing it)."""

    def answers(request) -> bool:
        reference = (request.json or {}).get("message_reference") or {}
        return str(reference.get("message_id")) == str(message["id"])

    return await server.wait_for_request("POST", r"/channels/{c}/messages", timeout, predicate=answers)


async def final_reply(server: DiscordStandIn, payload: dict, timeout: float = 5.0) -> dict:
    """What the member finally sees for an interaction: the inline reply or the deferred follow-up."""
    callback = await server.wait_for_callback(payload, timeout)
    if callback.json["type"] == 4:
        return callback.json["data"]
    followup = await server.wait_for_request(
        "POST", "/webhooks/{app}/{token}", timeout, predicate=lambda r: payload["token"] in r.path and r.status < 400
    )
    return followup.json


# --------------------------------------------------------------------------------------------
# Load: many questions at once, and what became of each
# --------------------------------------------------------------------------------------------
RATE_LIMITED = "faster than I can keep up"


@dataclass
class Question:
    user_id: int
    text: str
    via: str = "ask"  # "ask" (slash command) or "mention"
    payload: dict | None = None
    sent_at: float = 0.0


@dataclass
class Outcome:
    question: Question
    replies: int  # final replies the member got (must be exactly 1)
    body: dict | None
    latency_ms: float | None

    @property
    def kind(self) -> str:
        if self.body is None:
            return "dropped"
        text = all_text(self.body)
        if "something went wrong" in text:
            return "error"
        if RATE_LIMITED in text:
            return "rate_limited"
        if self.body.get("embeds"):
            return "answered"
        if "couldn't find an answer" in text:
            return "no_match"
        return "other"


async def send_questions(server: DiscordStandIn, questions: list[Question]) -> None:
    """Dispatch every question at once (as fast as the gateway takes them)."""
    for question in questions:
        if question.via == "ask":
            question.payload = server.interaction_create_slash("ask", {"question": question.text}, user_id=question.user_id)
        else:
            question.payload = mention_payload(server, question.text, author_id=question.user_id)

    async def send(question: Question) -> None:
        question.sent_at = time.monotonic()
        await server.dispatch("INTERACTION_CREATE" if question.via == "ask" else "MESSAGE_CREATE", question.payload)

    await asyncio.gather(*(send(q) for q in questions))


class ReplyTracker:
    """Which reply each question got, read from the stand-in's recorded requests incrementally
    (each request is looked at once, however often the tracker is asked)."""

    def __init__(self, server: DiscordStandIn, questions: list[Question], after: int = -1) -> None:
        self.server = server
        self.questions = questions
        self.after = after
        self._cursor = 0
        self._by_interaction = {str(q.payload["id"]): q for q in questions if q.via == "ask"}
        self._by_token = {q.payload["token"]: q for q in questions if q.via == "ask"}
        self._by_message = {str(q.payload["id"]): q for q in questions if q.via != "ask"}
        self._replies: dict[int, list] = {id(q): [] for q in questions}
        self._pending = len(questions)

    def _add(self, question: Question | None, request, body) -> None:
        if question is None:
            return
        replies = self._replies[id(question)]
        if not replies:
            self._pending -= 1
        replies.append((request, body))

    def update(self) -> None:
        # One snapshot, and the cursor moves by its length: the stand-in may record more requests
        # meanwhile (the benchmark runs it in another thread), and those are read next time.
        # (``self._cursor = len(requests)`` after the loop skipped them, and a reply was lost.)
        fresh = self.server.requests[self._cursor :]
        self._cursor += len(fresh)
        for request in fresh:
            if request.index <= self.after or request.method != "POST" or request.status >= 400:
                continue
            path = request.path
            if path.endswith("/callback"):
                if request.json.get("type") == 4:
                    self._add(self._by_interaction.get(path.split("/")[2]), request, request.json["data"])
            elif path.startswith("/webhooks/"):
                self._add(self._by_token.get(path.split("/")[3]), request, request.json)
            elif path.startswith("/channels/") and isinstance(request.json, dict):
                reference = request.json.get("message_reference") or {}
                self._add(self._by_message.get(str(reference.get("message_id"))), request, request.json)

    @property
    def done(self) -> bool:
        self.update()
        return self._pending == 0

    def outcomes(self) -> list[Outcome]:
        self.update()
        found = []
        for question in self.questions:
            replies = self._replies[id(question)]
            first = replies[0] if replies else None
            latency = (first[0].timestamp - question.sent_at) * 1000 if first else None
            found.append(Outcome(question, len(replies), first[1] if first else None, latency))
        return found


async def wait_for_outcomes(server: DiscordStandIn, questions: list[Question], timeout: float = 60.0, after: int = -1):
    tracker = ReplyTracker(server, questions, after)
    await server.wait_until(lambda: tracker.done, timeout, f"a reply to each of {len(questions)} questions")
    return tracker.outcomes()


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile, as the bot's /stats computes it (NaN for no values)."""
    return nearest_rank(values, p) if values else float("nan")


async def wait_for_log(caplog_or_logs, text: str, timeout: float = 5.0) -> None:
    """Poll until ``text`` appears in the captured log (logging does not wake the stand-in's waiters)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while text not in caplog_or_logs.text:
        if loop.time() > deadline:
            raise AssertionError(f"{text!r} never reached the log")
        await asyncio.sleep(0.01)
