"""End-to-end tests proving the Discord stand-in works with the real discord.py client.

Each test runs a real ``discord.ext.commands.AutoShardedBot`` (or a plain ``discord.Client``) against
:class:`tests.discord_standin.DiscordStandIn` over loopback sockets: login over REST, gateway over a
zlib-stream websocket, responses back over REST.  Nothing in discord.py is mocked.
"""

from __future__ import annotations

import asyncio
import io
from typing import AsyncIterator

import aiohttp
import discord
import pytest
import pytest_asyncio
from discord import app_commands
from discord.ext import commands

from tests.discord_standin import (
    APPLICATION_ID,
    BOT_USER_ID,
    GUILD_ID,
    ChannelSpec,
    TEXT_CHANNEL_ID,
    USER_ID,
    DiscordStandIn,
    GuildSpec,
    StandInTimeout,
    run_client,
    standin,  # noqa: F401  (pytest fixture)
    without_permissions,
)

MESSAGES = rf"/channels/{TEXT_CHANNEL_ID}/messages"
GUILD = discord.Object(GUILD_ID)


class VoteView(discord.ui.View):
    """A button whose click edits the message it is attached to."""

    def __init__(self) -> None:
        super().__init__(timeout=60)

    @discord.ui.button(label="Yes", custom_id="vote:yes", style=discord.ButtonStyle.success)
    async def yes(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.edit_message(content=f"{interaction.user.name} voted yes", view=None)


def default_intents() -> discord.Intents:
    intents = discord.Intents.default()
    intents.message_content = True
    return intents


def make_bot(**kwargs: object) -> commands.AutoShardedBot:
    """A small bot exercising the discord.py features a real bot uses."""
    bot = commands.AutoShardedBot(command_prefix="!", intents=default_intents(), guild_ready_timeout=0.05, **kwargs)

    @bot.event
    async def on_message(message: discord.Message) -> None:
        if message.author.bot:
            return
        if message.content == "!ping":
            await message.reply("pong", mention_author=False)
        elif message.content == "!file":
            await message.channel.send("here ✓", file=discord.File(io.BytesIO(b"hello corpus"), "hello.txt"))
        elif message.content == "!read":
            data = await message.attachments[0].read()
            await message.channel.send(f"{len(data)} bytes: {data.decode()}")
        elif message.content == "!thread":
            thread = await message.create_thread(name="discussion")
            await thread.send("thread started")
        elif message.content == "!vote":
            await message.channel.send("vote now", view=VoteView())

    @bot.tree.command(name="ask", description="Ask the corpus a question")
    @app_commands.describe(question="What you want to know")
    async def ask(interaction: discord.Interaction, question: str) -> None:
        if interaction.app_permissions.embed_links:
            await interaction.response.send_message(embed=discord.Embed(title="Answer", description=question))
        else:  # no Embed Links in this channel: fall back to plain text
            await interaction.response.send_message(f"Answer: {question}")

    @bot.tree.command(name="slow", description="Answer after thinking")
    async def slow(interaction: discord.Interaction, question: str) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send(f"slow answer to {question}")

    @bot.tree.command(name="topic", description="Pick a topic")
    async def topic(interaction: discord.Interaction, name: str) -> None:
        await interaction.response.send_message(name, ephemeral=True)

    @topic.autocomplete("name")
    async def topic_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        topics = ["search", "stemming", "scoring"]
        return [app_commands.Choice(name=t, value=t) for t in topics if t.startswith(current)]

    @bot.tree.command(name="vote", description="Start a vote")
    async def vote(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("vote now", view=VoteView())

    @bot.tree.command(name="edits", description="Exercise the interaction webhook routes")
    async def edits(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("first")
        await interaction.edit_original_response(content="edited")
        original = await interaction.original_response()
        followup = await interaction.followup.send(f"original says {original.content}", wait=True)
        await followup.edit(content="followup edited")
        await interaction.delete_original_response()

    @bot.tree.command(name="feedback", description="Open a feedback form")
    async def feedback(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(FeedbackModal())

    return bot


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    comment = discord.ui.TextInput(label="Comment", custom_id="feedback:comment")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"thanks for: {self.comment.value}", ephemeral=True)


@pytest_asyncio.fixture
async def bot(standin: DiscordStandIn) -> AsyncIterator[commands.AutoShardedBot]:
    client = make_bot()
    async with run_client(client, standin):
        yield client


async def sync_guild_commands(bot: commands.AutoShardedBot, standin: DiscordStandIn) -> list[app_commands.AppCommand]:
    bot.tree.copy_global_to(guild=GUILD)
    synced = await bot.tree.sync(guild=GUILD)
    await standin.wait_for_request("PUT", rf"/applications/{APPLICATION_ID}/guilds/{GUILD_ID}/commands")
    return synced


# ------------------------------------------------------------------------------------ login & gateway
@pytest.mark.asyncio
async def test_login_identify_and_guild_cache(standin: DiscordStandIn, bot: commands.AutoShardedBot) -> None:
    assert [r.path for r in standin.requests[:3]] == ["/users/@me", "/oauth2/applications/@me", "/gateway/bot"]
    assert bot.user.id == BOT_USER_ID and bot.application_id == APPLICATION_ID
    assert standin.identify_count == 1 and bot.shard_count == 1
    identify = next(f for f in standin.gateway_log if f.op == 2)
    assert identify.d["shard"] == [0, 1] and identify.d["intents"] == default_intents().value

    guild = bot.get_guild(GUILD_ID)
    assert guild is not None and guild.me is not None
    assert isinstance(guild.get_channel(TEXT_CHANNEL_ID), discord.TextChannel)
    assert guild.default_role.id == GUILD_ID
    assert guild.get_channel(TEXT_CHANNEL_ID).permissions_for(guild.me).send_messages
    # zlib-stream transport compression was requested and honoured
    assert standin.connections[0].query == {"v": "10", "encoding": "json", "compress": "zlib-stream"}
    assert standin.connections[0].binary_frames_sent > 0


@pytest.mark.asyncio
async def test_token_only_in_authorization_header(standin: DiscordStandIn, bot: commands.AutoShardedBot) -> None:
    await standin.dispatch("MESSAGE_CREATE", standin.message_create("!ping"))
    await standin.wait_for_request("POST", MESSAGES)
    assert all(r.authorization == "Bot test-token" for r in standin.requests)
    assert all("Authorization" not in r.headers for r in standin.requests)
    assert standin.token_leaks() == []


@pytest.mark.asyncio
async def test_json_content_type_is_exact(standin: DiscordStandIn) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{standin.api_base}/users/@me", headers={"Authorization": "Bot test-token"}) as resp:
            assert resp.headers["Content-Type"] == "application/json"
        async with session.get(f"{standin.api_base}/users/@me") as resp:
            assert resp.status == 401


# ------------------------------------------------------------------------------------ messages
@pytest.mark.asyncio
async def test_message_create_gets_reply(standin: DiscordStandIn, bot: commands.AutoShardedBot) -> None:
    incoming = standin.message_create("!ping")
    await standin.dispatch("MESSAGE_CREATE", incoming)

    req = await standin.wait_for_request("POST", MESSAGES)
    assert req.status == 200
    assert req.json["content"] == "pong"
    assert req.json["message_reference"]["message_id"] == int(incoming["id"])
    assert req.json["allowed_mentions"]["replied_user"] is False
    reply = standin.messages[int(req.response["id"])]
    assert reply["type"] == 19 and reply["author"]["id"] == str(BOT_USER_ID)


@pytest.mark.asyncio
async def test_multipart_upload_and_attachment_download(standin: DiscordStandIn, bot: commands.AutoShardedBot) -> None:
    await standin.dispatch("MESSAGE_CREATE", standin.message_create("!file"))
    req = await standin.wait_for_request("POST", MESSAGES)
    assert req.json["content"] == "here ✓"
    assert req.json["attachments"] == [{"id": 0, "filename": "hello.txt"}]
    assert req.filenames == ["hello.txt"] and req.files[0].data == b"hello corpus"
    assert req.response["attachments"][0]["size"] == len(b"hello corpus")

    # An incoming attachment is served by the stand-in's CDN, so Attachment.read() works.
    msg = standin.message_create("!read", attachments=[("doc.txt", b"corpus text")])
    await standin.dispatch("MESSAGE_CREATE", msg)
    req = await standin.wait_for_request("POST", MESSAGES)
    assert req.json["content"] == "11 bytes: corpus text"


@pytest.mark.asyncio
async def test_thread_from_message(standin: DiscordStandIn, bot: commands.AutoShardedBot) -> None:
    incoming = standin.message_create("!thread")
    await standin.dispatch("MESSAGE_CREATE", incoming)
    req = await standin.wait_for_request("POST", rf"/channels/{TEXT_CHANNEL_ID}/messages/{{id}}/threads")
    assert req.json["name"] == "discussion"
    assert req.response["type"] == 11 and req.response["parent_id"] == str(TEXT_CHANNEL_ID)
    assert req.response["id"] == incoming["id"]  # like Discord: thread id == starter message id
    sent = await standin.wait_for_request("POST", rf"/channels/{incoming['id']}/messages")
    assert sent.json["content"] == "thread started"


@pytest.mark.asyncio
async def test_unknown_route_is_recorded_and_404(standin: DiscordStandIn, bot: commands.AutoShardedBot) -> None:
    with pytest.raises(discord.NotFound):
        await bot.http.request(discord.http.Route("GET", "/definitely/not/a/route"))
    assert [r.path for r in standin.unknown_requests] == ["/definitely/not/a/route"]
    assert standin.unknown_requests[0].response == {"message": "Unknown", "code": 0}


@pytest.mark.asyncio
async def test_message_validation_like_discord(standin: DiscordStandIn, bot: commands.AutoShardedBot) -> None:
    channel = bot.get_channel(TEXT_CHANNEL_ID)
    with pytest.raises(discord.HTTPException) as too_long:
        await channel.send("x" * 2001)
    assert too_long.value.code == 50035 and "2000" in str(too_long.value)
    with pytest.raises(discord.HTTPException) as empty:
        await bot.http.send_message(TEXT_CHANNEL_ID, params=discord.http.MultipartParameters({}, None, None))
    assert empty.value.code == 50006


# ------------------------------------------------------------------------------------ app commands
@pytest.mark.asyncio
async def test_slash_command_sync_and_invoke(standin: DiscordStandIn, bot: commands.AutoShardedBot) -> None:
    synced = await sync_guild_commands(bot, standin)
    assert {c.name for c in synced} == {"ask", "slow", "topic", "vote", "edits", "feedback"}
    assert all(c.guild_id == GUILD_ID and c.application_id == APPLICATION_ID for c in synced)
    put = standin.find_requests("PUT", rf"/applications/{APPLICATION_ID}/guilds/{GUILD_ID}/commands")[0]
    ask = next(c for c in put.json if c["name"] == "ask")
    assert ask["options"][0]["name"] == "question" and ask["options"][0]["required"] is True

    inter = standin.interaction_create_slash("ask", {"question": "what is bm25?"})
    assert inter["data"]["guild_id"] == str(GUILD_ID)  # synced to the guild -> guild command
    await standin.dispatch("INTERACTION_CREATE", inter)
    callback = await standin.wait_for_callback(inter)
    assert callback.status == 200 and callback.authorization is None
    assert callback.query == {"with_response": "1"}
    assert callback.json["type"] == 4
    assert callback.json["data"]["embeds"][0]["description"] == "what is bm25?"
    state = standin.interactions[int(inter["id"])]
    assert state.response_type == 4 and standin.messages[state.original_message_id]["type"] == 20


@pytest.mark.asyncio
async def test_no_embed_links_falls_back_to_text(standin: DiscordStandIn, bot: commands.AutoShardedBot) -> None:
    await sync_guild_commands(bot, standin)
    perms = without_permissions(standin.member_permissions(GUILD_ID, BOT_USER_ID), "EMBED_LINKS")
    inter = standin.interaction_create_slash("ask", {"question": "plain?"}, app_permissions=perms)
    await standin.dispatch("INTERACTION_CREATE", inter)
    callback = await standin.wait_for_callback(inter)
    assert callback.json["data"]["content"] == "Answer: plain?"
    assert not callback.json["data"].get("embeds")


@pytest.mark.asyncio
async def test_deferred_response_and_followup(standin: DiscordStandIn, bot: commands.AutoShardedBot) -> None:
    await sync_guild_commands(bot, standin)
    inter = standin.interaction_create_slash("slow", {"question": "tf-idf"})
    await standin.dispatch("INTERACTION_CREATE", inter)

    callback = await standin.wait_for_callback(inter)
    assert callback.json == {"type": 5}
    followup = await standin.wait_for_request("POST", rf"/webhooks/{APPLICATION_ID}/{inter['token']}")
    assert followup.json["content"] == "slow answer to tf-idf"
    assert followup.query["wait"] == "1" and followup.status == 200
    # First follow-up after a deferral replaces the "thinking..." original, like Discord.
    state = standin.interactions[int(inter["id"])]
    original = standin.messages[state.original_message_id]
    assert original["content"] == "slow answer to tf-idf" and not original["flags"] & 128
    assert followup.response["id"] == original["id"]


@pytest.mark.asyncio
async def test_button_click_handled_by_view(standin: DiscordStandIn, bot: commands.AutoShardedBot) -> None:
    await sync_guild_commands(bot, standin)
    inter = standin.interaction_create_slash("vote")
    await standin.dispatch("INTERACTION_CREATE", inter)
    callback = await standin.wait_for_callback(inter)
    assert callback.json["data"]["components"][0]["components"][0]["custom_id"] == "vote:yes"

    click = standin.interaction_create_component("vote:yes")  # finds the message carrying the button
    assert click["message"]["id"] == str(standin.interactions[int(inter["id"])].original_message_id)
    await standin.dispatch("INTERACTION_CREATE", click)
    update = await standin.wait_for_callback(click)
    assert update.json["type"] == 7
    assert update.json["data"]["content"] == "alice voted yes" and update.json["data"]["components"] == []


@pytest.mark.asyncio
async def test_button_on_channel_message(standin: DiscordStandIn, bot: commands.AutoShardedBot) -> None:
    await standin.dispatch("MESSAGE_CREATE", standin.message_create("!vote"))
    sent = await standin.wait_for_request("POST", MESSAGES)
    click = standin.interaction_create_component("vote:yes", message=int(sent.response["id"]))
    await standin.dispatch("INTERACTION_CREATE", click)
    update = await standin.wait_for_callback(click)
    assert update.json["type"] == 7
    assert standin.messages[int(sent.response["id"])]["content"] == "alice voted yes"


@pytest.mark.asyncio
async def test_autocomplete(standin: DiscordStandIn, bot: commands.AutoShardedBot) -> None:
    await sync_guild_commands(bot, standin)
    inter = standin.interaction_create_autocomplete("topic", {"name": "s"}, focused="name")
    await standin.dispatch("INTERACTION_CREATE", inter)
    callback = await standin.wait_for_callback(inter)
    assert callback.json["type"] == 8
    assert [c["value"] for c in callback.json["data"]["choices"]] == ["search", "stemming", "scoring"]


# ------------------------------------------------------------------------------------ reliability
@pytest.mark.asyncio
async def test_forced_disconnect_resumes(standin: DiscordStandIn, bot: commands.AutoShardedBot) -> None:
    await standin.disconnect(code=4000)
    await standin.wait_until(lambda: standin.resume_count == 1 and standin.is_ready(), description="RESUME")
    assert standin.identify_count == 1
    assert standin.connections[-1].path == "/gateway-resume"  # resume_gateway_url from READY was used

    await standin.dispatch("MESSAGE_CREATE", standin.message_create("!ping"))
    assert (await standin.wait_for_request("POST", MESSAGES)).json["content"] == "pong"


@pytest.mark.asyncio
async def test_events_missed_while_disconnected_are_replayed(
    standin: DiscordStandIn, bot: commands.AutoShardedBot
) -> None:
    standin.pause_gateway()
    await standin.disconnect(abort=True)  # network failure, no close frame
    await standin.dispatch("MESSAGE_CREATE", standin.message_create("!ping"))  # queued for the session
    standin.resume_gateway()
    req = await standin.wait_for_request("POST", MESSAGES)
    assert req.json["content"] == "pong"
    assert standin.resume_count == 1 and standin.identify_count == 1


@pytest.mark.asyncio
async def test_invalid_session_forces_identify(standin: DiscordStandIn, bot: commands.AutoShardedBot) -> None:
    standin.forget_sessions()
    await standin.send_reconnect()  # client tries to RESUME, gets op 9 false, re-IDENTIFYs
    await standin.wait_until(lambda: standin.identify_count == 2 and standin.is_ready(), description="re-IDENTIFY")
    await standin.dispatch("MESSAGE_CREATE", standin.message_create("!ping"))
    assert (await standin.wait_for_request("POST", MESSAGES)).json["content"] == "pong"


@pytest.mark.asyncio
async def test_rate_limited_send_is_retried_once(standin: DiscordStandIn, bot: commands.AutoShardedBot) -> None:
    standin.fail_next("POST", "/channels/{id}/messages", status=429, retry_after=0.1)
    await standin.dispatch("MESSAGE_CREATE", standin.message_create("!ping"))

    limited = await standin.wait_for_request("POST", MESSAGES)
    assert limited.status == 429 and limited.response["retry_after"] == 0.1
    sent = await standin.wait_for_request("POST", MESSAGES)
    assert sent.status == 200 and sent.json == limited.json
    await standin.expect_no_request("POST", MESSAGES, within=0.3)
    pongs = [m for m in standin.messages.values() if m["content"] == "pong"]
    assert len(pongs) == 1


@pytest.mark.asyncio
async def test_server_error_is_retried(standin: DiscordStandIn, bot: commands.AutoShardedBot) -> None:
    standin.fail_next("POST", MESSAGES, status=500)
    await standin.dispatch("MESSAGE_CREATE", standin.message_create("!ping"))
    assert (await standin.wait_for_request("POST", MESSAGES)).status == 500
    assert (await standin.wait_for_request("POST", MESSAGES)).status == 200  # discord.py waits 1 s


@pytest.mark.asyncio
async def test_wait_for_request_times_out_with_context(standin: DiscordStandIn) -> None:
    with pytest.raises(StandInTimeout, match="recorded requests"):
        await standin.wait_for_request("POST", MESSAGES, timeout=0.05)


# ------------------------------------------------------------------------------------ other clients
@pytest.mark.asyncio
async def test_plain_client_uses_default_gateway(standin: DiscordStandIn) -> None:
    client = discord.Client(intents=default_intents(), guild_ready_timeout=0.05)

    @client.event
    async def on_message(message: discord.Message) -> None:
        if message.author != client.user:
            await message.channel.send(f"echo: {message.content}")

    async with run_client(client, standin):
        assert not standin.find_requests("GET", "/gateway/bot")
        assert standin.connections[0].path == "/gateway"
        assert standin.connections[0].query["compress"] == "zlib-stream"
        identify = next(f for f in standin.gateway_log if f.op == 2)
        assert "shard" not in identify.d
        await standin.dispatch("MESSAGE_CREATE", standin.message_create("hi"))
        assert (await standin.wait_for_request("POST", MESSAGES)).json["content"] == "echo: hi"
    assert client.is_closed() and standin.connections[0].closed
    # discord.py 2.7.1 quirk: Client.close() races its own reader task, which closes the socket with
    # 4000 before close(code=1000) gets to, so the session stays resumable (AutoShardedBot sends 1000).
    assert standin.connections[0].close_code in (1000, 4000)


@pytest.mark.asyncio
async def test_autosharded_close_ends_session(standin: DiscordStandIn) -> None:
    async with run_client(make_bot(), standin):
        pass
    assert [c.close_code for c in standin.connections] == [1000]
    assert not any(s.resumable for s in standin.sessions.values())  # Discord drops sessions closed with 1000


@pytest.mark.asyncio
async def test_without_message_content_intent_content_is_blank(standin: DiscordStandIn) -> None:
    seen: asyncio.Queue[str] = asyncio.Queue()
    client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.05)

    @client.event
    async def on_message(message: discord.Message) -> None:
        await seen.put(message.content)

    async with run_client(client, standin):
        await standin.dispatch("MESSAGE_CREATE", standin.message_create("secret"))
        assert await asyncio.wait_for(seen.get(), 5) == ""
        await standin.dispatch("MESSAGE_CREATE", standin.message_create(f"<@{BOT_USER_ID}> hello"))
        assert await asyncio.wait_for(seen.get(), 5) == f"<@{BOT_USER_ID}> hello"


@pytest.mark.asyncio
async def test_heartbeats_and_zombie_connection() -> None:
    async with DiscordStandIn(heartbeat_interval_ms=50) as server:
        with server.patch_discord():
            client = discord.Client(intents=default_intents(), guild_ready_timeout=0.05, heartbeat_timeout=0.5)
            async with run_client(client, server):
                await server.wait_until(lambda: server.heartbeat_count >= 3, description="heartbeats")
                assert client.latency < 1
                server.heartbeat_ack = False  # no ACKs, no events: discord.py must reconnect + RESUME
                await server.wait_until(lambda: server.resume_count == 1, description="RESUME after zombie")
                server.heartbeat_ack = True
                assert server.identify_count == 1


@pytest.mark.asyncio
async def test_two_shards_route_guilds() -> None:
    second = next(GUILD_ID + i for i in range(1, 1 << 24) if ((GUILD_ID + i) >> 22) % 2 != (GUILD_ID >> 22) % 2)
    other_channel = second + 1
    guilds = [GuildSpec(), GuildSpec(id=second, name="Second", channels=[ChannelSpec(other_channel, "other")])]
    async with DiscordStandIn(shard_count=2, guilds=guilds) as server:
        with server.patch_discord():
            client = make_bot()
            async with run_client(client, server):
                assert server.identify_count == 2 and client.shard_count == 2
                assert {g.id for g in client.guilds} == {GUILD_ID, second}
                assert client.get_guild(GUILD_ID).shard_id != client.get_guild(second).shard_id
                await server.dispatch("MESSAGE_CREATE", server.message_create("!ping", channel_id=other_channel))
                req = await server.wait_for_request("POST", rf"/channels/{other_channel}/messages")
                assert req.json["content"] == "pong"


@pytest.mark.asyncio
async def test_route_base_is_restored() -> None:
    before = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    async with DiscordStandIn() as server:
        with pytest.raises(RuntimeError):
            with server.patch_discord():
                assert discord.http.Route.BASE == server.api_base
                raise RuntimeError("test failure inside the patch")
    assert (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == before


# ------------------------------------------------------------------------------------ more routes
@pytest.mark.asyncio
async def test_rest_roundtrip(standin: DiscordStandIn, bot: commands.AutoShardedBot) -> None:
    channel = bot.get_channel(TEXT_CHANNEL_ID)
    msg = await channel.send("draft")
    await msg.edit(content="final")
    assert (await channel.fetch_message(msg.id)).content == "final"
    assert [m.content async for m in channel.history(limit=5)] == ["final"]
    await msg.delete()
    with pytest.raises(discord.NotFound):
        await channel.fetch_message(msg.id)
    async with channel.typing():
        pass
    assert (await bot.fetch_channel(TEXT_CHANNEL_ID)).name == "general"
    guild = await bot.fetch_guild(GUILD_ID)
    assert (await guild.fetch_member(USER_ID)).name == "alice"
    with pytest.raises(discord.NotFound):
        await guild.fetch_member(4242)
    assert standin.find_requests("POST", rf"/channels/{TEXT_CHANNEL_ID}/typing")[0].status == 204
    assert standin.unknown_requests == []


@pytest.mark.asyncio
async def test_bot_sees_its_own_messages(standin: DiscordStandIn, bot: commands.AutoShardedBot) -> None:
    own = asyncio.ensure_future(bot.wait_for("message", check=lambda m: m.author == bot.user, timeout=5))
    await bot.get_channel(TEXT_CHANNEL_ID).send("hello from the bot")
    assert (await own).content == "hello from the bot"


@pytest.mark.asyncio
async def test_interaction_webhook_routes(standin: DiscordStandIn, bot: commands.AutoShardedBot) -> None:
    await sync_guild_commands(bot, standin)
    inter = standin.interaction_create_slash("edits")
    await standin.dispatch("INTERACTION_CREATE", inter)
    hook = rf"/webhooks/{APPLICATION_ID}/{inter['token']}"
    assert (await standin.wait_for_request("PATCH", hook + "/messages/@original")).json["content"] == "edited"
    assert (await standin.wait_for_request("GET", hook + "/messages/@original")).response["content"] == "edited"
    followup = await standin.wait_for_request("POST", hook)
    assert followup.json["content"] == "original says edited"
    edit = await standin.wait_for_request("PATCH", hook + "/messages/{id}")
    assert edit.path.endswith(followup.response["id"]) and edit.response["content"] == "followup edited"
    assert (await standin.wait_for_request("DELETE", hook + "/messages/@original")).status == 204
    assert standin.interactions[int(inter["id"])].original_message_id not in standin.messages


@pytest.mark.asyncio
async def test_modal_roundtrip(standin: DiscordStandIn, bot: commands.AutoShardedBot) -> None:
    await sync_guild_commands(bot, standin)
    inter = standin.interaction_create_slash("feedback")
    await standin.dispatch("INTERACTION_CREATE", inter)
    shown = await standin.wait_for_callback(inter)
    assert shown.json["type"] == 9 and shown.json["data"]["custom_id"]
    submit = standin.interaction_create_modal_submit(shown.json["data"]["custom_id"], {"feedback:comment": "great"})
    await standin.dispatch("INTERACTION_CREATE", submit)
    answer = await standin.wait_for_callback(submit)
    assert answer.json["data"] == {**answer.json["data"], "content": "thanks for: great", "flags": 64}


@pytest.mark.asyncio
async def test_interaction_acknowledged_only_once(standin: DiscordStandIn, bot: commands.AutoShardedBot) -> None:
    await sync_guild_commands(bot, standin)
    inter = standin.interaction_create_slash("ask", {"question": "once"})
    await standin.dispatch("INTERACTION_CREATE", inter)
    await standin.wait_for_callback(inter)
    url = f"{standin.api_base}/interactions/{inter['id']}/{inter['token']}/callback"
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"type": 4, "data": {"content": "again"}}) as resp:
            assert resp.status == 400 and (await resp.json())["code"] == 40060


@pytest.mark.asyncio
async def test_direct_message(standin: DiscordStandIn, bot: commands.AutoShardedBot) -> None:
    dm = standin.dm_channel(USER_ID)
    await standin.dispatch("MESSAGE_CREATE", standin.message_create("!ping", channel_id=dm))
    req = await standin.wait_for_request("POST", rf"/channels/{dm}/messages")
    assert req.json["content"] == "pong"


@pytest.mark.asyncio
async def test_wrong_token_fails_login(standin: DiscordStandIn) -> None:
    with pytest.raises(discord.LoginFailure):
        async with run_client(make_bot(), standin, token="wrong-token"):
            pass
    assert standin.requests[0].status == 401


@pytest.mark.asyncio
async def test_disallowed_privileged_intent_closes_4014() -> None:
    async with DiscordStandIn(allowed_privileged_intents=0) as server:
        with server.patch_discord():
            with pytest.raises(discord.PrivilegedIntentsRequired):
                async with run_client(make_bot(), server):
                    pass


@pytest.mark.asyncio
async def test_member_chunking_with_members_intent(standin: DiscordStandIn) -> None:
    intents = default_intents()
    intents.members = True
    client = discord.Client(intents=intents, guild_ready_timeout=0.05)
    async with run_client(client, standin):
        guild = client.get_guild(GUILD_ID)
        assert guild.chunked and {m.name for m in guild.members} == {"corpus-bot", "owner", "alice"}
        assert any(f.op == 8 for f in standin.gateway_log)
