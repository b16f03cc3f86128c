"""Bad questions, through every way of asking: /ask, a mention, and the command line.

One table of hostile, odd and broken questions; each runs through the three paths, and each must
get a clear reply within Discord's limits (or, on the command line, one well-formed answer), with
nothing pinged, no traceback and no file path outside the corpus. The Discord paths share one bot
(one stand-in for the module) so the ~150 cases stay fast; every request is checked.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from dataclasses import dataclass

import pytest
import pytest_asyncio

from bot import cli
from bot.discord import render
from bot.formatting import answer_to_json, format_answer_for_terminal

from .conftest import ROOT, SEEDS
from .discord_helpers import (
    all_text,
    assert_no_pings,
    assert_safe_since,
    assert_within_limits,
    final_reply,
    mention_payload,
    reply_to_message,
    serve,
)
from .discord_standin import BOT_USER_ID, GUILD_ID, SECOND_CHANNEL_ID, TEXT_CHANNEL_ID, USER_ID

in_module_loop = pytest.mark.asyncio(loop_scope="module")

MAX_CHARS = 500  # the bot's MAX_QUESTION_CHARS default


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    expect: str = "reply"  # "reply" (an answer or a no-match), "hint" (nothing to ask), "too_long"
    raw_must_not_echo: tuple[str, ...] = ()  # Markdown that must come back escaped, never live


CASES = [
    Case("empty", "", "hint"),
    Case("whitespace", " \t  \u3000 ", "hint"),
    Case("newlines", "\n\n\r\n", "hint"),
    Case("single-letter", "a"),
    Case("single-question-mark", "?"),
    Case("single-digit", "7"),
    Case("over-4000-chars", "How many cruise missiles did Russia launch? " * 100, "too_long"),
    Case("just-over-the-limit", "m" * (MAX_CHARS + 1), "too_long"),
    Case("only-stopwords", "what is the and of to it was were be"),
    Case("only-punctuation", "?!.,;:-—()[]{}<>\"'`~^°§"),
    Case("emoji", "🚀🔥💣 missiles? 🇺🇦"),
    Case("emoji-zwj-sequence", "👨‍👩‍👧‍👦👩🏽‍🚀"),
    Case("zero-width-only", "\u200b\u200c\u200d\u2060\ufeff"),
    Case("zero-width-inside-words", "cruise mis\u200bsiles Rus\u200dsia"),
    Case("control-characters", "\x00\x01\x07\x08 missiles \x1b[31mred\x1b[0m \x7f"),
    Case("arabic-rtl", "كم عدد صواريخ كروز التي أطلقتها روسيا؟"),
    Case("hebrew-rtl", "כמה טילי שיוט שיגרה רוסיה?"),
    Case("rtl-override", "\u202eseliss\u202c im \u202bRussia\u202c \u2067x\u2069"),
    Case("chinese", "俄罗斯发射了多少枚巡航导弹？"),
    Case("japanese", "ロシアは何発の巡航ミサイルを発射しましたか"),
    Case("korean", "러시아는 순항 미사일을 몇 발 발사했습니까?"),
    Case("cyrillic", "Сколько крылатых ракет запустила Россия?"),
    Case("hindi-combining-marks", "रूस ने कितनी क्रूज़ मिसाइलें दागीं?"),
    Case("thai", "รัสเซียยิงขีปนาวุธร่อนกี่ลูก"),
    Case("zalgo", "m̸̢̛i̴̡s̵̨s̶̢i̷̛l̸̨e̵̡s̴̢ R̷u̶s̸s̷i̵a̴"),
    Case("markdown", "**bold** __under__ *it* ~~strike~~ # heading > quote - list", raw_must_not_echo=("**bold**", "~~strike~~")),
    Case("code-fence", "```py\nimport os; os.system('rm -rf /')\n``` missiles", raw_must_not_echo=("```",)),
    Case("inline-code-and-links", "`missiles` [click me](https://evil.example) <https://x.example>", raw_must_not_echo=("[click me](",)),
    Case("spoiler", "||cruise missiles|| ||Russia||", raw_must_not_echo=("||cruise",)),
    Case("everyone", "@everyone how many cruise missiles did Russia launch?"),
    Case("here", "@here @everyone missiles"),
    Case("user-mention", f"<@{USER_ID}> <@!{USER_ID}> missiles"),
    Case("role-mention", f"<@&{GUILD_ID}> <@&123456789012345678> missiles"),
    Case("channel-mention", f"<#{TEXT_CHANNEL_ID}> <#{SECOND_CHANNEL_ID}> missiles"),
    Case("custom-emoji", "<:pepe:123456789012345678> <a:dance:876543210987654321> missiles"),
    Case("timestamp-and-slash", "<t:0:R> </reload:1234567890> /reload missiles"),
    Case("urls", "https://example.com/missiles?x=1&y=../../etc/passwd#frag www.example.org"),
    Case("sql", "'; DROP TABLE passages; -- \" OR 1=1 UNION SELECT * FROM users"),
    Case("path-traversal", "../../etc/passwd"),
    Case("windows-path", "..\\..\\windows\\system32\\config\\sam C:\\boot.ini"),
    Case("absolute-paths", "/etc/shadow /proc/self/environ ~/.ssh/id_rsa .env"),
    Case("format-strings", "{0} {question} {__class__} %s %d %(token)s {{}} %n %x"),
    Case("template-injection", "{{7*7}} ${7*7} #{7*7} {__import__('os').system('id')}"),
    Case("html-script", "<script>alert(1)</script><img src=x onerror=alert(1)>"),
    Case("very-long-word", "x" * 400),
    Case("long-word-over-limit", "Pneumonoultramicroscopicsilicovolcanoconiosis" * 100, "too_long"),
    Case("numbers-only", "48 2022 400,000 3.5 -1 0x1F 1e9"),
    Case("huge-number", "9" * 400),
    Case("many-question-marks", "?" * 480),
    Case("tabs-and-newlines-inside", "How\nmany\tcruise\r\nmissiles   did Russia\vlaunch?"),
    Case("mixed-scripts", "Zelenskyy Зеленський 泽连斯基 Zełenski missiles"),
    Case("fullwidth-and-math", "ＭＩＳＳＩＬＥＳ 𝓜𝓲𝓼𝓼𝓲𝓵𝓮𝓼 ﬁre"),
    Case("null-bytes", "\x00" * 100),
]

IDS = [case.id for case in CASES]
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+")
# Paths the bot must never show: its own files, Python's, the system's (the question echo aside).
FORBIDDEN_PATHS = (str(ROOT), str(SEEDS), "site-packages", "/usr/lib/python", ".pyenv")


def test_the_table_has_at_least_40_cases():
    assert len(CASES) >= 40 and len(set(IDS)) == len(IDS)


# --------------------------------------------------------------------------------------------
# Discord: one stand-in and one bot for the whole module
# --------------------------------------------------------------------------------------------
@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(seeds_built, tmp_path_factory):
    async with serve(seeds_built, tmp_path_factory.mktemp("input")) as running:
        yield running


@pytest.fixture
def checked(world):
    """Every request a test made is checked when it ends, like the ``standin`` fixture does."""
    server, _, _ = world
    mark = server.mark()
    yield world
    assert_safe_since(server, mark)


def check_discord_reply(body: dict, case: Case, bot, logs_before: int, logs) -> None:
    assert body.get("content") or body.get("embeds"), f"empty reply: {body}"
    assert_within_limits(body)
    assert_no_pings(body)
    assert body["allowed_mentions"] == {"parse": []}
    assert not body.get("attachments"), "no file is attached to an answer"
    text = all_text(body)
    assert not TRACEBACK.search(text), text
    for forbidden in FORBIDDEN_PATHS:
        assert forbidden not in text, f"{forbidden!r} leaked in {text!r}"
    assert "something went wrong" not in text, text
    sources = set(bot.corpus.sources())
    for embed in body.get("embeds") or []:
        cited = embed["title"].split(". ", 1)[1].replace("\\", "")
        assert cited in sources, cited
    for raw in case.raw_must_not_echo:
        assert not re.search(r"(?<!\\)" + re.escape(raw), text), f"live Markdown {raw!r} echoed in {text!r}"
    # The question is echoed, but a link in it is never previewed (Discord would fetch it).
    assert not re.search(r"(?<!<)https?://", body.get("content") or ""), body.get("content")
    if case.expect == "hint":
        assert "Ask me a question" in text
    elif case.expect == "too_long":
        assert f"keep it under {MAX_CHARS:,}" in text
    else:
        assert body.get("embeds") or "couldn't find an answer" in text, text
    errors = [r for r in logs.records[logs_before:] if r.levelname in ("ERROR", "CRITICAL")]
    assert not errors, [r.getMessage() for r in errors]


@in_module_loop
@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_slash_ask(checked, case):
    server, bot, logs = checked
    before = len(logs.records)
    payload = server.interaction_create_slash("ask", {"question": case.text})
    await server.dispatch("INTERACTION_CREATE", payload)
    body = await final_reply(server, payload)
    check_discord_reply(body, case, bot, before, logs)
    if case.expect != "reply":
        assert body["flags"] & (1 << 6), "refusals are ephemeral"


@in_module_loop
@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_mention(checked, case):
    server, bot, logs = checked
    before = len(logs.records)
    message = mention_payload(server, case.text)
    await server.dispatch("MESSAGE_CREATE", message)
    request = await reply_to_message(server, message)
    assert request.status == 200
    check_discord_reply(request.json, case, bot, before, logs)


@in_module_loop
async def test_direct_message_with_every_case_in_a_row(checked):
    """A DM is a question without any mention: the same table, one member, one channel."""
    server, bot, logs = checked
    channel = server.dm_channel(USER_ID)
    for case in CASES:
        if case.expect == "hint":
            continue  # an empty DM is ignored (it would be an attachment-only message)
        before = len(logs.records)
        message = server.message_create(case.text, channel_id=channel, guild_id=None)
        await server.dispatch("MESSAGE_CREATE", message)
        request = await reply_to_message(server, message)
        check_discord_reply(request.json, case, bot, before, logs)


@in_module_loop
async def test_the_bot_ignores_its_own_name_in_a_question(checked):
    server, bot, logs = checked
    before = len(logs.records)
    message = mention_payload(server, f"<@{BOT_USER_ID}> <@!{BOT_USER_ID}>")
    await server.dispatch("MESSAGE_CREATE", message)
    request = await reply_to_message(server, message)
    check_discord_reply(request.json, Case("bare", "", "hint"), bot, before, logs)


# --------------------------------------------------------------------------------------------
# The command line: the same table through `ask` (terminal and JSON), in process ...
# --------------------------------------------------------------------------------------------
def check_cli_output(out: str, err: str, case: Case, as_json: bool) -> None:
    assert not TRACEBACK.search(out + err), err
    assert err == ""
    for forbidden in FORBIDDEN_PATHS:
        assert forbidden not in out
    if as_json:
        lines = out.splitlines()
        assert len(lines) == 1, lines
        answer = json.loads(lines[0])
        assert answer["question"] == case.text
        assert answer["results"] or answer["no_match"]
        for result in answer["results"]:
            assert (SEEDS / result["source"]).is_file()
    else:
        assert out.endswith("\n\n")
        assert out.startswith("[1] ") or out.startswith("No answer in the corpus for ")
        # Nothing a question holds can drive the terminal: no escape or control characters.
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", out), repr(out)


@pytest.mark.parametrize("as_json", [False, True], ids=["terminal", "json"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_cli_ask(seeds_built, capsys, monkeypatch, case, as_json):
    monkeypatch.setattr(sys, "stdout", io.StringIO())  # not a terminal: no ANSI colours
    code = cli.ask(seeds_built, [case.text], as_json=as_json, top_k=None)
    out = sys.stdout.getvalue()
    assert code == 0
    check_cli_output(out, capsys.readouterr().err, case, as_json)


def test_cli_subprocess_answers_the_whole_table_in_one_run():
    """The real entry point, ``python -m bot ask --json``, with every case as an argument."""
    arguments = [case.text.replace("\x00", "") for case in CASES]  # argv cannot hold NUL
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--json", "--corpus", str(SEEDS), "--", *arguments],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "utf-8", "HOME": str(ROOT), "DISCORD_TOKEN": "", "INDEX_CACHE_DIR": "off"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert not TRACEBACK.search(result.stderr), result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    # "-" would read stdin; every other argument is one answer, in order.
    assert [a["question"] for a in answers] == [a for a in arguments if a != "-"]


def test_cli_invalid_utf8_question_does_not_crash():
    result = subprocess.run(
        [sys.executable.encode(), b"-m", b"bot", b"ask", b"--json", b"--corpus", str(SEEDS).encode(), b"\xff\xfe missiles"],
        capture_output=True, cwd=ROOT, timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "utf-8", "HOME": str(ROOT), "DISCORD_TOKEN": "", "INDEX_CACHE_DIR": "off"},
    )  # fmt: skip
    assert result.returncode == 0 and b"Traceback" not in result.stderr, result.stderr.decode("utf-8", "replace")
    # The bytes that are not UTF-8 become replacement characters; the rest is still asked.
    assert json.loads(result.stdout)["question"] == "\ufffd\ufffd missiles"


def test_terminal_and_json_formatters_escape_what_a_question_holds(engine):
    answer = engine.ask("\x1b[2J\x1b]0;pwned\x07 missiles \u202e")
    terminal = format_answer_for_terminal(answer, color=True)
    assert "\x1b[2J" not in terminal and "\x1b]0;" not in terminal
    line = json.dumps(answer_to_json(answer), ensure_ascii=False)
    assert "\n" not in line and json.loads(line)["question"] == answer.question


def test_render_counts_lone_surrogates_instead_of_crashing():
    """Discord never sends them, but a JSON "\\ud800" escape would decode to one."""
    assert render.discord_len("a\ud800b") == 3
    assert render.discord_len(render.clip("\ud800" * 3000, 100)) <= 100
