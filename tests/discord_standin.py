"""A loopback stand-in for the Discord API, so the *real* discord.py client can be tested end to end.

Discord is unreachable from the test environment, and mocking discord.py internals would only test
our assumptions about it.  Instead, :class:`DiscordStandIn` is a small aiohttp server on 127.0.0.1
(random free port) that speaks the parts of the Discord REST API (v10) and gateway protocol that a
bot built on discord.py 2.7.1 uses.  The real client logs in, connects, receives events and sends
responses over real sockets; the stand-in records everything so tests can assert on it.

Quick start (pytest-asyncio, strict mode)::

    import discord, pytest
    from discord.ext import commands
    from tests.discord_standin import standin, run_client, TEXT_CHANNEL_ID  # noqa: F401  (fixture)

    @pytest.mark.asyncio
    async def test_reply(standin):
        bot = commands.AutoShardedBot(command_prefix="!", intents=..., guild_ready_timeout=0.05)
        ...
        async with run_client(bot, standin):
            await standin.dispatch("MESSAGE_CREATE", standin.message_create("hello"))
            req = await standin.wait_for_request("POST", "/channels/{id}/messages")
            assert req.json["content"] == "hi!"

How the client is pointed here (see :meth:`DiscordStandIn.patch_discord`, done by the ``standin``
fixture and restored afterwards, even when the test fails):

* ``discord.http.Route.BASE`` = ``standin.api_base`` (``http://127.0.0.1:PORT/api/v10``).  Every REST
  call - including interaction callbacks and webhook follow-ups - builds its URL from it.
* ``AutoShardedClient`` asks ``GET /gateway/bot`` for the gateway URL, which returns
  ``ws://127.0.0.1:PORT/gateway``.  A plain ``Client`` uses
  ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` instead, which is patched to the same URL.
* discord.py appends ``?v=10&encoding=json&compress=zlib-stream`` (``zstd-stream`` if the optional
  ``zstandard`` package is installed).  The stand-in honours ``zlib-stream`` exactly like Discord:
  one shared zlib context per connection, every payload flushed with ``Z_SYNC_FLUSH`` and sent as a
  binary frame.  For anything else it sends plain text frames, which discord.py also accepts.

Things that behave like the real Discord because bots tend to get them wrong:

* 429 responses carry ``Via: 1.1 google`` - discord.py treats a 429 *without* a ``Via`` header as a
  Cloudflare ban and raises instead of retrying.  500/502/504 are retried by discord.py after
  ``1 + 2 * attempt`` seconds, so an injected 500 costs a test one second.
* Interaction callbacks are answered with ``200`` and an *interaction callback response*
  (``{"interaction": {...}, "resource": {...}}``): discord.py 2.7 sends ``?with_response=1`` and
  reads ``data["interaction"]`` - an empty ``{}`` body raises ``KeyError`` inside the client.
  A second callback for the same interaction gets ``400 / 40060 already acknowledged``; a follow-up
  before any callback gets ``404 / 10015 Unknown Webhook``; the first follow-up after a deferred
  (type 5) response edits the "thinking..." original, like Discord does.
* Messages are validated (empty message -> 50006, content > 2000, embed limits, >10 embeds ...) and
  slash command definitions are validated on bulk overwrite (names, descriptions, option order).
* The bot's own messages are echoed back as ``MESSAGE_CREATE`` (and edits/deletes as
  ``MESSAGE_UPDATE``/``MESSAGE_DELETE``), thread creation as ``THREAD_CREATE``; set
  ``gateway_echo=False`` to turn that off.  Without the ``message_content`` intent, message content,
  embeds, attachments and components are blanked unless the bot is mentioned / it is a DM / it is
  the bot's own message.
* Gateway sessions are resumable: after :meth:`DiscordStandIn.disconnect` the client RESUMEs on
  ``resume_gateway_url`` and events dispatched in between are replayed.  A client closing with
  1000/1001 invalidates its session (as on Discord).

Waiting without sleeps: :meth:`DiscordStandIn.wait_for_request` returns the oldest recorded request
matching a method and path pattern that no earlier ``wait_for_request`` returned (so waiting twice
for the same route returns two different requests), :meth:`DiscordStandIn.wait_ready` waits until
every guild was delivered to a live gateway session, :meth:`DiscordStandIn.wait_until` waits for any
predicate.  On timeout they raise :class:`StandInTimeout` (an ``AssertionError``) listing what *was*
recorded.

Path patterns (``wait_for_request``, ``find_requests``, ``fail_next``) are regular expressions matched
against the whole path below the API base (e.g. ``/channels/123/messages``); ``{anything}`` is a
placeholder for one path segment, so ``"/channels/{id}/messages"`` works as well as
``rf"/channels/{TEXT_CHANNEL_ID}/messages"``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import hashlib
import itertools
import json
import math
import re
import secrets
import time
import uuid
import zlib
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping, Optional, Sequence, Union

from aiohttp import WSMsgType, web

JSON = dict[str, Any]

# --------------------------------------------------------------------------------------------
# Well-known ids of the default world.  Plausible (old) snowflakes so created_at looks sane.
# Application id and bot user id deliberately differ, to catch code that mixes them up.
# --------------------------------------------------------------------------------------------
DISCORD_EPOCH_MS = 1_420_070_400_000
API_VERSION = 10
DEFAULT_TOKEN = "test-token"

APPLICATION_ID = 1_200_000_000_000_000_001
BOT_USER_ID = 1_200_000_000_000_000_002
GUILD_ID = 1_200_000_000_000_000_100
TEXT_CHANNEL_ID = 1_200_000_000_000_000_200
SECOND_CHANNEL_ID = 1_200_000_000_000_000_201
OWNER_ID = 1_200_000_000_000_000_300
USER_ID = 1_200_000_000_000_000_301
BOT_ROLE_ID = 1_200_000_000_000_000_400

# Permission bits (https://discord.com/developers/docs/topics/permissions).
PERMISSIONS: dict[str, int] = {
    "CREATE_INSTANT_INVITE": 1 << 0,
    "KICK_MEMBERS": 1 << 1,
    "BAN_MEMBERS": 1 << 2,
    "ADMINISTRATOR": 1 << 3,
    "MANAGE_CHANNELS": 1 << 4,
    "MANAGE_GUILD": 1 << 5,
    "ADD_REACTIONS": 1 << 6,
    "VIEW_AUDIT_LOG": 1 << 7,
    "VIEW_CHANNEL": 1 << 10,
    "SEND_MESSAGES": 1 << 11,
    "SEND_TTS_MESSAGES": 1 << 12,
    "MANAGE_MESSAGES": 1 << 13,
    "EMBED_LINKS": 1 << 14,
    "ATTACH_FILES": 1 << 15,
    "READ_MESSAGE_HISTORY": 1 << 16,
    "MENTION_EVERYONE": 1 << 17,
    "USE_EXTERNAL_EMOJIS": 1 << 18,
    "CONNECT": 1 << 20,
    "SPEAK": 1 << 21,
    "CHANGE_NICKNAME": 1 << 26,
    "MANAGE_NICKNAMES": 1 << 27,
    "MANAGE_ROLES": 1 << 28,
    "MANAGE_WEBHOOKS": 1 << 29,
    "USE_APPLICATION_COMMANDS": 1 << 31,
    "MANAGE_THREADS": 1 << 34,
    "CREATE_PUBLIC_THREADS": 1 << 35,
    "CREATE_PRIVATE_THREADS": 1 << 36,
    "SEND_MESSAGES_IN_THREADS": 1 << 38,
    "MODERATE_MEMBERS": 1 << 40,
    "SEND_POLLS": 1 << 49,
}
ALL_PERMISSIONS = sum(PERMISSIONS.values())


def permission_bits(*names: str) -> int:
    """OR together permission names from :data:`PERMISSIONS` (e.g. ``permission_bits("SEND_MESSAGES")``)."""
    return sum(PERMISSIONS[name] for name in set(names))


def without_permissions(bits: Union[int, str], *names: str) -> str:
    """Return ``bits`` minus the named permissions, as the string bitfield Discord sends."""
    return str(int(bits) & ~permission_bits(*names))


DEFAULT_EVERYONE_PERMISSIONS = permission_bits(
    "CREATE_INSTANT_INVITE", "ADD_REACTIONS", "VIEW_CHANNEL", "SEND_MESSAGES", "EMBED_LINKS", "ATTACH_FILES",
    "READ_MESSAGE_HISTORY", "USE_EXTERNAL_EMOJIS", "CONNECT", "SPEAK", "CHANGE_NICKNAME",
    "USE_APPLICATION_COMMANDS", "CREATE_PUBLIC_THREADS", "SEND_MESSAGES_IN_THREADS", "SEND_POLLS",
)  # fmt: skip
DEFAULT_BOT_PERMISSIONS = DEFAULT_EVERYONE_PERMISSIONS | permission_bits(
    "MANAGE_MESSAGES", "MANAGE_THREADS", "CREATE_PRIVATE_THREADS"
)

# Gateway intents that matter to the stand-in's event filtering.
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT

# Message flags / interaction callback types used below.
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_COMPONENTS_V2 = 1 << 15
CALLBACK_PONG = 1
CALLBACK_CHANNEL_MESSAGE = 4
CALLBACK_DEFERRED_CHANNEL_MESSAGE = 5
CALLBACK_DEFERRED_UPDATE_MESSAGE = 6
CALLBACK_UPDATE_MESSAGE = 7
CALLBACK_AUTOCOMPLETE_RESULT = 8
CALLBACK_MODAL = 9
INTERACTION_PING = 1
INTERACTION_APPLICATION_COMMAND = 2
INTERACTION_COMPONENT = 3
INTERACTION_AUTOCOMPLETE = 4
INTERACTION_MODAL_SUBMIT = 5

_AUTO: Any = object()  # sentinel: "derive this from the world"


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------
def _iso(dt: Optional[datetime] = None) -> str:
    return (dt or datetime.now(timezone.utc)).isoformat()


def snowflake_time(snowflake: int) -> datetime:
    return datetime.fromtimestamp(((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000, tz=timezone.utc)


class SnowflakeFactory:
    """Monotonic, time-based snowflakes so ids sort like Discord's and ``created_at`` is "now"."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        now_ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        self._last = max(self._last + 1, now_ms << 22)
        return self._last


def compile_path_pattern(pattern: str) -> re.Pattern[str]:
    """Turn ``/channels/{id}/messages`` into a regex; ``{name}`` matches one path segment.

    Regex quantifiers like ``{2,3}`` are left alone because placeholders must start with a letter.
    """
    return re.compile(re.sub(r"\{[A-Za-z_]\w*\}", r"[^/]+", pattern))


def _template_regex(template: str) -> re.Pattern[str]:
    """Regex with named groups for the stand-in's own route table."""
    parts = re.split(r"(\{[A-Za-z_]\w*\})", template)
    out = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(out)


def _json_dumps(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------
@dataclass
class RecordedFile:
    """One uploaded file from a multipart request (``files[N]`` form field)."""

    field_name: str
    filename: str
    content_type: Optional[str]
    data: bytes


@dataclass
class RecordedRequest:
    """A REST request as the stand-in saw it, plus what it answered.

    ``json`` is the parsed JSON body, or the parsed ``payload_json`` part of a multipart body.
    ``headers`` never contains ``Authorization``; its value is kept separately in ``authorization``
    so tests can check the token travelled only there (see :meth:`DiscordStandIn.token_leaks`).
    """

    index: int
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    authorization: Optional[str]
    json: Any
    files: list[RecordedFile]
    raw_body: bytes
    route: Optional[str] = None  # matched route template, None for unknown routes
    status: int = 0
    response: Any = None
    fault: Optional[str] = None  # description of the injected fault that answered, if any
    timestamp: float = field(default_factory=time.monotonic)

    @property
    def filenames(self) -> list[str]:
        return [f.filename for f in self.files]

    def __str__(self) -> str:
        fault = f" ({self.fault})" if self.fault else ""
        return f"#{self.index} {self.method} {self.path} -> {self.status}{fault}"


@dataclass
class GatewayFrame:
    """One gateway payload, ``direction`` is ``"recv"`` (from the client) or ``"send"`` (to it)."""

    index: int
    direction: str
    connection_id: int
    session_id: Optional[str]
    op: Optional[int]
    t: Optional[str]
    s: Optional[int]
    d: Any
    timestamp: float = field(default_factory=time.monotonic)


@dataclass
class FaultRule:
    """A queued response for the next ``count`` requests matching ``method`` + ``pattern``."""

    method: str
    pattern: re.Pattern[str]
    status: int
    body: Any
    headers: dict[str, str]
    count: int
    delay: float = 0.0
    passthrough: bool = False  # True: only delay, then answer normally
    description: str = ""

    def matches(self, method: str, path: str) -> bool:
        return self.count > 0 and self.method in ("*", method) and self.pattern.fullmatch(path) is not None


@dataclass
class InteractionState:
    """What the stand-in knows about one dispatched interaction and how the bot answered it."""

    id: int
    token: str
    application_id: int
    type: int
    payload: JSON
    channel_id: Optional[int]
    guild_id: Optional[int]
    created: float = field(default_factory=time.monotonic)
    callbacks: list[JSON] = field(default_factory=list)  # raw callback bodies, in order
    response_type: Optional[int] = None
    original_message_id: Optional[int] = None
    followup_message_ids: list[int] = field(default_factory=list)
    loading: bool = False  # deferred (type 5) and not yet edited/followed up
    autocomplete_choices: Optional[list[JSON]] = None
    modal: Optional[JSON] = None

    @property
    def acknowledged(self) -> bool:
        return self.response_type is not None


@dataclass
class ChannelSpec:
    id: int
    name: str
    type: int = 0  # 0 text, 2 voice, 4 category, 5 announcement, 15 forum
    parent_id: Optional[int] = None
    topic: Optional[str] = None
    nsfw: bool = False
    position: int = 0
    permission_overwrites: list[JSON] = field(default_factory=list)


@dataclass
class RoleSpec:
    id: int
    name: str
    permissions: int = 0
    position: int = 1
    color: int = 0
    managed: bool = False
    mentionable: bool = False
    tags: Optional[JSON] = None


@dataclass
class MemberSpec:
    user_id: int
    username: str
    roles: list[int] = field(default_factory=list)
    bot: bool = False
    nick: Optional[str] = None
    global_name: Optional[str] = None


def _default_channels() -> list[ChannelSpec]:
    return [
        ChannelSpec(TEXT_CHANNEL_ID, "general", position=0, topic="General chat"),
        ChannelSpec(SECOND_CHANNEL_ID, "corpus", position=1),
    ]


def _default_members() -> list[MemberSpec]:
    return [MemberSpec(OWNER_ID, "owner"), MemberSpec(USER_ID, "alice")]


@dataclass
class GuildSpec:
    """Configuration of a guild the bot is in.  The bot member and its managed role are added automatically."""

    id: int = GUILD_ID
    name: str = "Corpus Test Guild"
    owner_id: int = OWNER_ID
    channels: list[ChannelSpec] = field(default_factory=_default_channels)
    roles: list[RoleSpec] = field(default_factory=list)  # extra roles besides @everyone and the bot role
    members: list[MemberSpec] = field(default_factory=_default_members)
    everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS
    bot_permissions: int = DEFAULT_BOT_PERMISSIONS  # permissions of the bot's managed role
    bot_role_id: int = BOT_ROLE_ID
    preferred_locale: str = "en-US"


class StandInTimeout(AssertionError):
    """Raised by the ``wait_*`` helpers; an AssertionError so pytest shows it as a test failure."""


class DiscordAPIError(Exception):
    """Raised inside route handlers; rendered as Discord's JSON error body."""

    def __init__(self, status: int, code: int, message: str, errors: Optional[JSON] = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status, self.code, self.message, self.errors = status, code, message, errors

    def body(self) -> JSON:
        body: JSON = {"message": self.message, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        return body


def _form_error(path: Sequence[Union[str, int]], code: str, message: str) -> DiscordAPIError:
    """Discord's 50035 "Invalid Form Body" with the nested ``errors`` structure."""
    errors: JSON = {"_errors": [{"code": code, "message": message}]}
    for key in reversed(list(path)):
        errors = {str(key): errors}
    return DiscordAPIError(400, 50035, "Invalid Form Body", errors)


def _unknown(kind: str, code: int) -> DiscordAPIError:
    return DiscordAPIError(404, code, f"Unknown {kind}")


@dataclass
class _Call:
    """Everything a route handler needs about one request."""

    record: RecordedRequest
    params: dict[str, str]
    body: Any
    files: list[RecordedFile]

    @property
    def query(self) -> dict[str, str]:
        return self.record.query

    def snowflake(self, name: str) -> int:
        try:
            return int(self.params[name])
        except ValueError:
            raise _form_error([name], "NUMBER_TYPE_COERCE", f'Value "{self.params[name]}" is not snowflake.') from None


@dataclass
class _Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[_Call], Awaitable[_Reply]]


@dataclass(frozen=True)
class _Route:
    method: str
    template: str
    regex: re.Pattern[str]
    handler: Handler
    auth: bool  # interaction callbacks and webhook-token routes are unauthenticated on Discord


# --------------------------------------------------------------------------------------------
# Gateway state
# --------------------------------------------------------------------------------------------
@dataclass
class GatewaySession:
    """An identified gateway session; survives connection drops so it can be RESUMEd."""

    id: str
    shard: Optional[tuple[int, int]]
    intents: int
    connection: Optional["GatewayConnection"] = None
    seq: int = 0
    backlog: deque[JSON] = field(default_factory=lambda: deque(maxlen=1000))
    resumable: bool = True
    guild_ids: list[int] = field(default_factory=list)  # guilds delivered in GUILD_CREATE
    ready: bool = False

    @property
    def live(self) -> bool:
        return self.connection is not None and not self.connection.closed

    def covers_guild(self, guild_id: int) -> bool:
        if self.shard is None:
            return True
        shard_id, shard_count = self.shard
        return (guild_id >> 22) % shard_count == shard_id


class GatewayConnection:
    """One websocket connection; handles zlib-stream compression and ordered sends."""

    def __init__(self, conn_id: int, ws: web.WebSocketResponse, request: web.Request, transport: Any) -> None:
        self.id = conn_id
        self.ws = ws
        self.path = request.path
        self.query = dict(request.query)
        self.transport = transport
        self.compress: Optional[str] = self.query.get("compress")
        # zlib-stream: ONE compression context for the whole connection, each payload ends with a
        # Z_SYNC_FLUSH marker (00 00 ff ff) - exactly what discord.py's decompressor waits for.
        self._zlib = zlib.compressobj() if self.compress == "zlib-stream" else None
        self._lock = asyncio.Lock()
        self.session: Optional[GatewaySession] = None
        self.closed = False
        self.close_code: Optional[int] = None
        self.binary_frames_sent = 0

    async def send(self, payload: JSON) -> None:
        data = _json_dumps(payload)
        async with self._lock:  # compressed frames must leave in the order they were compressed
            if self.closed or self.ws.closed:
                raise ConnectionResetError("gateway connection is closed")
            if self._zlib is not None:
                frame = self._zlib.compress(data.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
                await self.ws.send_bytes(frame)
                self.binary_frames_sent += 1
            else:
                await self.ws.send_str(data)


# --------------------------------------------------------------------------------------------
# The stand-in
# --------------------------------------------------------------------------------------------
class DiscordStandIn:
    """Loopback Discord API + gateway.  Use ``async with DiscordStandIn() as s:`` or ``start()``/``stop()``.

    Parameters
    ----------
    token:
        The bot token the stand-in accepts (REST ``Authorization: Bot <token>``, gateway IDENTIFY).
    heartbeat_interval_ms:
        Sent in HELLO.  Discord uses 41250; tests of heartbeating can use e.g. 50.
    shard_count:
        Returned by ``GET /gateway/bot`` (AutoShardedClient launches that many shards).
    guilds:
        Guilds the bot is in (default: one :class:`GuildSpec`).
    gateway_echo:
        Echo the bot's own message creates/edits/deletes and thread creations as gateway events.
    allowed_privileged_intents:
        Privileged intents the "developer portal" allows; IDENTIFYing with others closes with 4014.
    interaction_response_deadline:
        Seconds after dispatch within which an interaction must get its initial callback (Discord: 3).
        ``None`` (default) disables the check so slow CI never flakes.
    """

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        heartbeat_interval_ms: int = 41250,
        shard_count: int = 1,
        guilds: Optional[Sequence[GuildSpec]] = None,
        bot_username: str = "corpus-bot",
        gateway_echo: bool = True,
        allowed_privileged_intents: int = PRIVILEGED_INTENTS,
        interaction_response_deadline: Optional[float] = None,
        ratelimit_headers: bool = True,
    ) -> None:
        self.token = token
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.shard_count = shard_count
        self.gateway_echo = gateway_echo
        self.allowed_privileged_intents = allowed_privileged_intents
        self.interaction_response_deadline = interaction_response_deadline
        self.ratelimit_headers = ratelimit_headers
        self.heartbeat_ack = True  # set False to simulate a zombied connection (no HEARTBEAT_ACK)
        self.application_id = APPLICATION_ID
        self.bot_user_id = BOT_USER_ID

        self._snowflakes = SnowflakeFactory()
        self._runner: Optional[web.AppRunner] = None
        self._port: Optional[int] = None
        self._changed = asyncio.Event()  # pulsed whenever something is recorded (see _notify)
        self._gateway_gate = asyncio.Event()
        self._gateway_gate.set()
        self._conn_ids = itertools.count(1)

        # Recordings
        self.requests: list[RecordedRequest] = []
        self.gateway_log: list[GatewayFrame] = []
        self._consumed_requests: set[int] = set()
        self._consumed_frames: set[int] = set()
        self.identify_count = 0
        self.resume_count = 0
        self.heartbeat_count = 0

        # Fault injection
        self._faults: list[FaultRule] = []

        # Gateway state
        self.connections: list[GatewayConnection] = []
        self.sessions: dict[str, GatewaySession] = {}

        # The "world"
        self.users: dict[int, JSON] = {}
        self.guilds: dict[int, JSON] = {}  # guild id -> REST-style guild object (without members/channels)
        self.roles: dict[int, dict[int, JSON]] = {}  # guild id -> role id -> role
        self.members: dict[int, dict[int, JSON]] = {}  # guild id -> user id -> member (with user)
        self.channels: dict[int, JSON] = {}  # channel/thread id -> channel object (with guild_id if any)
        self.messages: dict[int, JSON] = {}  # message id -> message object (REST shape)
        self.attachments: dict[int, bytes] = {}  # attachment id -> bytes served on the fake CDN
        self.commands: dict[Optional[int], list[JSON]] = {}  # None = global, else guild id
        self.interactions: dict[int, InteractionState] = {}
        self._command_ids: dict[tuple[Optional[int], str, int], int] = {}
        self._dm_channels: dict[int, int] = {}  # recipient id -> DM channel id

        self._add_user(self.bot_user_id, bot_username, bot=True)
        for spec in guilds if guilds is not None else [GuildSpec()]:
            self.add_guild(spec)

        self._routes = self._build_routes()

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> "DiscordStandIn":
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway_handler)
        app.router.add_get("/gateway-resume", self._gateway_handler)  # resume_gateway_url, like Discord's
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._cdn_handler)
        app.router.add_route("*", f"/api/v{API_VERSION}/{{tail:.*}}", self._api_handler)
        app.router.add_route("*", "/{tail:.*}", self._unversioned_handler)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        """Close every gateway connection (1001 "going away") and shut the server down."""
        self._gateway_gate.set()
        for conn in list(self.connections):
            if not conn.closed:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.ws.close(code=1001, message=b"stand-in stopping"), 1.0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "DiscordStandIn":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("DiscordStandIn is not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """Value for ``discord.http.Route.BASE``."""
        return f"{self.base_url}/api/v{API_VERSION}"

    @property
    def gateway_url(self) -> str:
        """Value for ``DiscordWebSocket.DEFAULT_GATEWAY``; also what ``GET /gateway/bot`` returns."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway-resume"

    @contextlib.contextmanager
    def patch_discord(self) -> Iterator[None]:
        """Point discord.py's REST base and default gateway at this stand-in; restore on exit."""
        import yarl
        from discord.gateway import DiscordWebSocket
        from discord.http import Route

        old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
        Route.BASE = self.api_base
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield
        finally:
            Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = old_base, old_gateway

    # ------------------------------------------------------------------ waiting / inspection
    def _notify(self) -> None:
        """Wake every waiter; each re-checks its predicate."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(
        self, predicate: Callable[[], Any], timeout: float = 5.0, description: str = "condition"
    ) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked whenever something is recorded) and return it."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise StandInTimeout(f"timed out after {timeout}s waiting for {description}\n{self.describe()}")
            event = self._changed
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    def find_requests(
        self, method: str = "*", path: str = ".*", *, status: Optional[int] = None, after: int = -1
    ) -> list[RecordedRequest]:
        """All recorded requests matching (does not consume them).  ``after`` is a request index."""
        regex = compile_path_pattern(path)
        return [
            r
            for r in self.requests
            if r.index > after
            and method in ("*", r.method)
            and regex.fullmatch(r.path)
            and (status is None or r.status == status)
        ]

    async def wait_for_request(
        self,
        method: str,
        path: str,
        timeout: float = 5.0,
        *,
        predicate: Optional[Callable[[RecordedRequest], bool]] = None,
        after: int = -1,
    ) -> RecordedRequest:
        """Return the oldest not-yet-returned request matching ``method``/``path`` (waiting if needed).

        Already-recorded requests count, so there is no race between triggering and waiting.
        """

        def find() -> Optional[RecordedRequest]:
            for r in self.find_requests(method, path, after=after):
                if r.index not in self._consumed_requests and (predicate is None or predicate(r)):
                    return r
            return None

        found = await self.wait_until(find, timeout, f"request {method} {path}")
        self._consumed_requests.add(found.index)
        return found

    async def expect_no_request(self, method: str, path: str, within: float = 0.2, *, after: int = -1) -> None:
        """Assert that no unconsumed matching request arrives within ``within`` seconds."""
        with contextlib.suppress(StandInTimeout):
            req = await self.wait_for_request(method, path, timeout=within, after=after)
            raise AssertionError(f"unexpected request {req}: {req.json!r}")

    def mark(self) -> int:
        """Index of the last recorded request; pass as ``after=`` to only look at newer ones."""
        return self.requests[-1].index if self.requests else -1

    @property
    def unknown_requests(self) -> list[RecordedRequest]:
        """Requests for routes the stand-in does not implement (answered 404)."""
        return [r for r in self.requests if r.route is None]

    def token_leaks(self, token: Optional[str] = None) -> list[str]:
        """Places other than the Authorization header where the token appeared (should be empty)."""
        token = token or self.token
        leaks: list[str] = []
        for r in self.requests:
            blobs = {
                "path": r.path,
                "query": _json_dumps(r.query),
                "headers": _json_dumps(r.headers),
                "body": r.raw_body.decode("utf-8", "replace"),
            }
            leaks += [f"{r}: {where}" for where, text in blobs.items() if token in text]
            if r.authorization not in (None, f"Bot {token}"):
                leaks.append(f"{r}: unexpected Authorization header")
        for frame in self.gateway_log:
            if frame.direction == "recv" and frame.op not in (2, 6) and token in _json_dumps(frame.d):
                leaks.append(f"gateway frame #{frame.index} op {frame.op}")
        return leaks

    async def wait_for_gateway(
        self, op: Optional[int] = None, t: Optional[str] = None, *, direction: str = "recv", timeout: float = 5.0
    ) -> GatewayFrame:
        """Oldest not-yet-returned gateway frame with the given op / event name and direction."""

        def find() -> Optional[GatewayFrame]:
            for f in self.gateway_log:
                if (
                    f.index not in self._consumed_frames
                    and f.direction == direction
                    and (op is None or f.op == op)
                    and (t is None or f.t == t)
                ):
                    return f
            return None

        frame = await self.wait_until(find, timeout, f"gateway frame op={op} t={t} ({direction})")
        self._consumed_frames.add(frame.index)
        return frame

    def is_ready(self) -> bool:
        """Every guild was delivered to a live session, and every shard of a sharded client is up."""
        live = [s for s in self.sessions.values() if s.ready and s.live]
        if not live:
            return False
        for s in live:
            if s.shard is not None and {x.shard[0] for x in live if x.shard} < set(range(s.shard[1])):
                return False
        return all(any(gid in s.guild_ids for s in live) for gid in self.guilds)

    async def wait_ready(self, timeout: float = 5.0) -> None:
        """Wait until the client identified and received GUILD_CREATE for every guild."""
        await self.wait_until(self.is_ready, timeout, "gateway READY + GUILD_CREATE for all guilds")

    async def wait_for_callback(self, interaction: Union[JSON, int], timeout: float = 5.0) -> RecordedRequest:
        """Wait for the interaction callback request of ``interaction`` (payload dict or id)."""
        iid = int(interaction["id"]) if isinstance(interaction, Mapping) else int(interaction)
        return await self.wait_for_request("POST", rf"/interactions/{iid}/[^/]+/callback", timeout)

    def describe(self, last: int = 25) -> str:
        """Human-readable summary of recent traffic, used in timeout messages."""
        lines = [f"recorded requests (last {last} of {len(self.requests)}):"]
        lines += [f"  {r}" for r in self.requests[-last:]]
        sessions = ", ".join(
            f"{s.id[:8]} shard={s.shard} live={s.live} ready={s.ready} seq={s.seq}" for s in self.sessions.values()
        )
        lines.append(f"gateway: identify={self.identify_count} resume={self.resume_count} sessions=[{sessions}]")
        if self.unknown_requests:
            lines.append("UNKNOWN routes: " + ", ".join(f"{r.method} {r.path}" for r in self.unknown_requests))
        return "\n".join(lines)

    # ------------------------------------------------------------------ fault injection
    def fail_next(
        self,
        method: str,
        path: str,
        status: int = 500,
        *,
        count: int = 1,
        retry_after: float = 0.1,
        is_global: bool = False,
        code: int = 0,
        message: Optional[str] = None,
        body: Any = None,
        headers: Optional[Mapping[str, str]] = None,
        delay: float = 0.0,
    ) -> FaultRule:
        """Answer the next ``count`` matching requests with an error instead of handling them.

        ``status=429`` produces a proper Discord rate-limit response (body with ``retry_after`` and
        ``global``, ``Retry-After``/``X-RateLimit-*`` headers, ``Via``).  ``body`` may be a ``str`` to
        simulate a non-JSON (e.g. Cloudflare HTML) error page.
        """
        hdrs = dict(headers or {})
        if status == 429:
            if body is None:
                body = {"message": message or "You are being rate limited.", "retry_after": retry_after,
                        "global": is_global, "code": code}  # fmt: skip
            hdrs = {**self._ratelimit_headers(path, remaining=0, reset_after=retry_after), **hdrs}
            hdrs.setdefault("Retry-After", str(max(1, math.ceil(retry_after))))
            hdrs.setdefault("X-RateLimit-Scope", "global" if is_global else "user")
            if is_global:
                hdrs.setdefault("X-RateLimit-Global", "true")
        elif body is None:
            body = {"message": message or _DEFAULT_ERROR_MESSAGES.get(status, f"{status}: Error"), "code": code}
        rule = FaultRule(method.upper(), compile_path_pattern(path), status, body, hdrs, count, delay,
                         description=f"injected {status}")  # fmt: skip
        self._faults.append(rule)
        return rule

    def delay_next(self, method: str, path: str, seconds: float, *, count: int = 1) -> FaultRule:
        """Delay the next ``count`` matching requests, then handle them normally."""
        rule = FaultRule(method.upper(), compile_path_pattern(path), 200, None, {}, count, seconds,
                         passthrough=True, description=f"delayed {seconds}s")  # fmt: skip
        self._faults.append(rule)
        return rule

    def clear_faults(self) -> None:
        self._faults.clear()

    def _take_fault(self, method: str, path: str) -> Optional[FaultRule]:
        for rule in self._faults:
            if rule.matches(method, path):
                rule.count -= 1
                if rule.count <= 0:
                    self._faults.remove(rule)
                return rule
        return None

    # ------------------------------------------------------------------ gateway control
    def pause_gateway(self) -> None:
        """Hold new gateway connections (before the websocket upgrade) until :meth:`resume_gateway`."""
        self._gateway_gate.clear()

    def resume_gateway(self) -> None:
        self._gateway_gate.set()

    @property
    def live_sessions(self) -> list[GatewaySession]:
        return [s for s in self.sessions.values() if s.live]

    def _select_sessions(self, shard_id: Optional[int]) -> list[GatewaySession]:
        return [s for s in self.sessions.values() if shard_id is None or s.shard is None or s.shard[0] == shard_id]

    async def disconnect(self, code: int = 4000, *, shard_id: Optional[int] = None, abort: bool = False) -> None:
        """Drop live connection(s); the session stays resumable.

        ``code`` 4000 ("unknown error") is resumable for discord.py; 4004/4010-4014 are fatal for it.
        ``abort=True`` kills the TCP connection without a close frame (a network failure).
        """
        for session in self._select_sessions(shard_id):
            conn = session.connection
            if conn is None or conn.closed:
                continue
            self._detach(conn)
            if abort:
                conn.transport.abort()
            else:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.ws.close(code=code, message=b"stand-in disconnect"), 2.0)

    async def send_reconnect(self, *, shard_id: Optional[int] = None) -> None:
        """Send op 7 RECONNECT; discord.py closes the socket and RESUMEs."""
        for session in self._select_sessions(shard_id):
            if session.connection is not None and session.live:
                await self._send(session.connection, {"op": 7, "d": None, "s": None, "t": None})

    async def invalidate_session(self, *, resumable: bool = False, shard_id: Optional[int] = None) -> None:
        """Send op 9 INVALID_SESSION; with ``resumable=False`` the client must IDENTIFY again."""
        for session in self._select_sessions(shard_id):
            if not resumable:
                session.resumable = False
            if session.connection is not None and session.live:
                await self._send(session.connection, {"op": 9, "d": resumable, "s": None, "t": None})

    def forget_sessions(self) -> None:
        """Make every existing session non-resumable (next RESUME is answered with op 9 false)."""
        for session in self.sessions.values():
            session.resumable = False

    async def dispatch(self, event: str, data: JSON, *, shard_id: Optional[int] = None) -> list[int]:
        """Send a DISPATCH (op 0) event to the session(s) responsible for it; returns the sequence numbers.

        Routing: ``shard_id`` if given, else the shard of ``data["guild_id"]``, else shard 0 (DMs).
        Sessions that are currently disconnected queue the event and get it replayed on RESUME.
        ``MESSAGE_CREATE`` payloads are also stored in :attr:`messages` (so replies to them are valid),
        ``INTERACTION_CREATE`` payloads register the interaction (so callbacks are accepted).
        """
        if event == "MESSAGE_CREATE":
            self._store_message(data)
        elif event == "INTERACTION_CREATE":
            self._register_interaction(data)
        targets = self._target_sessions(data, shard_id)
        if not targets:
            raise RuntimeError(f"no identified gateway session to dispatch {event} to\n{self.describe()}")
        seqs = []
        for session in targets:
            seq = await self._dispatch_to(session, event, data)
            if seq is not None:
                seqs.append(seq)
        return seqs

    def _target_sessions(self, data: JSON, shard_id: Optional[int]) -> list[GatewaySession]:
        sessions = [s for s in self.sessions.values() if s.ready and s.resumable]
        if shard_id is not None:
            return [s for s in sessions if s.shard is None or s.shard[0] == shard_id]
        guild_id = data.get("guild_id") if isinstance(data, Mapping) else None
        if guild_id is not None:
            return [s for s in sessions if s.covers_guild(int(guild_id))]
        return [s for s in sessions if s.shard is None or s.shard[0] == 0]

    async def _dispatch_to(self, session: GatewaySession, event: str, data: JSON) -> Optional[int]:
        payload = self._filter_for_intents(session, event, data)
        if payload is None:
            return None
        session.seq += 1
        frame = {"op": 0, "t": event, "s": session.seq, "d": payload}
        session.backlog.append(frame)
        if session.live:
            with contextlib.suppress(ConnectionResetError):
                await self._send(session.connection, frame)  # type: ignore[arg-type]
        return session.seq

    def _filter_for_intents(self, session: GatewaySession, event: str, data: JSON) -> Optional[JSON]:
        """Apply the intent rules Discord applies to message events (others pass through)."""
        if event not in ("MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE"):
            return data
        is_dm = data.get("guild_id") is None
        needed = INTENT_DIRECT_MESSAGES if is_dm else INTENT_GUILD_MESSAGES
        if not session.intents & needed:
            return None
        if event == "MESSAGE_DELETE" or session.intents & INTENT_MESSAGE_CONTENT or is_dm:
            return data
        author_id = int(data.get("author", {}).get("id", 0))
        mentioned = any(int(u["id"]) == self.bot_user_id for u in data.get("mentions", []))
        if author_id == self.bot_user_id or mentioned:
            return data
        stripped = copy.deepcopy(data)
        stripped.update(content="", embeds=[], attachments=[], components=[])
        stripped.pop("poll", None)
        return stripped

    async def _echo(self, event: str, message: JSON) -> None:
        """Gateway echo of something the bot did over REST (skipped for ephemeral messages)."""
        if not self.gateway_echo or message.get("flags", 0) & FLAG_EPHEMERAL:
            return
        channel = self.channels.get(int(message["channel_id"]), {})
        data = self._gateway_message(message) if event != "MESSAGE_DELETE" else message
        if channel.get("guild_id") and "guild_id" not in data:
            data = {**data, "guild_id": channel["guild_id"]}
        for session in self._target_sessions(data, None):
            await self._dispatch_to(session, event, data)

    def _gateway_message(self, message: JSON) -> JSON:
        """REST message -> MESSAGE_CREATE shape (adds guild_id and the author's member)."""
        data = copy.deepcopy(message)
        guild_id = self.channels.get(int(message["channel_id"]), {}).get("guild_id")
        if guild_id is not None:
            data["guild_id"] = guild_id
            member = self.members.get(int(guild_id), {}).get(int(message["author"]["id"]))
            if member is not None and not message.get("webhook_id"):
                data["member"] = {k: v for k, v in member.items() if k != "user"}
        return data

    # ------------------------------------------------------------------ gateway server
    async def _send(self, conn: GatewayConnection, payload: JSON) -> None:
        await conn.send(payload)
        self._log_frame("send", conn, payload)

    def _log_frame(self, direction: str, conn: GatewayConnection, payload: Any) -> None:
        p = payload if isinstance(payload, Mapping) else {}
        self.gateway_log.append(
            GatewayFrame(len(self.gateway_log), direction, conn.id, conn.session.id if conn.session else None,
                         p.get("op"), p.get("t"), p.get("s"), p.get("d"))  # fmt: skip
        )
        self._notify()

    async def _gateway_handler(self, request: web.Request) -> web.StreamResponse:
        await self._gateway_gate.wait()  # pause_gateway() holds reconnects here
        transport = request.transport
        # autoclose=False: we handle the client's CLOSE frame ourselves, so the session state is
        # updated *before* the close handshake completes and the client's close() returns.
        ws = web.WebSocketResponse(max_msg_size=16 * 1024 * 1024, autoclose=False)
        await ws.prepare(request)
        conn = GatewayConnection(next(self._conn_ids), ws, request, transport)
        self.connections.append(conn)
        try:
            await self._send(conn, {"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms,
                                                    "_trace": ['["gateway-standin",{"micros":0}]']},
                                    "s": None, "t": None})  # fmt: skip
            while True:
                msg = await ws.receive()
                if msg.type == WSMsgType.TEXT:
                    await self._on_gateway_text(conn, msg.data)
                elif msg.type == WSMsgType.CLOSE:
                    self._on_client_close(conn, msg.data)
                    await ws.close()
                    break
                elif msg.type in (WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    break
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            conn.close_code = ws.close_code
            self._detach(conn)
        return ws

    def _on_client_close(self, conn: GatewayConnection, code: Optional[int]) -> None:
        """Discord invalidates a session when the client closes normally (1000/1001)."""
        conn.close_code = code
        if conn.session is not None and code in (1000, 1001) and not conn.closed:
            conn.session.resumable = False
        self._detach(conn)

    def _detach(self, conn: GatewayConnection) -> None:
        conn.closed = True
        if conn.session is not None and conn.session.connection is conn:
            conn.session.connection = None
        self._notify()

    async def _close(self, conn: GatewayConnection, code: int, reason: str) -> None:
        self._detach(conn)
        with contextlib.suppress(Exception):
            await conn.ws.close(code=code, message=reason.encode())

    async def _on_gateway_text(self, conn: GatewayConnection, text: str) -> None:
        try:
            payload = json.loads(text)
            op = payload["op"]
        except (ValueError, KeyError, TypeError):
            await self._close(conn, 4002, "Error while decoding payload.")
            return
        self._log_frame("recv", conn, payload)
        handler = {1: self._op_heartbeat, 2: self._op_identify, 3: self._op_noop, 4: self._op_noop,
                   6: self._op_resume, 8: self._op_request_members}.get(op)  # fmt: skip
        if handler is None:
            await self._close(conn, 4001, "Unknown opcode.")
        elif conn.session is None and op not in (1, 2, 6):
            await self._close(conn, 4003, "Not authenticated.")
        else:
            await handler(conn, payload.get("d"))

    async def _op_noop(self, conn: GatewayConnection, d: Any) -> None:
        """Presence / voice state updates: recorded in gateway_log, nothing else."""

    async def _op_heartbeat(self, conn: GatewayConnection, d: Any) -> None:
        self.heartbeat_count += 1
        if self.heartbeat_ack:
            await self._send(conn, {"op": 11, "d": None, "s": None, "t": None})

    async def _op_identify(self, conn: GatewayConnection, d: JSON) -> None:
        if conn.session is not None:
            await self._close(conn, 4005, "Already authenticated.")
            return
        if d.get("token") != self.token:
            await self._close(conn, 4004, "Authentication failed.")
            return
        intents = d.get("intents")
        if not isinstance(intents, int):
            await self._close(conn, 4013, "Invalid intent(s).")
            return
        if intents & PRIVILEGED_INTENTS & ~self.allowed_privileged_intents:
            await self._close(conn, 4014, "Disallowed intent(s).")
            return
        shard = d.get("shard")
        if shard is not None and not (len(shard) == 2 and 0 <= shard[0] < shard[1]):
            await self._close(conn, 4010, "Invalid shard.")
            return
        session = GatewaySession(uuid.uuid4().hex, tuple(shard) if shard else None, intents, connection=conn)
        self.sessions[session.id] = session
        conn.session = session
        self.identify_count += 1
        await self._dispatch_to(session, "READY", self._ready_payload(session))
        for guild_id in self.guilds:
            if session.covers_guild(guild_id):
                full = bool(session.intents & INTENT_GUILD_PRESENCES)
                await self._dispatch_to(session, "GUILD_CREATE", self.guild_create_payload(guild_id, all_members=full))
                session.guild_ids.append(guild_id)
        session.ready = True
        self._notify()

    async def _op_resume(self, conn: GatewayConnection, d: JSON) -> None:
        if d.get("token") != self.token:
            await self._close(conn, 4004, "Authentication failed.")
            return
        session = self.sessions.get(d.get("session_id") or "")
        if session is None or not session.resumable:
            await self._send(conn, {"op": 9, "d": False, "s": None, "t": None})
            return
        if session.connection is not None and session.connection is not conn:
            old = session.connection
            self._detach(old)
            with contextlib.suppress(Exception):
                await old.ws.close(code=4000)
        session.connection = conn
        conn.session = session
        self.resume_count += 1
        last_seen = d.get("seq") or 0
        for frame in list(session.backlog):  # replay what the client missed, then RESUMED
            if frame["s"] > last_seen:
                await self._send(conn, frame)
        await self._dispatch_to(session, "RESUMED", {"_trace": ['["gateway-standin",{"micros":0}]']})
        self._notify()

    async def _op_request_members(self, conn: GatewayConnection, d: JSON) -> None:
        """op 8: answer with a single GUILD_MEMBERS_CHUNK (used when the members intent is on)."""
        guild_ids = d.get("guild_id")
        for gid in guild_ids if isinstance(guild_ids, list) else [guild_ids]:
            members = list(self.members.get(int(gid), {}).values())
            if d.get("user_ids"):
                wanted = {int(u) for u in (d["user_ids"] if isinstance(d["user_ids"], list) else [d["user_ids"]])}
                members = [m for m in members if int(m["user"]["id"]) in wanted]
            elif d.get("query"):
                members = [m for m in members if m["user"]["username"].lower().startswith(d["query"].lower())]
            if d.get("limit"):
                members = members[: d["limit"]]
            chunk = {"guild_id": str(gid), "members": members, "chunk_index": 0, "chunk_count": 1, "not_found": []}
            if d.get("nonce"):
                chunk["nonce"] = d["nonce"]
            if d.get("presences"):
                chunk["presences"] = []
            await self._dispatch_to(conn.session, "GUILD_MEMBERS_CHUNK", chunk)  # type: ignore[arg-type]

    def _ready_payload(self, session: GatewaySession) -> JSON:
        ready: JSON = {
            "v": API_VERSION,
            "user": {**self.users[self.bot_user_id], "verified": True, "mfa_enabled": False, "email": None,
                     "flags": 0},  # fmt: skip
            "guilds": [{"id": str(gid), "unavailable": True} for gid in self.guilds if session.covers_guild(gid)],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_gateway_url,
            "application": {"id": str(self.application_id), "flags": (1 << 19) | (1 << 23)},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["us-east", "us-central"],
            "user_settings": {},
            "auth": {},
            "_trace": ['["gateway-standin",{"micros":0}]'],
        }
        if session.shard is not None:
            ready["shard"] = list(session.shard)  # AutoShardedClient's parse_ready requires it
        return ready

    # ------------------------------------------------------------------ world building
    def _add_user(self, user_id: int, username: str, *, bot: bool = False, global_name: Optional[str] = None) -> JSON:
        user = {
            "id": str(user_id),
            "username": username,
            "global_name": global_name,
            "discriminator": "0",
            "avatar": None,
            "avatar_decoration_data": None,
            "public_flags": 0,
            "flags": 0,
            "bot": bot,
            "banner": None,
            "accent_color": None,
        }
        if not bot:
            user.pop("bot")
        self.users[user_id] = user
        return user

    def user_payload(self, user_id: int, *, bot: bool = False) -> JSON:
        """The stored user, or a new one named ``user<last 4 digits>`` (registered for later lookups)."""
        if user_id not in self.users:
            self._add_user(user_id, f"user{user_id % 10000}", bot=bot)
        return copy.deepcopy(self.users[user_id])

    def add_guild(self, spec: GuildSpec) -> None:
        """Add a guild to the world (before the client connects, or dispatch GUILD_CREATE yourself)."""
        gid = spec.id
        self.guilds[gid] = {
            "id": str(gid), "name": spec.name, "icon": None, "splash": None, "discovery_splash": None,
            "owner_id": str(spec.owner_id), "afk_channel_id": None, "afk_timeout": 300, "verification_level": 1,
            "default_message_notifications": 1, "explicit_content_filter": 2, "features": [], "mfa_level": 0,
            "application_id": None, "system_channel_id": str(spec.channels[0].id) if spec.channels else None,
            "system_channel_flags": 0, "rules_channel_id": None, "max_presences": None, "max_members": 500000,
            "vanity_url_code": None, "description": None, "banner": None, "premium_tier": 0,
            "premium_subscription_count": 0, "preferred_locale": spec.preferred_locale,
            "public_updates_channel_id": None, "nsfw_level": 0, "premium_progress_bar_enabled": False,
            "safety_alerts_channel_id": None, "emojis": [], "stickers": [],
        }  # fmt: skip
        everyone = RoleSpec(gid, "@everyone", spec.everyone_permissions, position=0)
        bot_role = RoleSpec(spec.bot_role_id, self.users[self.bot_user_id]["username"], spec.bot_permissions,
                            position=1, managed=True, tags={"bot_id": str(self.bot_user_id)})  # fmt: skip
        self.roles[gid] = {r.id: self._role_payload(r) for r in [everyone, bot_role, *spec.roles]}
        self.members[gid] = {}
        self.add_member(gid, self.bot_user_id, roles=[spec.bot_role_id])
        for m in spec.members:
            if m.user_id not in self.users:
                self._add_user(m.user_id, m.username, bot=m.bot, global_name=m.global_name)
            self.add_member(gid, m.user_id, roles=m.roles, nick=m.nick)
        for c in spec.channels:
            self.add_channel(gid, c)

    @staticmethod
    def _role_payload(r: RoleSpec) -> JSON:
        role = {
            "id": str(r.id), "name": r.name, "permissions": str(r.permissions), "position": r.position,
            "color": r.color, "colors": {"primary_color": r.color, "secondary_color": None, "tertiary_color": None},
            "hoist": False, "managed": r.managed, "mentionable": r.mentionable, "icon": None, "unicode_emoji": None,
            "flags": 0,
        }  # fmt: skip
        if r.tags is not None:
            role["tags"] = r.tags
        return role

    def add_member(self, guild_id: int, user_id: int, *, roles: Sequence[int] = (), nick: Optional[str] = None) -> JSON:
        member = {
            "user": self.user_payload(user_id),
            "roles": [str(r) for r in roles],
            "nick": nick,
            "avatar": None,
            "banner": None,
            "joined_at": _iso(datetime.now(timezone.utc) - timedelta(days=30)),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        self.members[guild_id][user_id] = member
        return member

    def add_channel(self, guild_id: Optional[int], spec: ChannelSpec) -> JSON:
        channel = {
            "id": str(spec.id), "type": spec.type, "name": spec.name, "position": spec.position,
            "permission_overwrites": spec.permission_overwrites,
            "parent_id": str(spec.parent_id) if spec.parent_id else None,
            "nsfw": spec.nsfw, "topic": spec.topic, "last_message_id": None, "rate_limit_per_user": 0, "flags": 0,
        }  # fmt: skip
        if guild_id is not None:
            channel["guild_id"] = str(guild_id)
        self.channels[spec.id] = channel
        return channel

    def dm_channel(self, user_id: int) -> int:
        """Id of the DM channel between the bot and ``user_id`` (created on first use)."""
        if user_id not in self._dm_channels:
            cid = self._snowflakes.next()
            self.channels[cid] = {"id": str(cid), "type": 1, "last_message_id": None, "flags": 0,
                                  "recipients": [self.user_payload(user_id)]}  # fmt: skip
            self._dm_channels[user_id] = cid
        return self._dm_channels[user_id]

    def guild_create_payload(self, guild_id: int, *, all_members: bool = True) -> JSON:
        """GUILD_CREATE payload, as sent after READY.

        Like Discord, ``members`` only lists everyone when the session has the presences intent;
        otherwise just the bot's own member (clients with the members intent then chunk via op 8).
        """
        guild = copy.deepcopy(self.guilds[guild_id])
        channels = [c for c in self.channels.values() if c.get("guild_id") == str(guild_id)]
        strip = lambda c: {k: v for k, v in c.items() if k != "guild_id"}  # noqa: E731 - GUILD_CREATE omits it
        guild.update(
            roles=list(self.roles[guild_id].values()),
            channels=[strip(c) for c in channels if c["type"] not in (10, 11, 12)],
            threads=[strip(c) for c in channels if c["type"] in (10, 11, 12)],
            members=[m for uid, m in self.members[guild_id].items() if all_members or uid == self.bot_user_id],
            member_count=len(self.members[guild_id]),
            joined_at=self.members[guild_id][self.bot_user_id]["joined_at"],
            large=False,
            lazy=True,
            voice_states=[],
            presences=[],
            stage_instances=[],
            guild_scheduled_events=[],
            soundboard_sounds=[],
            embedded_activities=[],
        )
        return copy.deepcopy(guild)

    def member_permissions(self, guild_id: int, user_id: int) -> int:
        """Guild-level permissions of a member (owner/admin = all).  Channel overwrites are ignored."""
        if int(self.guilds[guild_id]["owner_id"]) == user_id:
            return ALL_PERMISSIONS
        member = self.members[guild_id].get(user_id)
        role_ids = [guild_id] + [int(r) for r in (member["roles"] if member else [])]
        roles = self.roles[guild_id]
        perms = 0
        for rid in role_ids:
            if rid in roles:
                perms |= int(roles[rid]["permissions"])
        return ALL_PERMISSIONS if perms & PERMISSIONS["ADMINISTRATOR"] else perms

    def _channel_guild_id(self, channel_id: int) -> Optional[int]:
        gid = self.channels.get(channel_id, {}).get("guild_id")
        return int(gid) if gid is not None else None

    # ------------------------------------------------------------------ payload builders
    def message_create(
        self,
        content: str = "",
        *,
        author_id: int = USER_ID,
        channel_id: int = TEXT_CHANNEL_ID,
        guild_id: Optional[int] = _AUTO,
        mentions: Sequence[Union[int, JSON]] = (),
        mention_roles: Sequence[int] = (),
        message_reference: Union[None, int, JSON] = None,
        author_bot: bool = False,
        attachments: Sequence[Union[tuple[str, bytes], JSON]] = (),
        embeds: Sequence[JSON] = (),
        components: Sequence[JSON] = (),
        webhook_id: Optional[int] = None,
        message_id: Optional[int] = None,
    ) -> JSON:
        """A realistic ``MESSAGE_CREATE`` payload from a user (or bot with ``author_bot=True``).

        ``mentions`` takes user ids (users mentioned as ``<@id>`` in ``content`` are added
        automatically).  ``message_reference`` takes a message id (must be in :attr:`messages` to be
        resolved into ``referenced_message``) or a raw reference dict.  ``attachments`` takes
        ``(filename, bytes)`` tuples, served by the stand-in's CDN so ``Attachment.read()`` works.
        """
        if guild_id is _AUTO:
            guild_id = self._channel_guild_id(channel_id)
        mid = message_id or self._snowflakes.next()
        author = self.user_payload(author_id, bot=author_bot)
        if guild_id is not None and author_id not in self.members.get(guild_id, {}) and not webhook_id:
            self.add_member(guild_id, author_id)
        mention_ids = list(dict.fromkeys([*(m if isinstance(m, int) else int(m["id"]) for m in mentions),
                                          *map(int, re.findall(r"<@!?(\d+)>", content))]))  # fmt: skip
        message: JSON = {
            "id": str(mid),
            "type": 0,
            "channel_id": str(channel_id),
            "channel_type": self.channels.get(channel_id, {}).get("type", 0),
            "author": author,
            "content": content,
            "timestamp": _iso(snowflake_time(mid)),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": "@everyone" in content or "@here" in content,
            "mentions": [self._mention_payload(guild_id, uid) for uid in mention_ids],
            "mention_roles": [str(r) for r in mention_roles],
            "attachments": [a if isinstance(a, Mapping) else self.add_attachment(channel_id, *a) for a in attachments],
            "embeds": list(embeds),
            "components": list(components),
            "pinned": False,
            "flags": 0,
            "nonce": str(mid),
        }
        if webhook_id is not None:
            message["webhook_id"] = str(webhook_id)
        if guild_id is not None:
            message["guild_id"] = str(guild_id)
            if webhook_id is None:
                message["member"] = {k: v for k, v in self.members[guild_id][author_id].items() if k != "user"}
        if message_reference is not None:
            self._attach_reference(message, message_reference, channel_id, guild_id)
        return message

    def _mention_payload(self, guild_id: Optional[int], user_id: int) -> JSON:
        user = self.user_payload(user_id)
        member = self.members.get(guild_id, {}).get(user_id) if guild_id is not None else None
        if member is not None:
            user["member"] = {k: v for k, v in member.items() if k != "user"}
        return user

    def _attach_reference(self, message: JSON, ref: Union[int, JSON], channel_id: int, guild_id: Optional[int]) -> None:
        if isinstance(ref, Mapping):
            message["message_reference"] = dict(ref)
            ref_id = ref.get("message_id")
        else:
            ref_id = ref
            message["message_reference"] = {"type": 0, "message_id": str(ref), "channel_id": str(channel_id)}
            if guild_id is not None:
                message["message_reference"]["guild_id"] = str(guild_id)
        message["type"] = 19  # REPLY
        referenced = self.messages.get(int(ref_id)) if ref_id is not None else None
        if referenced is not None:
            message["referenced_message"] = copy.deepcopy(referenced)

    def add_attachment(self, channel_id: int, filename: str, data: bytes, content_type: Optional[str] = None) -> JSON:
        """Store bytes on the fake CDN and return the attachment object pointing at them."""
        aid = self._snowflakes.next()
        self.attachments[aid] = data
        url = f"{self.base_url}/attachments/{channel_id}/{aid}/{filename}"
        attachment = {"id": str(aid), "filename": filename, "size": len(data), "url": url, "proxy_url": url}
        attachment["content_type"] = content_type or _guess_content_type(filename)
        return attachment

    def interaction_create_slash(
        self,
        name: str,
        options: Union[None, Mapping[str, Any], Sequence[JSON]] = None,
        *,
        user_id: int = USER_ID,
        guild_id: Optional[int] = _AUTO,
        channel_id: int = TEXT_CHANNEL_ID,
        member_permissions: Optional[str] = None,
        roles: Optional[Sequence[int]] = None,
        app_permissions: Optional[str] = None,
        resolved: Optional[JSON] = None,
        locale: str = "en-US",
        command_id: Optional[int] = None,
        command_guild_id: Optional[int] = _AUTO,
    ) -> JSON:
        """An ``INTERACTION_CREATE`` for a chat-input (slash) command.

        ``options`` is either a mapping ``{"query": "x", "limit": 3}`` (types inferred: str 3, int 4,
        bool 5, float 10) or Discord's raw option list (needed for subcommands / user / channel options).
        ``command_guild_id`` (``data.guild_id``) defaults to the guild if the command was synced to that
        guild, else omitted - discord.py's CommandTree looks the command up by exactly that.
        ``member_permissions`` / ``app_permissions`` are string bitfields; defaults are computed from
        the member's roles and the bot's role.
        """
        data = self._command_data(name, 1, _normalize_options(options), command_id, command_guild_id,
                                  self._resolve_guild(guild_id, channel_id))  # fmt: skip
        if resolved:
            data["resolved"] = resolved
        return self._interaction_envelope(INTERACTION_APPLICATION_COMMAND, data, user_id=user_id, guild_id=guild_id,
                                          channel_id=channel_id, member_permissions=member_permissions, roles=roles,
                                          app_permissions=app_permissions, locale=locale)  # fmt: skip

    def interaction_create_autocomplete(
        self,
        name: str,
        options: Union[Mapping[str, Any], Sequence[JSON]],
        focused: str,
        **kwargs: Any,
    ) -> JSON:
        """An autocomplete (type 4) interaction; option ``focused`` is marked ``"focused": true``.

        Accepts the same keyword arguments as :meth:`interaction_create_slash`.
        """
        payload = self.interaction_create_slash(name, options, **kwargs)
        payload["type"] = INTERACTION_AUTOCOMPLETE
        flat = payload["data"].get("options", [])
        while flat and flat[0].get("type") in (1, 2):  # descend into subcommands
            flat = flat[0].get("options", [])
        for opt in flat:
            if opt["name"] == focused:
                opt["focused"] = True  # the value is whatever the user has typed so far
                break
        else:
            raise ValueError(f"focused option {focused!r} is not among the options")
        return payload

    def interaction_create_component(
        self,
        custom_id: str,
        component_type: int = 2,
        *,
        message: Union[None, int, JSON] = None,
        values: Optional[Sequence[str]] = None,
        user_id: int = USER_ID,
        channel_id: Optional[int] = None,
        guild_id: Optional[int] = _AUTO,
        member_permissions: Optional[str] = None,
        roles: Optional[Sequence[int]] = None,
        app_permissions: Optional[str] = None,
        locale: str = "en-US",
    ) -> JSON:
        """A component (button = 2, select = 3/5/6/7/8) interaction on ``message``.

        ``message`` may be a message dict, a message id from :attr:`messages`, or ``None`` to use the
        newest stored message that has a component with ``custom_id`` (i.e. the one the bot sent).
        """
        msg = self._component_message(custom_id, message)
        data: JSON = {"custom_id": custom_id, "component_type": component_type}
        if values is not None or component_type in (3, 5, 6, 7, 8):
            data["values"] = list(values or [])
        cid = channel_id or int(msg["channel_id"])
        payload = self._interaction_envelope(INTERACTION_COMPONENT, data, user_id=user_id, guild_id=guild_id,
                                             channel_id=cid, member_permissions=member_permissions, roles=roles,
                                             app_permissions=app_permissions, locale=locale)  # fmt: skip
        payload["message"] = msg
        return payload

    def interaction_create_modal_submit(
        self,
        custom_id: str,
        fields: Mapping[str, Union[str, Sequence[str]]],
        *,
        user_id: int = USER_ID,
        channel_id: int = TEXT_CHANNEL_ID,
        guild_id: Optional[int] = _AUTO,
        **kwargs: Any,
    ) -> JSON:
        """A modal submit (type 5); ``fields`` maps input custom ids to typed text (or select values).

        If the bot showed this modal (type 9 callback), the submitted components mirror its layout
        (action rows or labels); otherwise each field is sent in its own action row.
        """
        shown = next((s.modal for s in reversed(list(self.interactions.values()))
                      if s.modal and s.modal.get("custom_id") == custom_id), None)  # fmt: skip
        layout = shown["components"] if shown else [
            {"type": 1, "components": [{"type": 4, "custom_id": k}]} for k in fields
        ]
        data = {"custom_id": custom_id, "components": _modal_submit_components(layout, fields)}
        return self._interaction_envelope(INTERACTION_MODAL_SUBMIT, data, user_id=user_id, guild_id=guild_id,
                                          channel_id=channel_id, **kwargs)  # fmt: skip

    def _resolve_guild(self, guild_id: Optional[int], channel_id: int) -> Optional[int]:
        return self._channel_guild_id(channel_id) if guild_id is _AUTO else guild_id

    def _command_data(
        self,
        name: str,
        cmd_type: int,
        options: list[JSON],
        command_id: Optional[int],
        command_guild_id: Optional[int],
        guild_id: Optional[int],
    ) -> JSON:
        if command_guild_id is _AUTO:
            synced = any(c["name"] == name and c.get("type", 1) == cmd_type for c in self.commands.get(guild_id, []))
            command_guild_id = guild_id if guild_id is not None and synced else None
        scope_key = (command_guild_id, name, cmd_type)
        data: JSON = {
            "id": str(command_id or self._command_ids.get(scope_key) or self._snowflakes.next()),
            "name": name,
            "type": cmd_type,
        }
        if options:
            data["options"] = options
        if command_guild_id is not None:
            data["guild_id"] = str(command_guild_id)
        return data

    def _component_message(self, custom_id: str, message: Union[None, int, JSON]) -> JSON:
        if isinstance(message, Mapping):
            return copy.deepcopy(dict(message))
        if isinstance(message, int):
            if message not in self.messages:
                raise ValueError(f"message {message} is not in the stand-in's message store")
            return copy.deepcopy(self.messages[message])
        for msg in sorted(self.messages.values(), key=lambda m: int(m["id"]), reverse=True):
            if custom_id in _component_custom_ids(msg.get("components", [])):
                return copy.deepcopy(msg)
        raise ValueError(f"no stored message has a component with custom_id {custom_id!r}")

    def _interaction_envelope(
        self,
        itype: int,
        data: JSON,
        *,
        user_id: int,
        guild_id: Optional[int],
        channel_id: int,
        member_permissions: Optional[str] = None,
        roles: Optional[Sequence[int]] = None,
        app_permissions: Optional[str] = None,
        locale: str = "en-US",
    ) -> JSON:
        """Fields discord.py 2.7.1 requires (KeyError otherwise): id, type, token, version,
        application_id, attachment_size_limit; member needs roles + flags, user needs avatar."""
        guild_id = self._resolve_guild(guild_id, channel_id)
        payload: JSON = {
            "id": str(self._snowflakes.next()),
            "application_id": str(self.application_id),
            "type": itype,
            "data": data,
            "token": _interaction_token(),
            "version": 1,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": 10 * 1024 * 1024,
            "channel_id": str(channel_id),
            "channel": copy.deepcopy(self.channels.get(channel_id, {"id": str(channel_id), "type": 0})),
        }
        if guild_id is not None:
            if user_id not in self.members[guild_id]:
                self.add_member(guild_id, user_id)
            member = copy.deepcopy(self.members[guild_id][user_id])
            if roles is not None:
                member["roles"] = [str(r) for r in roles]
            member["permissions"] = member_permissions or str(self.member_permissions(guild_id, user_id))
            bot_perms = self.member_permissions(guild_id, self.bot_user_id)
            payload.update(
                guild_id=str(guild_id),
                guild={"id": str(guild_id), "locale": self.guilds[guild_id]["preferred_locale"], "features": []},
                guild_locale=self.guilds[guild_id]["preferred_locale"],
                member=member,
                app_permissions=app_permissions or str(bot_perms),
                authorizing_integration_owners={"0": str(guild_id)},
                context=0,
            )
        else:
            payload.update(
                user=self.user_payload(user_id),
                app_permissions=app_permissions or str(permission_bits("EMBED_LINKS", "ATTACH_FILES", "SEND_MESSAGES")),
                authorizing_integration_owners={"0": "0", "1": str(user_id)},
                context=1,
            )
        return payload

    # ------------------------------------------------------------------ stores fed by dispatch
    def _store_message(self, data: JSON) -> None:
        stored = {k: copy.deepcopy(v) for k, v in data.items() if k not in ("member", "guild_id", "channel_type")}
        self.messages[int(data["id"])] = stored
        channel = self.channels.get(int(data["channel_id"]))
        if channel is not None:
            channel["last_message_id"] = data["id"]

    def _register_interaction(self, data: JSON) -> None:
        iid = int(data["id"])
        self.interactions[iid] = InteractionState(
            id=iid, token=data["token"], application_id=int(data["application_id"]), type=int(data["type"]),
            payload=copy.deepcopy(data), channel_id=int(data["channel_id"]) if data.get("channel_id") else None,
            guild_id=int(data["guild_id"]) if data.get("guild_id") else None,
        )  # fmt: skip

    # ------------------------------------------------------------------ HTTP plumbing
    def _ratelimit_headers(self, bucket_key: str, *, remaining: int = 49, reset_after: float = 1.0) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": "50",
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": hashlib.sha1(bucket_key.encode()).hexdigest()[:32],
        }

    @staticmethod
    def _http_response(status: int, body: Any, headers: Mapping[str, str]) -> web.Response:
        # discord.py's json_or_text compares Content-Type to exactly "application/json", so we must not
        # use web.json_response (which appends "; charset=utf-8").
        hdrs = {"Via": "1.1 google", **headers}
        if status == 204 or body is None:
            return web.Response(status=status if body is None else 204, headers=hdrs)
        if isinstance(body, str):
            return web.Response(status=status, body=body.encode(), headers={"Content-Type": "text/html", **hdrs})
        return web.Response(status=status, body=_json_dumps(body).encode(),
                            headers={"Content-Type": "application/json", **hdrs})  # fmt: skip

    async def _parse_body(self, request: web.Request) -> tuple[Any, list[RecordedFile], bytes]:
        raw = await request.read()
        if request.content_type.startswith("multipart/"):
            return (*_parse_multipart(request.headers["Content-Type"], raw), raw)
        if raw and request.content_type == "application/json":
            return json.loads(raw), [], raw
        return None, [], raw

    async def _unversioned_handler(self, request: web.Request) -> web.Response:
        record = await self._new_record(request, request.path)
        return self._finish(record, _Reply(404, {"message": "Unknown", "code": 0}), None)

    async def _new_record(self, request: web.Request, path: str) -> RecordedRequest:
        try:
            body, files, raw = await self._parse_body(request)
        except ValueError:
            body, files, raw = None, [], b""
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        return RecordedRequest(
            index=len(self.requests), method=request.method, path=path, query=dict(request.query), headers=headers,
            authorization=request.headers.get("Authorization"), json=body, files=files, raw_body=raw,
        )  # fmt: skip

    async def _api_handler(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        record = await self._new_record(request, path)
        route, params = self._match_route(request.method, path)
        fault = self._take_fault(request.method, path)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if not fault.passthrough:
                record.fault = fault.description
                record.route = route.template if route else None
                return self._finish(record, _Reply(fault.status, copy.deepcopy(fault.body), dict(fault.headers)), None)
            record.fault = fault.description
        if route is None:
            return self._finish(record, _Reply(404, {"message": "Unknown", "code": 0}), None)
        record.route = route.template
        if route.auth and record.authorization != f"Bot {self.token}":
            return self._finish(record, _Reply(401, {"message": "401: Unauthorized", "code": 0}), route)
        try:
            reply = await route.handler(_Call(record, params, record.json, record.files))
        except DiscordAPIError as exc:
            reply = _Reply(exc.status, exc.body())
        return self._finish(record, reply, route)

    def _finish(self, record: RecordedRequest, reply: _Reply, route: Optional[_Route]) -> web.Response:
        headers = dict(reply.headers)
        if route is not None and self.ratelimit_headers and 200 <= reply.status < 300:
            headers = {**self._ratelimit_headers(f"{route.method} {route.template}"), **headers}
        record.status = reply.status if reply.body is not None or reply.status != 200 else 204
        record.response = reply.body
        self.requests.append(record)
        self._notify()
        return self._http_response(reply.status, reply.body, headers)

    def _match_route(self, method: str, path: str) -> tuple[Optional[_Route], dict[str, str]]:
        for route in self._routes:
            if route.method == method:
                m = route.regex.fullmatch(path)
                if m:
                    return route, m.groupdict()
        return None, {}

    async def _cdn_handler(self, request: web.Request) -> web.Response:
        data = self.attachments.get(int(request.match_info["attachment_id"]))
        if data is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=data, content_type=_guess_content_type(request.match_info["filename"]))

    def _build_routes(self) -> list[_Route]:
        table: list[tuple[str, str, Handler, bool]] = [
            ("GET", "/users/@me", self._get_me, True),
            ("GET", "/users/{user_id}", self._get_user, True),
            ("POST", "/users/@me/channels", self._create_dm, True),
            ("GET", "/oauth2/applications/@me", self._get_application, True),
            ("GET", "/applications/@me", self._get_application, True),
            ("GET", "/gateway", self._get_gateway, False),
            ("GET", "/gateway/bot", self._get_gateway_bot, True),
            ("GET", "/channels/{channel_id}", self._get_channel, True),
            ("PATCH", "/channels/{channel_id}", self._edit_channel, True),
            ("GET", "/channels/{channel_id}/messages", self._get_history, True),
            ("POST", "/channels/{channel_id}/messages", self._create_message, True),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self._get_message, True),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self._edit_message, True),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self._delete_message, True),
            ("POST", "/channels/{channel_id}/messages/{message_id}/threads", self._thread_from_message, True),
            ("POST", "/channels/{channel_id}/threads", self._thread_without_message, True),
            ("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me", self._no_content, True),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me", self._no_content, True),
            ("PUT", "/channels/{channel_id}/thread-members/@me", self._no_content, True),
            ("DELETE", "/channels/{channel_id}/thread-members/@me", self._no_content, True),
            ("POST", "/channels/{channel_id}/typing", self._typing, True),
            ("GET", "/guilds/{guild_id}", self._get_guild, True),
            ("GET", "/guilds/{guild_id}/channels", self._get_guild_channels, True),
            ("GET", "/guilds/{guild_id}/roles", self._get_guild_roles, True),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self._get_member, True),
            ("GET", "/applications/{app_id}/commands", self._get_commands, True),
            ("PUT", "/applications/{app_id}/commands", self._put_commands, True),
            ("GET", "/applications/{app_id}/guilds/{guild_id}/commands", self._get_commands, True),
            ("PUT", "/applications/{app_id}/guilds/{guild_id}/commands", self._put_commands, True),
            ("POST", "/interactions/{interaction_id}/{token}/callback", self._interaction_callback, False),
            ("POST", "/webhooks/{app_id}/{token}", self._followup, False),
            ("GET", "/webhooks/{app_id}/{token}/messages/{message_id}", self._get_webhook_message, False),
            ("PATCH", "/webhooks/{app_id}/{token}/messages/{message_id}", self._edit_webhook_message, False),
            ("DELETE", "/webhooks/{app_id}/{token}/messages/{message_id}", self._delete_webhook_message, False),
        ]
        return [_Route(m, t, _template_regex(t), h, auth) for m, t, h, auth in table]

    # ------------------------------------------------------------------ REST: users, app, gateway
    async def _get_me(self, call: _Call) -> _Reply:
        return _Reply(body={**self.users[self.bot_user_id], "verified": True, "mfa_enabled": False, "locale": "en-US",
                            "email": None})  # fmt: skip

    async def _get_user(self, call: _Call) -> _Reply:
        uid = call.snowflake("user_id")
        if uid not in self.users:
            raise _unknown("User", 10013)
        return _Reply(body=self.users[uid])

    async def _create_dm(self, call: _Call) -> _Reply:
        recipient = int((call.body or {}).get("recipient_id", 0))
        if recipient not in self.users:
            raise _unknown("User", 10013)
        return _Reply(body=self.channels[self.dm_channel(recipient)])

    async def _get_application(self, call: _Call) -> _Reply:
        owner = self.users.get(OWNER_ID) or self.user_payload(OWNER_ID)
        return _Reply(body={
            "id": str(self.application_id), "name": self.users[self.bot_user_id]["username"], "icon": None,
            "description": "", "summary": "", "type": None, "bot_public": False, "bot_require_code_grant": False,
            "verify_key": "0" * 64, "flags": (1 << 19) | (1 << 23), "owner": owner, "team": None,
            "bot": self.users[self.bot_user_id], "approximate_guild_count": len(self.guilds), "tags": [],
            "redirect_uris": [], "interactions_endpoint_url": None, "integration_types_config": {"0": {}},
        })  # fmt: skip

    async def _get_gateway(self, call: _Call) -> _Reply:
        return _Reply(body={"url": self.gateway_url})

    async def _get_gateway_bot(self, call: _Call) -> _Reply:
        return _Reply(body={"url": self.gateway_url, "shards": self.shard_count,
                            "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 14_400_000,
                                                    "max_concurrency": 1}})  # fmt: skip

    # ------------------------------------------------------------------ REST: channels & messages
    def _channel(self, call: _Call) -> JSON:
        channel = self.channels.get(call.snowflake("channel_id"))
        if channel is None:
            raise _unknown("Channel", 10003)
        return channel

    def _message_in(self, channel: JSON, message_id: int) -> JSON:
        message = self.messages.get(message_id)
        if message is None or message["channel_id"] != channel["id"]:
            raise _unknown("Message", 10008)
        return message

    async def _get_channel(self, call: _Call) -> _Reply:
        return _Reply(body=self._channel(call))

    async def _edit_channel(self, call: _Call) -> _Reply:
        channel = self._channel(call)
        body = call.body or {}
        for key in ("name", "topic", "nsfw", "rate_limit_per_user", "parent_id", "position"):
            if key in body:
                channel[key] = body[key]
        if "thread_metadata" in channel:
            for key in ("archived", "locked", "auto_archive_duration"):
                if key in body:
                    channel["thread_metadata"][key] = body[key]
        return _Reply(body=channel)

    async def _get_history(self, call: _Call) -> _Reply:
        channel = self._channel(call)
        msgs = sorted((m for m in self.messages.values() if m["channel_id"] == channel["id"]),
                      key=lambda m: int(m["id"]), reverse=True)  # fmt: skip
        if "before" in call.query:
            msgs = [m for m in msgs if int(m["id"]) < int(call.query["before"])]
        if "after" in call.query:
            msgs = [m for m in msgs if int(m["id"]) > int(call.query["after"])]
        limit = int(call.query.get("limit", 50))
        return _Reply(body=msgs[:limit])

    async def _create_message(self, call: _Call) -> _Reply:
        channel = self._channel(call)
        body = call.body or {}
        _validate_message(body, call.files)
        guild_id = int(channel["guild_id"]) if channel.get("guild_id") else None
        message = self._new_message(channel, self.user_payload(self.bot_user_id), body, call.files)
        ref = body.get("message_reference")
        if ref is not None:
            self._apply_reference(message, ref, channel, guild_id)
        self._commit_message(message)
        await self._echo("MESSAGE_CREATE", message)
        return _Reply(body=message)

    def _apply_reference(self, message: JSON, ref: JSON, channel: JSON, guild_id: Optional[int]) -> None:
        ref_id = ref.get("message_id")
        referenced = self.messages.get(int(ref_id)) if ref_id is not None else None
        if referenced is None and ref.get("fail_if_not_exists", True):
            raise _form_error(["message_reference"], "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")
        ref_type = ref.get("type", 0)
        message["message_reference"] = {"type": ref_type, "channel_id": ref.get("channel_id", channel["id"]),
                                        "message_id": str(ref_id)}  # fmt: skip
        if guild_id is not None:
            message["message_reference"]["guild_id"] = str(guild_id)
        if ref_type == 0:
            message["type"] = 19
            message["referenced_message"] = copy.deepcopy(referenced)
            # A reply pings its author unless allowed_mentions.replied_user is false.
            allowed = message.get("_allowed_mentions") or {}
            pinged = {u["id"] for u in message["mentions"]}
            replied = referenced["author"] if referenced is not None else None
            if replied is not None and allowed.get("replied_user", True) and replied["id"] not in pinged:
                message["mentions"].append(copy.deepcopy(replied))

    def _new_message(
        self,
        channel: JSON,
        author: JSON,
        body: JSON,
        files: list[RecordedFile],
        *,
        message_type: int = 0,
        extra: Optional[JSON] = None,
    ) -> JSON:
        """Build a REST-shaped message from a create payload (content, embeds, components, files ...)."""
        mid = self._snowflakes.next()
        content = body.get("content") or ""
        allowed = body.get("allowed_mentions")
        message: JSON = {
            "id": str(mid),
            "type": message_type,
            "channel_id": channel["id"],
            "author": author,
            "content": content,
            "timestamp": _iso(snowflake_time(mid)),
            "edited_timestamp": None,
            "tts": bool(body.get("tts", False)),
            "mention_everyone": _mentions_everyone(content, allowed),
            "mentions": self._mentioned_users(content),
            "mention_roles": list(dict.fromkeys(re.findall(r"<@&(\d+)>", content))),
            "attachments": self._attachments_from(channel, body, files, []),
            "embeds": [_normalize_embed(e) for e in body.get("embeds") or []],
            "components": copy.deepcopy(body.get("components") or []),
            "pinned": False,
            "flags": int(body.get("flags", 0)),
            "_allowed_mentions": allowed,
        }
        if body.get("nonce") is not None:
            message["nonce"] = body["nonce"]
        if body.get("poll"):
            message["poll"] = _poll_from_request(body["poll"])
        message.update(extra or {})
        return message

    def _mentioned_users(self, content: str) -> list[JSON]:
        return [self.user_payload(int(u)) for u in dict.fromkeys(re.findall(r"<@!?(\d+)>", content))]

    def _channel_of(self, message: JSON) -> JSON:
        return self.channels.get(int(message["channel_id"])) or {"id": message["channel_id"], "type": 0}

    def _commit_message(self, message: JSON) -> None:
        message.pop("_allowed_mentions", None)
        self.messages[int(message["id"])] = message
        channel = self.channels.get(int(message["channel_id"]))
        if channel is not None and not message["flags"] & FLAG_EPHEMERAL:
            channel["last_message_id"] = message["id"]

    def _attachments_from(
        self, channel: JSON, body: JSON, files: list[RecordedFile], existing: list[JSON]
    ) -> list[JSON]:
        """Map ``attachments`` in the payload to kept attachments (by id) and uploaded ``files[N]``."""
        by_field = {f.field_name: f for f in files}
        specs = body.get("attachments")
        if specs is None:
            specs = [{"id": i} for i in range(len(files))]
        kept = {a["id"]: a for a in existing}
        result = []
        for spec in specs:
            sid = str(spec.get("id"))
            if sid in kept:
                result.append(kept[sid])
                continue
            upload = by_field.get(f"files[{sid}]")
            if upload is None:
                raise _form_error(["attachments", sid], "ATTACHMENT_NOT_FOUND", "Unknown attachment")
            # discord.py labels every upload application/octet-stream; guess from the name like Discord does
            ctype = None if upload.content_type == "application/octet-stream" else upload.content_type
            att = self.add_attachment(int(channel["id"]), spec.get("filename") or upload.filename, upload.data, ctype)
            if spec.get("description"):
                att["description"] = spec["description"]
            result.append(att)
        return result

    async def _get_message(self, call: _Call) -> _Reply:
        return _Reply(body=self._message_in(self._channel(call), call.snowflake("message_id")))

    async def _edit_message(self, call: _Call) -> _Reply:
        channel = self._channel(call)
        message = self._message_in(channel, call.snowflake("message_id"))
        if int(message["author"]["id"]) != self.bot_user_id:
            body = call.body or {}
            if set(body) - {"flags"}:  # others' messages: only suppressing embeds is allowed
                raise DiscordAPIError(403, 50005, "Cannot edit a message authored by another user")
        self._apply_edit(message, channel, call.body or {}, call.files)
        await self._echo("MESSAGE_UPDATE", message)
        return _Reply(body=message)

    def _apply_edit(self, message: JSON, channel: JSON, body: JSON, files: list[RecordedFile]) -> None:
        merged = {**message, **{k: v for k, v in body.items() if k in ("content", "embeds", "components", "flags")}}
        if "attachments" in body or files:
            merged["attachments"] = self._attachments_from(channel, body, files, message.get("attachments", []))
        _validate_message({"content": merged.get("content"), "embeds": merged.get("embeds"),
                           "components": merged.get("components"), "flags": merged.get("flags", 0),
                           "attachments": merged.get("attachments")}, [], edit=True)  # fmt: skip
        message.update(
            content=merged.get("content") or "",
            embeds=[_normalize_embed(e) for e in merged.get("embeds") or []],
            components=copy.deepcopy(merged.get("components") or []),
            attachments=merged.get("attachments", []),
            flags=(int(merged.get("flags", 0)) & ~FLAG_LOADING) | (message.get("flags", 0) & FLAG_EPHEMERAL),
            edited_timestamp=_iso(),
        )
        message["mentions"] = self._mentioned_users(message["content"])

    async def _delete_message(self, call: _Call) -> _Reply:
        channel = self._channel(call)
        message = self._message_in(channel, call.snowflake("message_id"))
        del self.messages[int(message["id"])]
        deleted = {"id": message["id"], "channel_id": message["channel_id"]}
        await self._echo("MESSAGE_DELETE", {**deleted, "flags": message.get("flags", 0)})
        return _Reply(204)

    async def _thread_from_message(self, call: _Call) -> _Reply:
        channel = self._channel(call)
        message = self._message_in(channel, call.snowflake("message_id"))
        if message.get("thread"):
            raise DiscordAPIError(400, 160004, "A thread has already been created for this message")
        # Discord gives a thread started from a message the same id as the message.
        thread = self._new_thread(channel, int(message["id"]), 11, call.body or {})
        message["thread"] = thread
        await self._announce_thread(thread)
        return _Reply(201, thread)

    async def _thread_without_message(self, call: _Call) -> _Reply:
        channel = self._channel(call)
        body = call.body or {}
        thread = self._new_thread(channel, self._snowflakes.next(), int(body.get("type", 12)), body)
        await self._announce_thread(thread)
        return _Reply(201, thread)

    def _new_thread(self, parent: JSON, thread_id: int, thread_type: int, body: JSON) -> JSON:
        name = body.get("name") or ""
        if not 1 <= len(name) <= 100:
            raise _form_error(["name"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        if parent.get("type") not in (0, 5, 15):
            raise DiscordAPIError(400, 50024, "Cannot execute action on this channel type")
        now = _iso()
        thread = {
            "id": str(thread_id), "type": thread_type, "guild_id": parent.get("guild_id"), "parent_id": parent["id"],
            "owner_id": str(self.bot_user_id), "name": name, "last_message_id": None, "message_count": 0,
            "member_count": 1, "rate_limit_per_user": int(body.get("rate_limit_per_user") or 0), "flags": 0,
            "total_message_sent": 0,
            "thread_metadata": {"archived": False, "locked": False, "archive_timestamp": now, "create_timestamp": now,
                                "auto_archive_duration": int(body.get("auto_archive_duration") or 1440),
                                "invitable": bool(body.get("invitable", True))},
            "member": {"id": str(thread_id), "user_id": str(self.bot_user_id), "join_timestamp": now, "flags": 0},
        }  # fmt: skip
        self.channels[thread_id] = thread
        return thread

    async def _announce_thread(self, thread: JSON) -> None:
        if self.gateway_echo:
            for session in self._target_sessions(thread, None):
                await self._dispatch_to(session, "THREAD_CREATE", {**thread, "newly_created": True})

    async def _no_content(self, call: _Call) -> _Reply:
        self._channel(call)
        return _Reply(204)

    async def _typing(self, call: _Call) -> _Reply:
        self._channel(call)
        return _Reply(204)

    # ------------------------------------------------------------------ REST: guilds
    def _guild(self, call: _Call) -> int:
        gid = call.snowflake("guild_id")
        if gid not in self.guilds:
            raise _unknown("Guild", 10004)
        return gid

    async def _get_guild(self, call: _Call) -> _Reply:
        gid = self._guild(call)
        body = {**self.guilds[gid], "roles": list(self.roles[gid].values())}
        if call.query.get("with_counts") in ("1", "true"):
            body.update(approximate_member_count=len(self.members[gid]), approximate_presence_count=0)
        return _Reply(body=body)

    async def _get_guild_channels(self, call: _Call) -> _Reply:
        gid = self._guild(call)
        channels = [c for c in self.channels.values() if c.get("guild_id") == str(gid)]
        return _Reply(body=[c for c in channels if c["type"] not in (10, 11, 12)])

    async def _get_guild_roles(self, call: _Call) -> _Reply:
        return _Reply(body=list(self.roles[self._guild(call)].values()))

    async def _get_member(self, call: _Call) -> _Reply:
        member = self.members[self._guild(call)].get(call.snowflake("user_id"))
        if member is None:
            raise _unknown("Member", 10007)
        return _Reply(body=member)

    # ------------------------------------------------------------------ REST: application commands
    def _command_scope(self, call: _Call) -> Optional[int]:
        if call.snowflake("app_id") != self.application_id:
            raise DiscordAPIError(403, 50001, "Missing Access")
        return self._guild(call) if "guild_id" in call.params else None

    async def _get_commands(self, call: _Call) -> _Reply:
        return _Reply(body=self.commands.get(self._command_scope(call), []))

    async def _put_commands(self, call: _Call) -> _Reply:
        """Bulk overwrite: validates like Discord, keeps ids stable per (scope, name, type)."""
        scope = self._command_scope(call)
        body = call.body
        if not isinstance(body, list):
            raise _form_error([], "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        _validate_commands(body)
        stored = []
        for cmd in body:
            ctype = int(cmd.get("type", 1))
            key = (scope, cmd["name"], ctype)
            cid = self._command_ids.setdefault(key, self._snowflakes.next())
            out = {"default_member_permissions": None, "description": "", "options": [], "nsfw": False,
                   "contexts": None, "integration_types": [0], "dm_permission": True,
                   **copy.deepcopy(cmd), "id": str(cid), "application_id": str(self.application_id),
                   "type": ctype, "version": str(self._snowflakes.next())}  # fmt: skip
            if scope is not None:
                out["guild_id"] = str(scope)
            stored.append(out)
        self.commands[scope] = stored
        return _Reply(body=stored)

    # ------------------------------------------------------------------ REST: interactions & webhooks
    def _interaction_for_callback(self, call: _Call) -> InteractionState:
        state = self.interactions.get(call.snowflake("interaction_id"))
        if state is None or state.token != call.params["token"]:
            raise _unknown("interaction", 10062)
        deadline = self.interaction_response_deadline
        if not state.acknowledged and deadline is not None and time.monotonic() - state.created > deadline:
            raise _unknown("interaction", 10062)
        if state.acknowledged:
            raise DiscordAPIError(400, 40060, "Interaction has already been acknowledged.")
        return state

    async def _interaction_callback(self, call: _Call) -> _Reply:
        """Initial response.  Always 200 + interaction callback response (discord.py sends with_response=1)."""
        state = self._interaction_for_callback(call)
        body = call.body or {}
        ctype = body.get("type")
        _validate_callback_type(state.type, ctype)
        data = body.get("data") or {}
        state.callbacks.append(copy.deepcopy(body))
        message: Optional[JSON] = None
        if ctype == CALLBACK_CHANNEL_MESSAGE:
            _validate_message(data, call.files)
            message = await self._interaction_message(state, data, call.files, flags=int(data.get("flags", 0)))
        elif ctype == CALLBACK_DEFERRED_CHANNEL_MESSAGE:
            flags = FLAG_LOADING | (int(data.get("flags", 0)) & FLAG_EPHEMERAL)
            message = await self._interaction_message(state, {}, [], flags=flags)
            state.loading = True
        elif ctype in (CALLBACK_DEFERRED_UPDATE_MESSAGE, CALLBACK_UPDATE_MESSAGE):
            message = self.messages.get(int(state.payload["message"]["id"])) if state.payload.get("message") else None
            if message is not None:
                state.original_message_id = int(message["id"])
                if ctype == CALLBACK_UPDATE_MESSAGE:
                    self._apply_edit(message, self._channel_of(message), data, call.files)
                    await self._echo("MESSAGE_UPDATE", message)
        elif ctype == CALLBACK_AUTOCOMPLETE_RESULT:
            state.autocomplete_choices = list(data.get("choices", []))
        elif ctype == CALLBACK_MODAL:
            state.modal = copy.deepcopy(data)
        state.response_type = ctype
        self._notify()
        return _Reply(body=self._callback_response(state, ctype, message))

    async def _interaction_message(
        self, state: InteractionState, data: JSON, files: list[RecordedFile], *, flags: int
    ) -> JSON:
        """Create the original response message of an interaction (type 4 or the deferred placeholder)."""
        channel = self.channels.get(state.channel_id or 0) or {"id": str(state.channel_id), "type": 0}
        is_command = state.type in (INTERACTION_APPLICATION_COMMAND,)
        message = self._new_message(channel, self.user_payload(self.bot_user_id), {**data, "flags": flags}, files,
                                    message_type=20 if is_command else 0,
                                    extra=self._interaction_message_extra(state))  # fmt: skip
        self._commit_message(message)
        state.original_message_id = int(message["id"])
        await self._echo("MESSAGE_CREATE", message)
        return message

    def _interaction_message_extra(self, state: InteractionState) -> JSON:
        user = state.payload.get("member", {}).get("user") or state.payload.get("user") or {}
        owners = state.payload.get("authorizing_integration_owners", {})
        metadata = {"id": str(state.id), "type": state.type, "user": user, "authorizing_integration_owners": owners}
        if state.type == INTERACTION_APPLICATION_COMMAND:
            metadata.update(name=state.payload["data"]["name"], command_type=state.payload["data"].get("type", 1))
        elif state.type == INTERACTION_COMPONENT and state.payload.get("message"):
            metadata["interacted_message_id"] = state.payload["message"]["id"]
        return {"webhook_id": str(self.application_id), "application_id": str(self.application_id),
                "interaction_metadata": metadata}  # fmt: skip

    def _callback_response(self, state: InteractionState, ctype: int, message: Optional[JSON]) -> JSON:
        interaction: JSON = {"id": str(state.id), "type": state.type, "activity_instance_id": None}
        if message is not None:
            interaction.update(response_message_id=message["id"],
                               response_message_loading=bool(message.get("flags", 0) & FLAG_LOADING),
                               response_message_ephemeral=bool(message.get("flags", 0) & FLAG_EPHEMERAL))  # fmt: skip
        response: JSON = {"interaction": interaction}
        if message is not None and ctype in (CALLBACK_CHANNEL_MESSAGE, CALLBACK_DEFERRED_CHANNEL_MESSAGE,
                                             CALLBACK_UPDATE_MESSAGE):  # fmt: skip
            response["resource"] = {"type": ctype, "message": message}
        return response

    def _interaction_for_webhook(self, call: _Call) -> InteractionState:
        if call.snowflake("app_id") != self.application_id:
            raise _unknown("Webhook", 10015)
        for state in self.interactions.values():
            if state.token == call.params["token"] and state.acknowledged:
                return state
        raise _unknown("Webhook", 10015)

    async def _followup(self, call: _Call) -> _Reply:
        """Follow-up message; the first one after a deferred response edits the loading original."""
        state = self._interaction_for_webhook(call)
        body = call.body or {}
        if state.loading and state.original_message_id in self.messages:
            message = self.messages[state.original_message_id]
            _validate_message(body, call.files)
            edit = {**body, "flags": int(body.get("flags", 0)) & ~FLAG_EPHEMERAL}
            self._apply_edit(message, self._channel_of(message), edit, call.files)
            state.loading = False
            await self._echo("MESSAGE_UPDATE", message)
        else:
            _validate_message(body, call.files)
            message = await self._interaction_message_followup(state, body, call.files)
        wait = call.query.get("wait", "").lower() in ("1", "true")
        return _Reply(body=message) if wait else _Reply(204)

    async def _interaction_message_followup(
        self, state: InteractionState, body: JSON, files: list[RecordedFile]
    ) -> JSON:
        channel = self.channels.get(state.channel_id or 0) or {"id": str(state.channel_id), "type": 0}
        message = self._new_message(channel, self.user_payload(self.bot_user_id), body, files,
                                    extra=self._interaction_message_extra(state))  # fmt: skip
        self._commit_message(message)
        state.followup_message_ids.append(int(message["id"]))
        await self._echo("MESSAGE_CREATE", message)
        return message

    def _webhook_message(self, state: InteractionState, call: _Call) -> JSON:
        raw = call.params["message_id"]
        if raw == "@original":
            mid = state.original_message_id
        else:
            mid = call.snowflake("message_id")
            if mid != state.original_message_id and mid not in state.followup_message_ids:
                mid = None
        if mid is None or mid not in self.messages:
            raise _unknown("Message", 10008)
        return self.messages[mid]

    async def _get_webhook_message(self, call: _Call) -> _Reply:
        return _Reply(body=self._webhook_message(self._interaction_for_webhook(call), call))

    async def _edit_webhook_message(self, call: _Call) -> _Reply:
        state = self._interaction_for_webhook(call)
        message = self._webhook_message(state, call)
        self._apply_edit(message, self._channel_of(message), call.body or {}, call.files)
        if int(message["id"]) == state.original_message_id:
            state.loading = False
        await self._echo("MESSAGE_UPDATE", message)
        return _Reply(body=message)

    async def _delete_webhook_message(self, call: _Call) -> _Reply:
        state = self._interaction_for_webhook(call)
        message = self._webhook_message(state, call)
        del self.messages[int(message["id"])]
        await self._echo("MESSAGE_DELETE", {"id": message["id"], "channel_id": message["channel_id"],
                                            "flags": message.get("flags", 0)})  # fmt: skip
        return _Reply(204)


# --------------------------------------------------------------------------------------------
# Validation & payload helpers (module level: pure functions)
# --------------------------------------------------------------------------------------------
_DEFAULT_ERROR_MESSAGES = {
    400: "400: Bad Request",
    401: "401: Unauthorized",
    403: "Missing Permissions",
    404: "404: Not Found",
    500: "500: Internal Server Error",
    502: "502: Bad Gateway",
    503: "503: Service Unavailable",
}
_COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")
_EMBED_LIMITS = {"title": 256, "description": 4096}


def _parse_multipart(content_type: str, raw: bytes) -> tuple[Any, list[RecordedFile]]:
    """Parse multipart/form-data from the raw body (kept for recording) with the stdlib email parser."""
    import email.parser
    import email.policy

    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
    )
    body: Any = None
    files: list[RecordedFile] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition") or ""
        data = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            files.append(RecordedFile(str(name), filename, part.get_content_type(), data))
        elif name == "payload_json":
            body = json.loads(data.decode("utf-8"))
    return body, files


def _guess_content_type(filename: str) -> str:
    import mimetypes

    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def _interaction_token() -> str:
    raw = f"interaction:{secrets.token_hex(8)}:{secrets.token_urlsafe(48)}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _component_custom_ids(components: Iterable[JSON]) -> set[str]:
    ids: set[str] = set()
    for c in components:
        if "custom_id" in c:
            ids.add(c["custom_id"])
        ids |= _component_custom_ids(c.get("components", []))
        if isinstance(c.get("accessory"), Mapping):
            ids |= _component_custom_ids([c["accessory"]])
        if isinstance(c.get("component"), Mapping):
            ids |= _component_custom_ids([c["component"]])
    return ids


def _modal_submit_components(layout: Sequence[JSON], fields: Mapping[str, Union[str, Sequence[str]]]) -> list[JSON]:
    """What Discord sends back for a modal: same containers, inputs reduced to custom_id + value(s)."""

    def submitted(component: JSON) -> JSON:
        out: JSON = {"type": component["type"], "custom_id": component.get("custom_id")}
        if "id" in component:
            out["id"] = component["id"]
        value = fields.get(component.get("custom_id", ""), "" if component["type"] == 4 else [])
        if component["type"] == 4:
            out["value"] = value if isinstance(value, str) else ",".join(value)
        else:
            out["values"] = [value] if isinstance(value, str) else list(value)
        return out

    result = []
    for container in layout:
        if container.get("type") == 1:
            result.append({"type": 1, "components": [submitted(c) for c in container.get("components", [])]})
        elif container.get("type") == 18 and isinstance(container.get("component"), Mapping):
            label: JSON = {"type": 18, "component": submitted(container["component"])}
            if "id" in container:
                label["id"] = container["id"]
            result.append(label)
    return result


def _normalize_options(options: Union[None, Mapping[str, Any], Sequence[JSON]]) -> list[JSON]:
    if not options:
        return []
    if isinstance(options, Mapping):
        out = []
        for name, value in options.items():
            out.append({"name": name, "type": _option_type(value), "value": value})
        return out
    return [copy.deepcopy(dict(o)) for o in options]


def _option_type(value: Any) -> int:
    """Discord option type for a Python value: bool 5, int 4, float 10, anything else string 3."""
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return 4
    return 10 if isinstance(value, float) else 3


def _mentions_everyone(content: str, allowed: Optional[JSON]) -> bool:
    if "@everyone" not in content and "@here" not in content:
        return False
    return allowed is None or "everyone" in (allowed.get("parse") or [])


def _normalize_embed(embed: JSON) -> JSON:
    out = copy.deepcopy(embed)
    out.setdefault("type", "rich")
    return out


def _poll_from_request(poll: JSON) -> JSON:
    expiry = datetime.now(timezone.utc) + timedelta(hours=int(poll.get("duration", 24)))
    answers = [{"answer_id": i, "poll_media": a.get("poll_media", {})}
               for i, a in enumerate(poll.get("answers", []), 1)]  # fmt: skip
    return {"question": poll.get("question", {}), "answers": answers, "expiry": _iso(expiry),
            "allow_multiselect": bool(poll.get("allow_multiselect")), "layout_type": poll.get("layout_type", 1),
            "results": {"is_finalized": False, "answer_counts": []}}  # fmt: skip


def _validate_message(body: JSON, files: Sequence[RecordedFile], *, edit: bool = False) -> None:
    """The checks Discord applies to message payloads that bots most often trip over."""
    content = body.get("content") or ""
    embeds = body.get("embeds") or []
    components = body.get("components") or []
    flags = int(body.get("flags") or 0)
    if flags & FLAG_COMPONENTS_V2:
        if content or embeds:
            raise _form_error(["content"], "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                              "'content' and 'embeds' cannot be used with MessageFlags.IS_COMPONENTS_V2")  # fmt: skip
        if not components and not edit:
            raise DiscordAPIError(400, 50006, "Cannot send an empty message")
    if len(content) > 2000:
        raise _form_error(["content"], "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
    if len(embeds) > 10:
        raise _form_error(["embeds"], "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    total = 0
    for i, embed in enumerate(embeds):
        total += _validate_embed(i, embed)
    if total > 6000:
        raise _form_error(["embeds"], "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")
    if len(components) > (40 if flags & FLAG_COMPONENTS_V2 else 5):
        raise _form_error(["components"], "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
    extras = ("sticker_ids", "poll", "attachments")
    if not edit and not (content or embeds or components or files or any(body.get(k) for k in extras)):
        raise DiscordAPIError(400, 50006, "Cannot send an empty message")


def _validate_embed(index: int, embed: JSON) -> int:
    size = 0
    for key, limit in _EMBED_LIMITS.items():
        value = embed.get(key) or ""
        if len(value) > limit:
            raise _form_error(["embeds", index, key], "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")
        size += len(value)
    fields = embed.get("fields") or []
    if len(fields) > 25:
        raise _form_error(["embeds", index, "fields"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    for j, f in enumerate(fields):
        name, value = f.get("name"), f.get("value")
        if not name or not value:
            raise _form_error(["embeds", index, "fields", j, "name" if not name else "value"], "BASE_TYPE_REQUIRED",
                              "This field is required")  # fmt: skip
        if len(name) > 256 or len(value) > 1024:
            raise _form_error(["embeds", index, "fields", j], "BASE_TYPE_MAX_LENGTH", "Embed field too long.")
        size += len(name) + len(value)
    footer = (embed.get("footer") or {}).get("text") or ""
    author = (embed.get("author") or {}).get("name") or ""
    if len(footer) > 2048 or len(author) > 256:
        raise _form_error(["embeds", index], "BASE_TYPE_MAX_LENGTH", "Embed footer/author too long.")
    return size + len(footer) + len(author)


def _validate_callback_type(interaction_type: int, callback_type: Any) -> None:
    allowed = {
        INTERACTION_PING: {CALLBACK_PONG},
        INTERACTION_APPLICATION_COMMAND: {CALLBACK_CHANNEL_MESSAGE, CALLBACK_DEFERRED_CHANNEL_MESSAGE, CALLBACK_MODAL},
        INTERACTION_COMPONENT: {CALLBACK_CHANNEL_MESSAGE, CALLBACK_DEFERRED_CHANNEL_MESSAGE,
                                CALLBACK_DEFERRED_UPDATE_MESSAGE, CALLBACK_UPDATE_MESSAGE, CALLBACK_MODAL},
        INTERACTION_AUTOCOMPLETE: {CALLBACK_AUTOCOMPLETE_RESULT},
        INTERACTION_MODAL_SUBMIT: {CALLBACK_CHANNEL_MESSAGE, CALLBACK_DEFERRED_CHANNEL_MESSAGE,
                                   CALLBACK_DEFERRED_UPDATE_MESSAGE, CALLBACK_UPDATE_MESSAGE},
    }.get(interaction_type, set())  # fmt: skip
    if callback_type not in allowed:
        message = f"Interaction response type {callback_type} is not valid for interaction type {interaction_type}"
        raise _form_error(["type"], "INTERACTION_RESPONSE_TYPE_INVALID", message)


def _validate_commands(commands: list[JSON]) -> None:
    """Bulk-overwrite validation: names, descriptions, option order, limits, duplicates."""
    seen: set[tuple[str, int]] = set()
    if sum(1 for c in commands if c.get("type", 1) == 1) > 100:
        raise _form_error([], "APPLICATION_COMMANDS_TOO_MANY", "Maximum number of application commands reached (100)")
    for i, cmd in enumerate(commands):
        ctype = int(cmd.get("type", 1))
        name = cmd.get("name") or ""
        key = (name, ctype)
        if key in seen:
            message = f"Application command names must be unique ({name})"
            raise _form_error([i, "name"], "APPLICATION_COMMANDS_DUPLICATE_NAME", message)
        seen.add(key)
        if ctype == 1:
            _validate_command_node([i], cmd)
        elif not 1 <= len(name) <= 32:
            raise _form_error([i, "name"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")


def _validate_command_node(path: list[Union[str, int]], node: JSON) -> None:
    name = node.get("name") or ""
    if not _COMMAND_NAME.match(name) or name != name.lower():
        raise _form_error([*path, "name"], "APPLICATION_COMMAND_INVALID_NAME", f"Command name is invalid ({name!r})")
    description = node.get("description") or ""
    if not 1 <= len(description) <= 100:
        raise _form_error([*path, "description"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
    options = node.get("options") or []
    if len(options) > 25:
        raise _form_error([*path, "options"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    seen_optional = False
    names: set[str] = set()
    for j, opt in enumerate(options):
        opt_path = [*path, "options", j]
        if opt.get("name") in names:
            code = "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS"
            raise _form_error([*opt_path, "name"], code, "Option names must be unique")
        names.add(opt.get("name"))
        if opt.get("type") in (1, 2):
            _validate_command_node(opt_path, opt)
            continue
        _validate_command_node(opt_path, {**opt, "options": []})
        if len(opt.get("choices") or []) > 25:
            raise _form_error([*opt_path, "choices"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        if opt.get("required"):
            if seen_optional:
                raise _form_error([*path, "options"], "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                                  "Required options must be placed before non-required options")  # fmt: skip
        else:
            seen_optional = True


# --------------------------------------------------------------------------------------------
# Client harness + pytest fixtures
# --------------------------------------------------------------------------------------------
async def _no_identify_delay(shard_id: Optional[int], *, initial: bool = False) -> None:
    return None


def _has_default_identify_hook(client: Any) -> bool:
    import discord

    return getattr(type(client), "before_identify_hook", None) is discord.Client.before_identify_hook


@contextlib.asynccontextmanager
async def run_client(
    client: Any,
    standin: DiscordStandIn,
    *,
    token: Optional[str] = None,
    wait_until_ready: bool = True,
    timeout: float = 10.0,
    fast_identify: bool = True,
) -> AsyncIterator[Any]:
    """Run ``client.start(token)`` in a task; yield once it is ready; always ``close()`` it afterwards.

    Construct the client with ``guild_ready_timeout=0.05`` (or similar): discord.py waits that long
    (default 2 s) after the last GUILD_CREATE before firing ``on_ready``.  If ``start()`` fails (bad
    token, 4014 ...) the exception is raised here instead of hanging.

    ``fast_identify`` removes discord.py's default ``before_identify_hook``, which sleeps 5 s before
    every IDENTIFY except the very first (i.e. before shard 1 of 2, and before re-identifying after
    an invalid session).  A hook the bot overrides itself is left alone.
    """
    if fast_identify and _has_default_identify_hook(client):
        client.before_identify_hook = _no_identify_delay
    task = asyncio.create_task(client.start(token or standin.token), name="discord-client")
    try:
        waiter = asyncio.ensure_future(client.wait_until_ready() if wait_until_ready else standin.wait_ready(timeout))
        done, _ = await asyncio.wait({task, waiter}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            waiter.cancel()
            task.result()  # raises the client's exception
            raise RuntimeError("client.start() returned before the client became ready")
        if waiter not in done:
            waiter.cancel()
            raise StandInTimeout(f"client not ready after {timeout}s\n{standin.describe()}")
        waiter.result()
        yield client
    finally:
        if not client.is_closed():
            await client.close()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, 5.0)


try:  # fixtures are optional so the module also works outside pytest
    import pytest_asyncio

    @pytest_asyncio.fixture
    async def standin() -> AsyncIterator[DiscordStandIn]:
        """A started :class:`DiscordStandIn` with discord.py patched to use it (restored afterwards).

        Import it into a test module (``from tests.discord_standin import standin``) to use it.
        """
        async with DiscordStandIn() as server:
            with server.patch_discord():
                yield server

except ImportError:  # pragma: no cover
    pass


__all__ = [
    "APPLICATION_ID", "BOT_USER_ID", "BOT_ROLE_ID", "GUILD_ID", "TEXT_CHANNEL_ID", "SECOND_CHANNEL_ID", "OWNER_ID",
    "USER_ID", "DEFAULT_TOKEN", "PERMISSIONS", "DEFAULT_BOT_PERMISSIONS", "DEFAULT_EVERYONE_PERMISSIONS",
    "permission_bits", "without_permissions", "ChannelSpec", "RoleSpec", "MemberSpec", "GuildSpec",
    "DiscordStandIn", "RecordedRequest", "RecordedFile", "GatewayFrame", "InteractionState", "StandInTimeout",
    "compile_path_pattern", "run_client", "standin",
]  # fmt: skip
