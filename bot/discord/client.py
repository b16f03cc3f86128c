"""The bot: an ``AutoShardedBot`` that holds the index and the bounded memories, and loads cogs."""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, TypeVar

import aiohttp
import discord
from discord.ext import commands

from ..build import Built
from ..config import DiscordSettings, EngineSettings
from .checks import QuestionLimiter
from .feedback import FeedbackLog
from .index import Builder, CorpusIndex
from .stats import Stats
from .store import AnswerStore, Conversations
from .tree import CorpusTree
from .views import AnswerButton

log = logging.getLogger(__name__)

T = TypeVar("T")

EXTENSIONS = (
    "bot.discord.cogs.ask",
    "bot.discord.cogs.moderation",
    "bot.discord.cogs.info",
)


def configure_api_base(api_base: str) -> None:
    """Point discord.py's REST client (and so the gateway lookup) at ``api_base``.

    ``discord.http.Route.BASE`` is where every REST URL starts, interaction callbacks and
    follow-ups included; ``AutoShardedBot`` then asks that API's ``/gateway/bot`` for the
    gateway URL.
    """
    discord.http.Route.BASE = api_base.rstrip("/")


# Interaction and webhook tokens are credentials for 15 minutes: never in a log line.
_TOKEN_IN_PATH = re.compile(r"(/(?:webhooks|interactions)/\d+/)[^/?]+")


def redact_path(path: str) -> str:
    return _TOKEN_IN_PATH.sub(r"\1[token]", path)


def server_error_trace() -> aiohttp.TraceConfig:
    """Logs every 5xx answer from Discord's REST API. discord.py retries those (up to five tries)
    without a word, and only the last failure would reach our handlers; a 429 it logs itself."""
    trace = aiohttp.TraceConfig()

    async def on_request_end(session, context, params: aiohttp.TraceRequestEndParams) -> None:
        status = params.response.status
        if status >= 500:
            log.warning(
                "Discord answered %d to %s %s; discord.py retries it", status, params.method, redact_path(params.url.path)
            )

    trace.on_request_end.append(on_request_end)
    return trace


def pace_gateway(http: discord.http.HTTPClient) -> None:
    """Make discord.py handle the gateway's frames one per event-loop iteration.

    discord.py reads the gateway in one task (``Shard.worker``: ``await ws.poll_event()`` in a
    loop), and aiohttp's ``receive()`` returns without suspending while frames are buffered. So
    when 200 events arrive at once, one step of that task inflates, parses and dispatches all of
    them, and the handlers it starts all take their first step in the next iteration: the loop
    runs tens of milliseconds without looking at anything else (timers, replies, heartbeats).

    Here every gateway socket this client opens yields to the loop once before each frame it
    hands over (``asyncio.sleep(0)`` ahead of ``receive()``, so a cancelled read never drops a
    frame). Each frame is then handled in its own iteration, between the other ready callbacks,
    at the cost of one extra loop iteration per frame. Only the sockets this client's own
    ``HTTPClient`` opens are wrapped (REST and other clients are not); no discord.py or aiohttp
    class or module is patched.
    """
    connect = http.ws_connect

    async def ws_connect(url: str, *, compress: int = 0) -> aiohttp.ClientWebSocketResponse:
        socket = await connect(url, compress=compress)
        receive = socket.receive

        @functools.wraps(receive)
        async def paced_receive(timeout: float | None = None) -> aiohttp.WSMessage:
            await asyncio.sleep(0)
            return await receive(timeout)

        socket.receive = paced_receive  # type: ignore[method-assign]
        return socket

    http.ws_connect = ws_connect  # type: ignore[method-assign]


def make_intents(config: DiscordSettings) -> discord.Intents:
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True  # mentions and replies (their content needs no intent)
    intents.dm_messages = True
    # Privileged: only when every message of a channel must be read (ASK_CHANNEL_IDS).
    intents.message_content = config.wants_message_content
    return intents


class CorpusBot(commands.AutoShardedBot):
    def __init__(
        self,
        built: Built,
        engine_settings: EngineSettings,
        config: DiscordSettings,
        *,
        builder: Builder | None = None,
        **options: Any,
    ) -> None:
        configure_api_base(config.api_base)
        super().__init__(
            command_prefix=commands.when_mentioned,  # required by commands.Bot; no text commands are defined
            help_command=None,
            intents=make_intents(config),
            allowed_mentions=discord.AllowedMentions.none(),
            shard_count=config.shard_count,
            shard_ids=list(config.shard_ids) if config.shard_ids else None,
            tree_cls=CorpusTree,
            chunk_guilds_at_startup=False,
            member_cache_flags=discord.MemberCacheFlags.from_intents(make_intents(config)),
            # No message cache (discord.py keeps the last 1,000 messages by default, the bot's own
            # answers with their embeds and buttons included): nothing here reads it, and those
            # ~20,000 objects made every full garbage collection, which stops the event loop,
            # three times longer (27-32 ms instead of 8-12 ms after a 200-question burst).
            max_messages=None,
            **{"http_trace": server_error_trace(), **options},
        )
        pace_gateway(self.http)
        self.config = config
        self.engine_settings = engine_settings
        self.corpus = CorpusIndex(built, engine_settings, builder)
        self.answers = AnswerStore()
        self.conversations = Conversations(max_chars=config.max_question_chars * 2)
        self.stats = Stats()
        self.feedback = FeedbackLog(config.feedback_log)
        self.limiter = QuestionLimiter(config.cooldown_questions, config.cooldown_seconds)
        # Questions run on one worker thread: off the event loop, and never two at once on the
        # same analyzer (the stemmer is not thread-safe). Reloads use their own thread.
        self._engine_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="engine")

    async def setup_hook(self) -> None:
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        self.add_dynamic_items(AnswerButton)
        await self.sync_commands()

    async def sync_commands(self) -> None:
        mode = self.config.sync_commands
        try:
            if mode == "guild" and self.config.dev_guild_id:
                guild = discord.Object(id=self.config.dev_guild_id)
                self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
                log.info("Synced %d commands to the development server %s", len(synced), guild.id)
            elif mode == "global":
                synced = await self.tree.sync()
                log.info("Synced %d commands globally (Discord may take a while to show them everywhere)", len(synced))
            else:
                log.info("Not syncing commands (SYNC_COMMANDS=off)")
        except discord.HTTPException:
            # The bot still answers mentions; the commands already registered keep working.
            log.exception("Syncing the slash commands failed")

    async def on_ready(self) -> None:
        report = self.corpus.current.report
        log.info(
            "Ready as %s (id %s) on %d shard(s), %d server(s); serving %d articles, %d passages",
            self.user, self.user.id if self.user else "?", self.shard_count or 1, len(self.guilds),
            report.documents, report.passages,
        )

    async def on_message(self, message: discord.Message) -> None:
        """Questions are handled by the Ask cog's listener; there are no prefix commands."""

    async def run_engine(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._engine_thread, functools.partial(function, *args, **kwargs))

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            self._engine_thread.shutdown(wait=False, cancel_futures=True)
            self.corpus.close()
