"""End to end: the real discord.py client, our bot, against the loopback Discord stand-in.

Every test's recorded requests are checked when it ends (``standin`` fixture): a message body
always carries ``allowed_mentions = {"parse": []}``, and the token never appears anywhere but
the Authorization header - nor in the logs. Answers come from the real seed corpus.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import shutil
import threading
from datetime import datetime, timezone

import pytest

from bot.build import build_engine
from bot.config import DiscordSettings, EngineSettings, Settings
from bot.discord import runner
from bot.discord.client import CorpusBot

from .conftest import SEEDS
from .discord_standin import (
    BOT_USER_ID,
    DEFAULT_BOT_PERMISSIONS,
    GUILD_ID,
    OWNER_ID,
    SECOND_CHANNEL_ID,
    TEXT_CHANNEL_ID,
    USER_ID,
    ChannelSpec,
    DiscordStandIn,
    GuildSpec,
    RoleSpec,
    permission_bits,
    run_client,
    without_permissions,
)
from .discord_helpers import (  # noqa: F401  (fixtures are used by name)
    FLAG_EPHEMERAL,
    MISSILES,
    MOD_ROLE_ID,
    SEEN_MESSAGE_BODIES,
    TOKEN,
    all_text,
    ask,
    assert_no_pings,
    assert_safe_traffic,
    assert_within_limits,
    click,
    corpus_copy,
    custom_ids,
    launch,
    mention,
    reply_to,
    slash,
    standin,
)


# --------------------------------------------------------------------------------------------
# Start-up
# --------------------------------------------------------------------------------------------
async def test_connects_through_the_api_base_and_syncs_to_the_dev_guild_only(standin, launch):
    async with launch() as bot:
        put = await standin.wait_for_request("PUT", "/applications/{app}/guilds/{guild}/commands")
        assert sorted(c["name"] for c in put.json) == ["ask", "help", "reload", "sources", "stats"]
        ask_command = next(c for c in put.json if c["name"] == "ask")
        options = {o["name"]: o for o in ask_command["options"]}
        assert options["question"]["required"] and options["source"]["autocomplete"]
        assert (options["count"]["min_value"], options["count"]["max_value"]) == (1, 5)
        reload_command = next(c for c in put.json if c["name"] == "reload")
        assert int(reload_command["default_member_permissions"]) == permission_bits("MANAGE_GUILD")
        assert standin.find_requests("GET", "/gateway/bot")
        assert not standin.find_requests("PUT", "/applications/{app}/commands"), "no global sync unless asked"
        identify = await standin.wait_for_gateway(op=2)
        intents = identify.d["intents"]
        assert not intents & (1 << 15), "no Message Content intent without ASK_CHANNEL_IDS"
        assert bot.allowed_mentions.to_dict() == {"parse": []}


async def test_sync_off_registers_nothing_and_global_is_explicit(standin, launch):
    async with launch(sync_commands="off"):
        pass
    assert not standin.find_requests("PUT", ".*/commands")
    async with launch(sync_commands="global", dev_guild_id=None):
        await standin.wait_for_request("PUT", "/applications/{app}/commands")


async def test_runs_only_the_configured_shards(standin, launch):
    async with launch(shard_count=2, shard_ids=(1,)) as bot:
        identify = await standin.wait_for_gateway(op=2)
        assert identify.d["shard"] == [1, 2]
        assert bot.shard_count == 2 and list(bot.shards) == [1]


async def test_heartbeats_keep_the_session_alive_while_answering(seeds_built):
    async with DiscordStandIn(token=TOKEN, heartbeat_interval_ms=40) as server:
        with server.patch_discord():
            config = DiscordSettings(api_base=server.api_base, cooldown_questions=0)
            bot = CorpusBot(seeds_built, EngineSettings(corpus_dir=SEEDS), config, guild_ready_timeout=0.05)
            async with run_client(bot, server, token=TOKEN):
                for _ in range(3):
                    await server.wait_for_gateway(op=1)  # HEARTBEAT from the client ...
                    await server.wait_for_gateway(op=11, direction="send")  # ... and its ACK
                _, request = await mention(server, MISSILES)
                assert "cruise missiles" in all_text(request.json)
                assert server.identify_count == 1 and server.heartbeat_count >= 3
    assert_safe_traffic(server)


async def test_direct_messages_are_questions(standin, launch):
    async with launch():
        channel = standin.dm_channel(USER_ID)
        await standin.dispatch("MESSAGE_CREATE", standin.message_create(MISSILES, channel_id=channel, guild_id=None))
        request = await standin.wait_for_request("POST", rf"/channels/{channel}/messages")
        assert "48 **cruise missiles**" in all_text(request.json)


async def test_run_bot_uses_discord_api_base_and_never_logs_the_token(monkeypatch, tmp_path):
    """The real entry point against the stand-in: a wrong token fails cleanly, and is not logged."""
    async with DiscordStandIn(token=TOKEN) as standin:
        with standin.patch_discord():  # restores Route.BASE, which run_bot sets from DISCORD_API_BASE
            await run_bot_with_wrong_token(standin, monkeypatch, tmp_path)


async def run_bot_with_wrong_token(standin, monkeypatch, tmp_path):
    for name in ("DEV_GUILD_ID", "SYNC_COMMANDS", "SHARD_COUNT", "SHARD_IDS", "ASK_CHANNEL_IDS", "MESSAGE_CONTENT_INTENT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DISCORD_API_BASE", standin.api_base)
    monkeypatch.setenv("FEEDBACK_LOG", str(tmp_path / "f.jsonl"))
    captured = io.StringIO()

    def fake_setup_logging(level, root=True):  # discord.utils.setup_logging, writing to a buffer
        handler = logging.StreamHandler(captured)
        logging.getLogger().addHandler(handler)
        logging.getLogger().setLevel(logging.DEBUG)

    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    monkeypatch.setattr(runner.discord.utils, "setup_logging", fake_setup_logging)
    monkeypatch.setattr(runner, "freeze_startup_heap", lambda: None)  # not in the test process
    wrong = "MTE5.wrong-token-also-secret"
    try:
        code = await asyncio.to_thread(runner.run_bot, Settings(EngineSettings(corpus_dir=SEEDS), discord_token=wrong))
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    assert code == 1
    assert standin.find_requests("GET", "/users/@me"), "the client talked to DISCORD_API_BASE"
    logs = captured.getvalue()
    assert "rejected DISCORD_TOKEN" in logs
    assert wrong not in logs and TOKEN not in logs


# --------------------------------------------------------------------------------------------
# Asking
# --------------------------------------------------------------------------------------------
async def test_ask_defers_then_quotes_passages_with_sources_and_bold(standin, launch):
    async with launch():
        callback, answer = await ask(standin, MISSILES)
        assert callback.json["type"] == 5  # deferred first: the engine never races the 3 seconds
        assert answer.json["content"] == f"**Q:** {MISSILES}"
        first = answer.json["embeds"][0]
        assert first["title"].startswith("1. 001\\_ba5d04ac19317d3f.txt")
        assert first["footer"]["text"].startswith("lines 5–7")
        assert "48 **cruise missiles**" in first["description"]
        assert set(custom_ids(answer.json)) >= {"full", "up", "down"}
        assert_within_limits(answer.json)


async def test_a_near_miss_shows_the_words_its_quotes_lack(standin, launch):
    async with launch():
        question = "Has Germany delivered tanks and howitzers to Ukraine?"
        _, answer = await ask(standin, question)
        assert answer.json["content"] == f"**Q:** {question}\n-# Missing: ~~tanks~~"
        assert "**Germany**" in answer.json["embeds"][0]["description"]
        assert_within_limits(answer.json)


async def test_ask_with_source_and_count(standin, launch):
    async with launch():
        _, answer = await ask(standin, "Belarus", opts={"source": "004_f1a119c55acebd65.txt", "count": 1})
        embeds = answer.json["embeds"]
        assert len(embeds) == 1 and "004\\_f1a119c55acebd65.txt" in embeds[0]["title"]
        assert "more" in custom_ids(answer.json)


async def test_source_autocomplete_lists_indexed_files(standin, launch):
    async with launch():
        payload = standin.interaction_create_autocomplete("ask", {"question": "x", "source": "004"}, "source")
        await standin.dispatch("INTERACTION_CREATE", payload)
        callback = await standin.wait_for_callback(payload)
        assert callback.json["type"] == 8
        assert [c["value"] for c in callback.json["data"]["choices"]] == ["004_f1a119c55acebd65.txt"]


async def test_unknown_source_is_refused_kindly(standin, launch):
    async with launch():
        callback, body = await ask(standin, MISSILES, opts={"source": "../../etc/passwd"})
        assert callback.json["data"]["flags"] & FLAG_EPHEMERAL
        assert "no file called" in body["content"] and "/sources" in body["content"]


async def test_mention_is_answered_with_a_reply(standin, launch):
    async with launch():
        message, request = await mention(standin, MISSILES)
        assert request.json["message_reference"]["message_id"] == int(message["id"])
        assert "48 **cruise missiles**" in all_text(request.json)
        assert request.json["allowed_mentions"] == {"parse": []}  # replied_user off too
        assert_within_limits(request.json)


async def test_reply_to_an_answer_is_a_follow_up(standin, launch):
    async with launch():
        _, first = await mention(standin, MISSILES)
        answer_id = int(first.response["id"])
        # A reply that keeps the ping, as Discord's client does by default.
        follow = standin.message_create(
            "and what about Belarus?", mentions=[BOT_USER_ID], message_reference=answer_id
        )
        await standin.dispatch("MESSAGE_CREATE", follow)
        request = await standin.wait_for_request("POST", r"/channels/{c}/messages")
        text = all_text(request.json)
        assert "following up on: How many cruise missiles" in text
        assert all("**Belarus" in embed["description"] for embed in request.json["embeds"])


async def test_question_in_the_thread_of_an_answer_is_a_follow_up(standin, launch):
    async with launch(ask_channel_ids=frozenset({SECOND_CHANNEL_ID})):  # message content: no mention needed
        _, answer = await ask(standin, MISSILES)
        answer_id = int(answer.response["id"])
        thread = start_thread(standin, answer_id, TEXT_CHANNEL_ID)
        await standin.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        message = standin.message_create("and what about Belarus?", channel_id=answer_id)
        await standin.dispatch("MESSAGE_CREATE", message)
        request = await standin.wait_for_request("POST", rf"/channels/{answer_id}/messages")
        text = all_text(request.json)
        assert "following up on: How many cruise missiles" in text and "**Belarus" in text
        # /ask in the same thread keeps the conversation going.
        _, again = await ask(standin, "and Lukashenko?", channel_id=answer_id)
        assert "following up on:" in again.json["content"]


def start_thread(standin: DiscordStandIn, message_id: int, parent_id: int) -> dict:
    """What Discord sends when a member starts a thread from a message (same id as the message)."""
    now = datetime.now(timezone.utc).isoformat()
    thread = standin.add_channel(GUILD_ID, ChannelSpec(message_id, "follow-up", type=11, parent_id=parent_id))
    thread.update(
        owner_id=str(USER_ID), message_count=0, member_count=1, total_message_sent=0,
        thread_metadata={"archived": False, "locked": False, "archive_timestamp": now, "create_timestamp": now,
                         "auto_archive_duration": 1440},
    )  # fmt: skip
    return thread


async def test_ask_channel_answers_every_message_and_other_channels_need_a_mention(standin, launch):
    async with launch(ask_channel_ids=frozenset({SECOND_CHANNEL_ID})):
        identify = await standin.wait_for_gateway(op=2)
        assert identify.d["intents"] & (1 << 15), "Message Content requested for ASK_CHANNEL_IDS"
        await standin.dispatch("MESSAGE_CREATE", standin.message_create("Who is Lukashenko?", channel_id=SECOND_CHANNEL_ID))
        request = await standin.wait_for_request("POST", rf"/channels/{SECOND_CHANNEL_ID}/messages")
        assert "Lukashenko" in all_text(request.json)
        await standin.dispatch("MESSAGE_CREATE", standin.message_create("Who is Lukashenko?", channel_id=TEXT_CHANNEL_ID))
        await standin.expect_no_request("POST", rf"/channels/{TEXT_CHANNEL_ID}/messages")


async def test_no_match_is_a_friendly_reply_not_a_random_quote(standin, launch):
    async with launch() as bot:
        _, answer = await ask(standin, "What about quantum chromodynamics?")
        assert "couldn't find" in answer.json["content"] and "/sources" in answer.json["content"]
        assert not answer.json.get("embeds") and not answer.json.get("components")
        _, request = await mention(standin, "zxqv plorf?")
        assert "couldn't find" in request.json["content"]
        assert bot.stats.no_match == 2 and [u.question for u in bot.stats.unanswered][-1] == "zxqv plorf?"


async def test_ignores_bots_itself_and_empty_messages(standin, launch):
    async with launch():
        await standin.dispatch("MESSAGE_CREATE", standin.message_create(f"<@{BOT_USER_ID}> {MISSILES}", author_id=42, author_bot=True))
        await standin.dispatch("MESSAGE_CREATE", standin.message_create(MISSILES))  # no mention, no content intent
        await standin.expect_no_request("POST", r"/channels/{c}/messages")
        # A bare mention gets a hint instead of silence.
        _, request = await mention(standin, "")
        assert "Ask me a question" in request.json["content"]


async def test_long_questions_and_fast_askers_get_friendly_refusals(standin, launch):
    async with launch(cooldown_questions=2, cooldown_seconds=600, max_question_chars=50):
        callback, body = await ask(standin, "x" * 51)
        assert callback.json["type"] == 4 and callback.json["data"]["flags"] & FLAG_EPHEMERAL
        assert "under 50" in body["content"]
        await ask(standin, MISSILES)
        await ask(standin, MISSILES)
        callback, body = await ask(standin, MISSILES)
        assert callback.json["data"]["flags"] & FLAG_EPHEMERAL and "try again in" in body["content"]
        # The same cooldown covers mentions.
        _, request = await mention(standin, MISSILES)
        assert "try again in" in request.json["content"]
        # Another member is not slowed down.
        _, other = await ask(standin, MISSILES, user_id=OWNER_ID)
        assert other.json.get("embeds")


async def test_long_passages_never_break_discord_limits(standin, launch, tmp_path):
    folder = tmp_path / "big"
    folder.mkdir()
    sentence = "The zeppelin harbour of Friedrichshafen stores {n} barrels of *oil* and_stuff for the `winter`."
    paragraph = " ".join(sentence.format(n=n) for n in range(400))  # one huge paragraph (~40k chars)
    (folder / ("very_long_file_name_" * 11 + ".txt")).write_text(paragraph + "\n\n" + "x" * 20000, encoding="utf-8")
    built = build_engine(EngineSettings(corpus_dir=folder, passage_tokens=2048))
    async with launch(built=built, engine_settings=EngineSettings(corpus_dir=folder, passage_tokens=2048)):
        _, answer = await ask(standin, "zeppelin harbour barrels winter", opts={"count": 5})
        assert answer.status == 200 and answer.json["embeds"]
        assert_within_limits(answer.json)
        assert "\\*oil\\*" in all_text(answer.json) and "and\\_stuff" in all_text(answer.json)
        _, text_answer = await ask(standin, "zeppelin harbour barrels winter", opts={"count": 5},
                                   app_permissions=without_permissions(DEFAULT_BOT_PERMISSIONS, "EMBED_LINKS"))  # fmt: skip
        assert text_answer.status == 200 and not text_answer.json.get("embeds")
        assert_within_limits(text_answer.json)
        _, request = await mention(standin, "zeppelin harbour barrels")
        assert request.status == 200
        assert_within_limits(request.json)


async def test_everyone_in_the_corpus_pings_nobody(standin, launch, tmp_path):
    folder = tmp_path / "pings"
    folder.mkdir()
    (folder / "ping.txt").write_text(
        f"Attention @everyone and @here: the walrus festival starts at noon, says <@{USER_ID}> and <@&{GUILD_ID}>.\n",
        encoding="utf-8",
    )
    built = build_engine(EngineSettings(corpus_dir=folder))
    async with launch(built=built, engine_settings=EngineSettings(corpus_dir=folder)):
        _, answer = await ask(standin, "@everyone when is the walrus festival?")
        assert "@everyone" in all_text(answer.json)
        assert answer.json["allowed_mentions"] == {"parse": []}
        _, request = await mention(standin, "walrus festival @everyone")
        assert "@everyone" in all_text(request.json)
        assert request.json["allowed_mentions"] == {"parse": []}
        _, plain = await ask(standin, "walrus festival", app_permissions=without_permissions(DEFAULT_BOT_PERMISSIONS, "EMBED_LINKS"))
        assert "@everyone" in plain.json["content"] and plain.json["allowed_mentions"] == {"parse": []}


async def test_without_embed_links_answers_are_plain_text(standin, launch):
    async with launch():
        _, answer = await ask(standin, MISSILES, app_permissions=without_permissions(DEFAULT_BOT_PERMISSIONS, "EMBED_LINKS"))
        assert not answer.json.get("embeds")
        assert "**1. 001\\_ba5d04ac19317d3f.txt** · lines 5–7" in answer.json["content"]
        assert "> " in answer.json["content"] and "**cruise missiles**" in answer.json["content"]


async def test_mentions_in_a_channel_without_embed_links_get_plain_text():
    guild = GuildSpec(bot_permissions=DEFAULT_BOT_PERMISSIONS & ~permission_bits("EMBED_LINKS"),
                      everyone_permissions=permission_bits("VIEW_CHANNEL", "SEND_MESSAGES", "READ_MESSAGE_HISTORY"))  # fmt: skip
    async with DiscordStandIn(token=TOKEN, guilds=[guild]) as server:
        with server.patch_discord():
            config = DiscordSettings(api_base=server.api_base, cooldown_questions=0)
            bot = CorpusBot(build_engine(EngineSettings(corpus_dir=SEEDS)), EngineSettings(corpus_dir=SEEDS), config,
                            guild_ready_timeout=0.05)  # fmt: skip
            async with run_client(bot, server, token=TOKEN):
                _, request = await mention(server, MISSILES)
                assert not request.json.get("embeds")
                assert "**cruise missiles**" in request.json["content"]
    assert_safe_traffic(server)


# --------------------------------------------------------------------------------------------
# Buttons
# --------------------------------------------------------------------------------------------
async def test_more_shows_the_next_passages(standin, launch):
    async with launch():
        _, answer = await ask(standin, "Belarus", opts={"count": 1})
        first_title = answer.json["embeds"][0]["title"]
        payload = await click(standin, custom_ids(answer.json)["more"])
        callback, more = await reply_to(standin, payload)
        assert callback.json["type"] == 5 and callback.json["data"]["flags"] & FLAG_EPHEMERAL
        assert more.json["embeds"][0]["title"].startswith("2. ")
        assert more.json["embeds"][0]["description"] != answer.json["embeds"][0]["description"]
        assert first_title.startswith("1. ")


async def test_full_article_sends_the_indexed_file_privately(standin, launch):
    async with launch():
        _, answer = await ask(standin, MISSILES)
        payload = await click(standin, custom_ids(answer.json)["full"])
        callback, sent = await reply_to(standin, payload)
        assert callback.json["data"]["flags"] & FLAG_EPHEMERAL
        sources = {embed["title"].split(". ", 1)[1].replace("\\_", "_") for embed in answer.json["embeds"]}
        assert {f.filename for f in sent.files} == sources
        for f in sent.files:
            assert f.data == (SEEDS / f.filename).read_bytes()


@pytest.mark.parametrize("custom_id", ["answer:full:../../etc/passwd", "answer:full:AAAAAAAAAAAA", "answer:more:", "answer:x:y"])
async def test_tampered_or_expired_buttons_are_refused(standin, launch, custom_id):
    async with launch():
        _, answer = await ask(standin, MISSILES)
        real = custom_ids(answer.json)["full"]
        message = dict(standin.messages[int(answer.response["id"])])
        message["components"] = [{"type": 1, "components": [{"type": 2, "style": 2, "label": "x", "custom_id": custom_id}]}]
        payload = standin.interaction_create_component(custom_id, message=message)
        await standin.dispatch("INTERACTION_CREATE", payload)
        callback = await standin.wait_for_callback(payload)
        assert callback.json["type"] == 4 and callback.json["data"]["flags"] & FLAG_EPHEMERAL
        assert "expired" in callback.json["data"]["content"]
        assert not callback.files
        assert real != custom_id


async def test_feedback_is_logged_without_user_ids(standin, launch, tmp_path):
    async with launch():
        _, answer = await ask(standin, MISSILES)
        callback, _ = await reply_to(standin, await click(standin, custom_ids(answer.json)["up"]))
        assert callback.json["data"]["flags"] & FLAG_EPHEMERAL and "Thanks" in callback.json["data"]["content"]
        callback, _ = await reply_to(standin, await click(standin, custom_ids(answer.json)["down"]))
        assert "already" in callback.json["data"]["content"]
        await reply_to(standin, await click(standin, custom_ids(answer.json)["down"], user_id=OWNER_ID))
    text = (tmp_path / "feedback.jsonl").read_text(encoding="utf-8")
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line["vote"] for line in lines] == ["up", "down"]
    assert lines[0]["question"] == MISSILES and lines[0]["sources"][0] == "001_ba5d04ac19317d3f.txt"
    assert all(sorted(line) == ["question", "sources", "timestamp", "vote"] for line in lines)
    for user in (USER_ID, OWNER_ID):
        assert str(user) not in text


# --------------------------------------------------------------------------------------------
# Moderators
# --------------------------------------------------------------------------------------------
async def test_reload_by_a_moderator_reports_what_changed(standin, launch, corpus_copy):
    settings = EngineSettings(corpus_dir=corpus_copy)
    async with launch(built=build_engine(settings), engine_settings=settings) as bot:
        (corpus_copy / "new_article.txt").write_text("Penguins were seen marching in Antarctica.\n", encoding="utf-8")
        (corpus_copy / "000_7445f231c51ad640.txt").unlink()
        with (corpus_copy / "001_ba5d04ac19317d3f.txt").open("a", encoding="utf-8") as handle:
            handle.write("\nA new closing paragraph about the weather.\n")
        (corpus_copy / "blob.txt").write_bytes(b"\x00\x01binary")
        callback, report = await reply_to(standin, await slash(standin, "reload", user_id=OWNER_ID))
        assert callback.json["data"]["flags"] & FLAG_EPHEMERAL
        text = report.json["content"]
        assert "Index reloaded" in text
        assert "**Added (1):** `new_article.txt`" in text
        assert "**Removed (1):** `000_7445f231c51ad640.txt`" in text
        assert "**Changed (1):** `001_ba5d04ac19317d3f.txt`" in text
        assert "`blob.txt`: binary file" in text and "passages" in text
        _, answer = await ask(standin, "Where were penguins marching?")
        assert "new\\_article.txt" in answer.json["embeds"][0]["title"]
        assert bot.corpus.last_reload.by == "owner"


async def test_reload_by_a_mod_role_is_allowed(standin, launch, corpus_copy):
    settings = EngineSettings(corpus_dir=corpus_copy)
    standin.roles[GUILD_ID][MOD_ROLE_ID] = standin._role_payload(RoleSpec(MOD_ROLE_ID, "mods"))
    async with launch(built=build_engine(settings), engine_settings=settings, mod_role_ids=frozenset({MOD_ROLE_ID})):
        _, report = await reply_to(standin, await slash(standin, "reload", roles=[MOD_ROLE_ID]))
        assert "Index reloaded" in report.json["content"]


async def test_reload_by_a_plain_member_is_refused(standin, launch):
    async with launch() as bot:
        generation = bot.corpus.generation
        callback, body = await reply_to(standin, await slash(standin, "reload"))
        assert callback.json["type"] == 4 and callback.json["data"]["flags"] & FLAG_EPHEMERAL
        assert "Only moderators" in body["content"]
        assert bot.corpus.generation == generation
        _, body = await reply_to(standin, await slash(standin, "stats"))
        assert "Only moderators" in body["content"]


async def test_failed_reload_keeps_answering_and_tells_the_moderator_why(standin, launch, corpus_copy):
    settings = EngineSettings(corpus_dir=corpus_copy)
    async with launch(built=build_engine(settings), engine_settings=settings):
        shutil.rmtree(corpus_copy)
        _, report = await reply_to(standin, await slash(standin, "reload", user_id=OWNER_ID))
        text = report.json["content"]
        assert "Reload failed" in text and "previous index is still answering" in text and "does not exist" in text
        _, answer = await ask(standin, MISSILES)
        assert "48 **cruise missiles**" in all_text(answer.json)


async def test_questions_are_answered_while_a_reload_runs(standin, launch, corpus_copy):
    settings = EngineSettings(corpus_dir=corpus_copy)
    started, release = threading.Event(), threading.Event()

    def slow_build(engine_settings):
        started.set()
        assert release.wait(20)
        return build_engine(engine_settings)

    async with launch(built=build_engine(settings), engine_settings=settings, builder=slow_build) as bot:
        reload_payload = await slash(standin, "reload", user_id=OWNER_ID)
        await standin.wait_for_callback(reload_payload)  # deferred
        await asyncio.to_thread(started.wait, 20)
        for _ in range(3):
            _, answer = await ask(standin, MISSILES)
            assert "48 **cruise missiles**" in all_text(answer.json)
        _, second = await reply_to(standin, await slash(standin, "reload", user_id=OWNER_ID))
        assert "already running" in second["content"]
        assert bot.corpus.reloading
        release.set()
        report = await standin.wait_for_request("POST", "/webhooks/{a}/{t}", predicate=lambda r: reload_payload["token"] in r.path)
        assert "Index reloaded" in report.json["content"]
        assert bot.corpus.generation == 2


async def test_stats_sources_and_help(standin, launch):
    async with launch():
        await ask(standin, MISSILES)
        await ask(standin, "What about quantum chromodynamics?")
        _, stats = await reply_to(standin, await slash(standin, "stats", user_id=OWNER_ID))
        text = stats["content"]
        assert "Questions: 2 — 1 answered, 1 without a match (50% no-match rate)" in text
        assert "quantum chromodynamics" in text and "Latency: p50" in text and "5 articles" in text
        _, sources = await reply_to(standin, await slash(standin, "sources"))
        assert "5 files" in sources["content"] and "`004_f1a119c55acebd65.txt`" in sources["content"]
        listed = sum(int(n) for n in re.findall(r"— (\d+) passages?$", sources["content"], re.MULTILINE))
        assert f"5 files, {listed} passages" in sources["content"]  # the header's total is the files' sum
        _, help_ = await reply_to(standin, await slash(standin, "help"))
        assert "/ask" in help_["content"]


async def test_errors_reach_the_member_briefly_and_the_log_in_full(standin, launch, caplog):
    async with launch() as bot:

        async def broken(*args, **kwargs):
            raise RuntimeError("engine exploded")

        bot.run_engine = broken
        _, body = await ask(standin, MISSILES)
        assert "something went wrong" in body.json["content"] and body.json["flags"] & FLAG_EPHEMERAL
        _, request = await mention(standin, MISSILES)
        assert "something went wrong" in request.json["content"]
    assert "engine exploded" in caplog.text and "Traceback" in caplog.text


# --------------------------------------------------------------------------------------------
# The whole suite's traffic
# --------------------------------------------------------------------------------------------
def test_every_message_of_the_suite_pinged_nobody():
    """Runs last in this module: the bodies collected from every test above (each also checked
    as its test ended) all carry allowed_mentions parse=[]."""
    if not SEEN_MESSAGE_BODIES:
        pytest.skip("run together with the end-to-end tests above")
    assert len(SEEN_MESSAGE_BODIES) > 50
    for body in SEEN_MESSAGE_BODIES:
        assert_no_pings(body)
