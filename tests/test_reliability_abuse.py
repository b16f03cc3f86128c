"""Abuse and permissions: who may reload, what a forged interaction or button can reach, that no
message can ping anyone, and that the token appears nowhere but the Authorization header.

Every request of every test here is also checked by the ``standin`` fixture (allowed_mentions
empty, no token outside the Authorization header).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import shutil
import subprocess
import sys

import pytest

from bot.build import build_engine
from bot.config import EngineSettings, Settings, SettingsError, load_discord_settings

from .conftest import ROOT, SEEDS
from .discord_helpers import (  # noqa: F401  (fixtures are used by name)
    FLAG_EPHEMERAL,
    MISSILES,
    MOD_ROLE_ID,
    TOKEN,
    all_text,
    ask,
    assert_no_pings,
    click,
    corpus_copy,
    custom_ids,
    fast_discord_retries,
    final_reply,
    launch,
    mention_payload,
    reply_to,
    reply_to_message,
    slash,
    standin,
    wait_for_log,
)
from .discord_standin import (
    GUILD_ID,
    OWNER_ID,
    USER_ID,
    DiscordStandIn,
    RoleSpec,
    permission_bits,
)

OTHER_USER = 1_200_000_000_000_000_399
NOT_YOURS = "belong to an answer shown only to someone else"


# --------------------------------------------------------------------------------------------
# /reload and /stats: moderators only, checked on every use
# --------------------------------------------------------------------------------------------
FORGED_RELOADS = {
    "plain-member": dict(),
    "manage-messages-kick-ban-but-not-manage-server": dict(
        member_permissions=str(permission_bits("MANAGE_MESSAGES", "KICK_MEMBERS", "BAN_MEMBERS", "MANAGE_ROLES"))
    ),
    "unknown-role-claimed": dict(roles=[987_654_321_987_654_321]),
    "from-a-dm": dict(guild_id=None, channel_id=1_200_000_000_000_000_777),
    "owner-id-in-a-dm": dict(user_id=OWNER_ID, guild_id=None, channel_id=1_200_000_000_000_000_778),
    "extra-forged-options": dict(options={"force": True, "path": "/etc"}),
    "as-a-global-command": dict(command_guild_id=None),
}


@pytest.mark.parametrize("forged", FORGED_RELOADS.values(), ids=FORGED_RELOADS.keys())
async def test_reload_and_stats_are_refused_to_non_moderators_and_logged(standin, launch, caplog, forged):
    forged = dict(forged)
    options = forged.pop("options", None)
    standin.roles[GUILD_ID][MOD_ROLE_ID] = standin._role_payload(RoleSpec(MOD_ROLE_ID, "mods"))
    async with launch(mod_role_ids=frozenset({MOD_ROLE_ID})) as bot:
        generation = bot.corpus.generation
        for command in ("reload", "stats"):
            payload = standin.interaction_create_slash(command, options, **forged)
            await standin.dispatch("INTERACTION_CREATE", payload)
            callback, body = await reply_to(standin, payload)
            assert callback.json["type"] == 4 and body["flags"] & FLAG_EPHEMERAL
            assert "Only moderators" in body["content"] or "only works in a server" in body["content"], body
            await wait_for_log(caplog, f"Refused /{command} to user {forged.get('user_id', USER_ID)}")
        assert bot.corpus.generation == generation and not bot.corpus.reloading
        assert "Traceback" not in caplog.text


async def test_a_forged_unknown_command_gets_a_short_answer_not_a_traceback(standin, launch, caplog):
    async with launch():
        for name in ("reload2", "admin", "../reload"):
            payload = standin.interaction_create_slash(name, {"x": 1})
            await standin.dispatch("INTERACTION_CREATE", payload)
            body = await final_reply(standin, payload)
            assert "out of date or unknown" in body["content"] and body["flags"] & FLAG_EPHEMERAL
        assert "Traceback" not in caplog.text and "Refused /reload2" in caplog.text


async def test_moderators_are_still_allowed(standin, launch, caplog):
    standin.roles[GUILD_ID][MOD_ROLE_ID] = standin._role_payload(RoleSpec(MOD_ROLE_ID, "mods"))
    async with launch(mod_role_ids=frozenset({MOD_ROLE_ID})) as bot:
        for forged in (dict(user_id=OWNER_ID), dict(roles=[MOD_ROLE_ID]),
                       dict(member_permissions=str(permission_bits("MANAGE_GUILD"))),
                       dict(member_permissions=str(permission_bits("ADMINISTRATOR")))):  # fmt: skip
            body = await final_reply(standin, await slash(standin, "reload", **forged), timeout=10)
            assert "Index reloaded" in body["content"]
        assert bot.corpus.generation == 5


@pytest.mark.parametrize("options", [
    {"question": MISSILES, "count": 999},
    {"question": MISSILES, "count": -5},
    {"question": MISSILES, "count": 0},
    {"question": 12345},
    {"question": MISSILES, "source": "../../../etc/passwd"},
    {"question": MISSILES, "source": "/etc/passwd"},
    {"question": MISSILES, "source": "001_ba5d04ac19317d3f.txt/../../../../etc/passwd"},
], ids=["count-999", "count-negative", "count-zero", "question-is-a-number", "source-traversal", "source-absolute",
        "source-indexed-then-traversal"])  # fmt: skip
async def test_forged_ask_options_are_handled(standin, launch, caplog, options):
    async with launch():
        payload = await slash(standin, "ask", options)
        body = await final_reply(standin, payload)
        text = all_text(body)
        assert "something went wrong" not in text and "Traceback" not in caplog.text
        assert len(body.get("embeds") or []) <= 5, "never more than /ask's own maximum of passages"
        assert "root:" not in text  # no /etc/passwd content
        if "source" in options:
            assert "no file called" in text and body["flags"] & FLAG_EPHEMERAL
        elif "count" in options:
            assert "48 **cruise missiles**" in text, "an out-of-range count is brought back in range"


async def test_source_autocomplete_only_offers_indexed_files(standin, launch):
    async with launch():
        for typed in ("../", "/etc", "..%2f", "*", ""):
            payload = standin.interaction_create_autocomplete("ask", {"question": "x", "source": typed}, "source")
            await standin.dispatch("INTERACTION_CREATE", payload)
            callback = await standin.wait_for_callback(payload)
            values = [c["value"] for c in callback.json["data"]["choices"]]
            assert all((SEEDS / v).is_file() and "/" not in v for v in values), values


# --------------------------------------------------------------------------------------------
# Buttons: a custom_id carries only a random key; private answers' buttons work for their owner
# --------------------------------------------------------------------------------------------
async def forged_click(standin: DiscordStandIn, custom_id: str, *, user_id: int, channel_id: int | None = None):
    """A click on a button with ``custom_id``, on a public message that shows it (the member may
    have copied the id from anywhere)."""
    message = standin.message_create("look", author_id=standin.bot_user_id)
    message["components"] = [{"type": 1, "components": [{"type": 2, "style": 2, "label": "x", "custom_id": custom_id}]}]
    payload = standin.interaction_create_component(custom_id, message=message, user_id=user_id, channel_id=channel_id)
    await standin.dispatch("INTERACTION_CREATE", payload)
    return await final_reply(standin, payload)


async def test_buttons_of_a_private_more_answer_work_for_its_owner_only(standin, launch):
    async with launch():
        _, answer = await ask(standin, "Belarus", opts={"count": 1})
        more = await reply_to(standin, await click(standin, custom_ids(answer.json)["more"]))
        private = more[1].json
        assert private["flags"] & FLAG_EPHEMERAL and private["embeds"]
        for action, custom_id in custom_ids(private).items():
            body = await forged_click(standin, custom_id, user_id=OTHER_USER)
            assert NOT_YOURS in body["content"] and not body.get("embeds") and not body.get("attachments"), action
            assert body["flags"] & FLAG_EPHEMERAL
        # The owner still can.
        body = await forged_click(standin, custom_ids(private)["full"], user_id=USER_ID)
        assert "full article" in body["content"]


async def test_buttons_of_a_dm_answer_work_for_its_owner_only(standin, launch):
    async with launch():
        channel = standin.dm_channel(USER_ID)
        message = standin.message_create(MISSILES, channel_id=channel, guild_id=None)
        await standin.dispatch("MESSAGE_CREATE", message)
        answer = (await reply_to_message(standin, message)).json
        body = await forged_click(standin, custom_ids(answer)["full"], user_id=OTHER_USER)
        assert NOT_YOURS in body["content"]
        body = await forged_click(standin, custom_ids(answer)["more"] if "more" in custom_ids(answer)
                                  else custom_ids(answer)["up"], user_id=OTHER_USER)  # fmt: skip
        assert NOT_YOURS in body["content"]


async def test_public_answers_buttons_cannot_be_bent_to_other_files(standin, launch):
    async with launch():
        _, answer = await ask(standin, MISSILES)
        key = custom_ids(answer.json)["full"].split(":", 2)[2]
        for custom_id in (f"answer:full:{key}/../../../etc/passwd", f"answer:full:{key}x", f"answer:full:{key}:seeds/x.txt",
                          f"answer:admin:{key}", f"answer:delete:{key}", f"answer::{key}", "answer:full:" + "A" * 90,
                          f"answer:full:{key[:-1]}"):  # fmt: skip
            body = await forged_click(standin, custom_id, user_id=OTHER_USER)
            assert "expired" in body["content"] and not body.get("attachments"), custom_id
        # The genuine one sends only the quoted, indexed file.
        body = await forged_click(standin, f"answer:full:{key}", user_id=OTHER_USER)
        request = standin.find_requests("POST", "/webhooks/{a}/{t}")[-1]
        assert request.filenames == ["001_ba5d04ac19317d3f.txt"]


# --------------------------------------------------------------------------------------------
# No message can ping anyone, whatever the corpus, the file names and the questions hold
# --------------------------------------------------------------------------------------------
async def test_nothing_the_bot_sends_can_ping_even_with_mentions_everywhere(standin, launch, tmp_path):
    folder = tmp_path / "pings"
    folder.mkdir()
    ping = f"@everyone @here <@{USER_ID}> <@!{OWNER_ID}> <@&{GUILD_ID}> <@&{MOD_ROLE_ID}>"
    (folder / f"{ping}.txt").write_text(f"The walrus festival: {ping} come at noon.\n", encoding="utf-8")
    (folder / "@everyone.md").write_text(f"# @here\nThe narwhal parade {ping}.\n", encoding="utf-8")
    settings = EngineSettings(corpus_dir=folder)
    async with launch(built=build_engine(settings), engine_settings=settings, mod_role_ids=frozenset({MOD_ROLE_ID})):
        mark = standin.mark()
        await ask(standin, f"{ping} walrus festival")
        await ask(standin, f"{ping} walrus festival", app_permissions=str(permission_bits("SEND_MESSAGES")))
        await ask(standin, f"{ping} zzzqqq nothing matches")
        message = mention_payload(standin, f"{ping} narwhal parade")
        await standin.dispatch("MESSAGE_CREATE", message)
        await reply_to_message(standin, message)
        for command in ("sources", "help"):
            await final_reply(standin, await slash(standin, command))
        (folder / f"new {ping}.txt").write_text("Another walrus.\n", encoding="utf-8")
        for command in ("reload", "stats"):
            await final_reply(standin, await slash(standin, command, user_id=OWNER_ID))
        _, answer = await ask(standin, "walrus festival")
        await reply_to(standin, await click(standin, custom_ids(answer.json)["full"]))
        bodies = 0
        for request in standin.find_requests("POST", after=mark) + standin.find_requests("PATCH", after=mark):
            body = request.json if not request.path.endswith("/callback") else (request.json or {}).get("data")
            if isinstance(body, dict) and ("content" in body or "embeds" in body):
                assert_no_pings(body)
                bodies += 1
        assert bodies >= 10
        for stored in standin.messages.values():
            if stored["author"]["id"] == str(standin.bot_user_id):
                assert not stored["mention_everyone"], stored


async def test_questions_full_of_new_words_cannot_grow_memory_without_bound(standin, launch, caplog, monkeypatch):
    """The analyzer memoizes every word it sees (~340 B each, up to 2^20); the bot clears its memos
    once questions have added MAX_MEMO_GROWTH entries to them."""
    from bot.discord import index as index_module

    monkeypatch.setattr(index_module, "MAX_MEMO_GROWTH", 200)
    settings = EngineSettings(corpus_dir=SEEDS)
    rng = random.Random(1)
    async with launch(built=build_engine(settings), engine_settings=settings) as bot:
        baseline = bot.corpus.memo_entries()
        assert baseline > 0, "the analyzer's memos are where the bot looks for them"
        for _ in range(12):
            words = " ".join("".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(9)) for _ in range(40))
            await final_reply(standin, await slash(standin, "ask", {"question": words}))
            assert bot.corpus.memo_entries() <= baseline + 200 + 2 * 40
        _, answer = await ask(standin, MISSILES)  # still answers, from cold memos
        assert "48 **cruise missiles**" in all_text(answer.json)
    assert "Clearing the analyzer's memos" in caplog.text


# --------------------------------------------------------------------------------------------
# The token: nowhere but the Authorization header
# --------------------------------------------------------------------------------------------
async def test_the_token_never_reaches_logs_errors_or_replies(standin, launch, caplog, capfd, corpus_copy):
    caplog.set_level(logging.DEBUG)
    settings = EngineSettings(corpus_dir=corpus_copy)
    with fast_discord_retries():
        async with launch(built=build_engine(settings), engine_settings=settings) as bot:
            await ask(standin, MISSILES)
            await final_reply(standin, await slash(standin, "reload"))  # refused
            shutil.rmtree(corpus_copy)
            await final_reply(standin, await slash(standin, "reload", user_id=OWNER_ID))  # fails
            standin.fail_next("POST", r"/channels/{c}/messages", 500, count=5)  # gives up
            message = mention_payload(standin, MISSILES)
            await standin.dispatch("MESSAGE_CREATE", message)
            await wait_for_log(caplog, "Sending the answer to message")

            async def broken(*args, **kwargs):
                raise RuntimeError("engine exploded")

            bot.run_engine = broken
            await ask(standin, MISSILES)
            await final_reply(standin, await slash(standin, "stats", user_id=OWNER_ID))
            assert TOKEN not in repr(bot.config) and TOKEN not in repr(Settings(discord_token=TOKEN))
    out, err = capfd.readouterr()
    assert "engine exploded" in caplog.text and "Traceback" in caplog.text  # the errors were logged ...
    for where, text in {"log": caplog.text, "stdout": out, "stderr": err}.items():
        assert TOKEN not in text, where  # ... without the token
    assert not standin.token_leaks()  # requests (paths, queries, headers, bodies) and gateway frames
    for request in standin.requests:
        assert TOKEN not in str(request.response)


async def test_the_real_entry_point_never_prints_the_token(tmp_path):
    """``python -m bot run`` at LOG_LEVEL=DEBUG against the stand-in, with a token it rejects,
    and with a bad setting: the token is in neither output."""
    async with DiscordStandIn(token=TOKEN) as standin:
        await run_the_entry_point(standin, tmp_path)


async def run_the_entry_point(standin: DiscordStandIn, tmp_path) -> None:
    secret = "MTE5OTk5.subprocess-secret-do-not-print"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), "HOME": str(tmp_path),
        "DISCORD_TOKEN": secret, "DISCORD_API_BASE": standin.api_base, "LOG_LEVEL": "DEBUG",
        "CORPUS_DIR": str(SEEDS), "FEEDBACK_LOG": str(tmp_path / "f.jsonl"),
    }  # fmt: skip

    async def run(extra: dict) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=tmp_path, env={**env, **extra},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await asyncio.wait_for(process.communicate(), 60)
        return process.returncode, output.decode("utf-8", "replace")

    code, output = await run({})
    assert code == 1 and "rejected DISCORD_TOKEN" in output, output
    assert secret not in output
    assert any(r.authorization == f"Bot {secret}" for r in standin.requests)  # it was sent ...
    assert not standin.token_leaks(secret)  # ... only there
    code, output = await run({"COOLDOWN_SECONDS": "soon", "DISCORD_TOKEN": secret})
    assert code == 2 and "COOLDOWN_SECONDS" in output and secret not in output


def test_settings_errors_never_show_the_token(monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    for name, bad in (("COOLDOWN_SECONDS", "soon"), ("SHARD_IDS", "1,x"), ("DISCORD_API_BASE", "ftp://x"), ("LOG_LEVEL", "loud")):
        monkeypatch.setenv(name, bad)
        with pytest.raises(SettingsError) as error:
            load_discord_settings()
        assert name in str(error.value) and TOKEN not in str(error.value)
        monkeypatch.delenv(name)


def test_dot_env_is_git_ignored():
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    result = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT)
    assert result.returncode == 0, ".env must be ignored by git"
    example = subprocess.run(["git", "check-ignore", "-q", ".env.example"], cwd=ROOT)
    assert example.returncode == 1, ".env.example must stay tracked"


def test_interaction_tokens_in_discord_py_debug_lines_are_redacted():
    from bot.discord.runner import RedactSecrets

    url = "http://127.0.0.1/api/v10/webhooks/1200/aW50ZXJhY3Rpb246secret_interaction-token/messages/@original"
    record = logging.LogRecord("discord.webhook", logging.DEBUG, __file__, 1, "Webhook ID %s with POST %s has returned 200",
                               ("1200", url), None)  # fmt: skip
    assert RedactSecrets(TOKEN).filter(record)
    assert "secret_interaction-token" not in record.getMessage()
    assert "/webhooks/1200/[token]/messages/@original" in record.getMessage()
    callback = logging.LogRecord("x", logging.DEBUG, __file__, 1, "POST /interactions/55/tok.en-x/callback", (), None)
    RedactSecrets().filter(callback)
    assert callback.getMessage() == "POST /interactions/55/[token]/callback"
