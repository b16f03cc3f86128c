"""Load and faults against the loopback Discord stand-in: bursts, a reload under load, a dropped
gateway, 429s and 500s, and a short soak.

No timing is asserted here (CI machines vary): these tests check that every question gets exactly
one reply and that nothing fails. The latency and event-loop-lag figures come from
``python -m tests.reliability_bench``, which runs the same scenarios bigger and reports them.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import shutil

import pytest
import pytest_asyncio

from bot.build import build_engine
from bot.config import EngineSettings
from bot.discord import stats as stats_module
from bot.discord.store import DEFAULT_ANSWERS, DEFAULT_CONVERSATIONS

from .conftest import SEEDS
from .discord_helpers import (  # noqa: F401  (fixtures are used by name)
    MISSILES,
    TOKEN,
    assert_safe_traffic,
    wait_for_log,
    LoopLagProbe,
    Question,
    all_text,
    ask,
    fast_discord_retries,
    final_reply,
    launch,
    mention_payload,
    reply_to_message,
    send_questions,
    slash,
    wait_for_outcomes,
)
from .discord_standin import OWNER_ID, DiscordStandIn

QUESTIONS = [
    MISSILES,
    "Who is Stoltenberg?",
    "What did Vucic say about Kosovo?",
    "How many BMP-1 vehicles did Slovakia send?",
    "Where is Ukraine regrouping after Lysychansk?",
    "What about quantum chromodynamics?",  # no match
    "Zelenskyy speech",
    "F-35 stealth fighters",
]
FIRST_USER = 1_300_000_000_000_000_000


@pytest_asyncio.fixture
async def standin():
    """The stand-in without rate-limit headers: its 50-per-second bucket would make discord.py
    hold replies to one channel for a second per 50 (real Discord allows far fewer per channel;
    ``python -m tests.reliability_bench --bucket`` measures that). Used by ``launch`` here."""
    async with DiscordStandIn(token=TOKEN, ratelimit_headers=False) as server:
        with server.patch_discord():
            yield server
    assert_safe_traffic(server)


def burst(users: int, per_user: int, *, start: int = 0) -> list[Question]:
    """``users`` members asking ``per_user`` questions each, half by /ask and half by mention."""
    texts = itertools.cycle(QUESTIONS[start:] + QUESTIONS[:start])
    return [
        Question(FIRST_USER + u, next(texts), "ask" if (u + n) % 2 == 0 else "mention")
        for n in range(per_user)
        for u in range(users)
    ]


async def test_200_questions_from_50_members_at_once_are_all_answered_or_politely_limited(standin, launch, caplog):
    caplog.set_level(logging.INFO)
    # The default cooldown: 3 questions per member per 10 s, so each member's 4th is refused kindly.
    async with launch(cooldown_questions=3, cooldown_seconds=10) as bot:
        questions = burst(users=50, per_user=4)
        async with LoopLagProbe():
            await send_questions(standin, questions)
            results = await wait_for_outcomes(standin, questions)
        kinds = [r.kind for r in results]
        assert all(r.replies == 1 for r in results), "exactly one reply per question, none dropped or doubled"
        assert kinds.count("rate_limited") == 50, kinds
        assert set(kinds) <= {"answered", "no_match", "rate_limited"}, kinds
        for result in results:
            if result.kind == "rate_limited":
                assert result.body["allowed_mentions"] == {"parse": []}
                if result.question.via == "ask":
                    assert result.body["flags"] & (1 << 6), "a refusal is only shown to the member"
        assert bot.stats.questions == 150


async def test_a_full_reload_while_questions_arrive_fails_none(standin, launch, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    folder = tmp_path / "corpus"
    shutil.copytree(SEEDS, folder)
    for n in range(300):  # a bigger corpus, so the rebuild overlaps the questions
        (folder / f"extra_{n:03d}.txt").write_text(f"Extra note {n} on the walrus census of island {n}.\n" * 3)
    settings = EngineSettings(corpus_dir=folder)
    async with launch(built=build_engine(settings), engine_settings=settings) as bot:
        questions = burst(users=50, per_user=4)
        reload_payload = standin.interaction_create_slash("reload", user_id=OWNER_ID)
        (folder / "new_article.txt").write_text("Penguins were seen marching in Antarctica.\n", encoding="utf-8")
        async with LoopLagProbe():
            await send_questions(standin, questions[:100])
            await standin.dispatch("INTERACTION_CREATE", reload_payload)
            await send_questions(standin, questions[100:])
            results = await wait_for_outcomes(standin, questions)
            report = await final_reply(standin, reload_payload, timeout=30)
        assert "Index reloaded" in report["content"] and "`new_article.txt`" in report["content"]
        assert all(r.replies == 1 for r in results)
        assert {r.kind for r in results} <= {"answered", "no_match"}, [r.kind for r in results]
        assert bot.corpus.generation == 2
        _, answer = await ask(standin, "Where were penguins marching?")
        assert "new\\_article.txt" in all_text(answer.json)


async def test_gateway_frames_are_handled_one_per_event_loop_iteration(standin, launch):
    """discord.py's reading task would parse every buffered gateway frame in one step, so a burst
    of events held the loop for tens of milliseconds; the bot paces them (``pace_gateway``): the
    loop gets to its other callbacks (timers, replies, heartbeats) between any two frames."""
    async with launch() as bot:
        loop = asyncio.get_running_loop()
        iteration = 0
        ticker: list[asyncio.Handle] = []

        def tick() -> None:  # runs once per loop iteration
            nonlocal iteration
            iteration += 1
            ticker[:] = [loop.call_soon(tick)]

        started_in: list[int] = []

        async def on_message(message) -> None:
            # A listener's task takes its first step in the iteration after its frame was parsed.
            started_in.append(iteration)

        bot.add_listener(on_message, "on_message")
        ticker.append(loop.call_soon(tick))
        messages = [standin.message_create(f"note {n} about nothing in particular") for n in range(30)]
        await asyncio.gather(*(standin.dispatch("MESSAGE_CREATE", message) for message in messages))
        async with asyncio.timeout(10):
            while len(started_in) < len(messages):
                await asyncio.sleep(0.01)
        ticker[0].cancel()
        bot.remove_listener(on_message, "on_message")
    assert len(set(started_in)) == len(messages), f"frames handled in the same iteration: {started_in}"


@pytest.mark.parametrize("abort", [False, True], ids=["close-4000", "network-failure"])
async def test_a_dropped_gateway_resumes_and_keeps_answering(standin, launch, abort):
    async with launch():
        standin.pause_gateway()  # hold the reconnect so the questions below arrive while it is down
        await standin.disconnect(code=4000, abort=abort)
        questions = burst(users=5, per_user=2)
        await send_questions(standin, questions)  # queued for the session, replayed on RESUME
        standin.resume_gateway()
        results = await wait_for_outcomes(standin, questions, timeout=15)
        assert all(r.replies == 1 and r.kind in ("answered", "no_match") for r in results)
        assert standin.resume_count == 1 and standin.identify_count == 1, "resumed, not re-identified"
        message = mention_payload(standin, MISSILES)
        await standin.dispatch("MESSAGE_CREATE", message)
        after = await reply_to_message(standin, message)
        assert "48 **cruise missiles**" in all_text(after.json)


async def test_429_on_send_is_retried_once_and_logged(standin, launch, caplog):
    async with launch():
        standin.fail_next("POST", r"/channels/{c}/messages", 429, retry_after=0.05)
        message = mention_payload(standin, MISSILES)
        await standin.dispatch("MESSAGE_CREATE", message)
        reply = await reply_to_message(standin, message)
        assert reply.status == 429
        retried = await reply_to_message(standin, message)
        assert retried.status == 200 and "48 **cruise missiles**" in all_text(retried.json)
        await standin.expect_no_request("POST", r"/channels/{c}/messages", within=0.2)
        assert "We are being rate limited" in caplog.text
        # A global 429 on an interaction follow-up: the same, once.
        standin.fail_next("POST", "/webhooks/{a}/{t}", 429, retry_after=0.05, is_global=True)
        payload = await slash(standin, "ask", {"question": MISSILES})
        answer = await final_reply(standin, payload)
        assert "48 **cruise missiles**" in all_text(answer) and "is rate limited. Retrying" in caplog.text
        statuses = [r.status for r in standin.find_requests("POST", "/webhooks/{a}/{t}") if payload["token"] in r.path]
        assert statuses == [429, 200]


async def test_500s_on_send_are_retried_logged_and_never_doubled(standin, launch, caplog):
    with fast_discord_retries():
        async with launch():
            standin.fail_next("POST", r"/channels/{c}/messages", 500, count=2)
            message = mention_payload(standin, MISSILES)
            await standin.dispatch("MESSAGE_CREATE", message)
            for _ in range(2):
                assert (await reply_to_message(standin, message)).status == 500
            ok = await reply_to_message(standin, message)
            assert ok.status == 200 and "48 **cruise missiles**" in all_text(ok.json)
            await standin.expect_no_request("POST", r"/channels/{c}/messages", within=0.2)
            assert caplog.text.count("Discord answered 500 to POST /api/v10/channels/") == 2

            # Discord down for good (5 tries): the bot logs it and carries on with the next question.
            standin.fail_next("POST", r"/channels/{c}/messages", 500, count=5)
            lost = mention_payload(standin, MISSILES)
            await standin.dispatch("MESSAGE_CREATE", lost)
            for _ in range(5):
                assert (await reply_to_message(standin, lost)).status == 500
            await wait_for_log(caplog, "Sending the answer to message")
            _, answer = await ask(standin, MISSILES)
            assert "48 **cruise missiles**" in all_text(answer.json)

            # 500s on the interaction follow-up: retried, one answer.
            standin.fail_next("POST", "/webhooks/{a}/{t}", 502, count=1)
            payload = await slash(standin, "ask", {"question": MISSILES})
            await standin.wait_for_callback(payload)
            await standin.wait_until(lambda: any(r.status == 200 for r in standin.find_requests("POST", "/webhooks/{a}/{t}")
                                                 if payload["token"] in r.path), description="retried follow-up")  # fmt: skip
            bodies = [r for r in standin.find_requests("POST", "/webhooks/{a}/{t}") if payload["token"] in r.path]
            assert [r.status for r in bodies] == [502, 200]
    assert "Traceback" not in "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)


async def test_interaction_that_fails_for_good_tells_the_log_not_the_channel(standin, launch, caplog):
    with fast_discord_retries():
        async with launch():
            standin.fail_next("POST", "/webhooks/{a}/{t}", 500, count=10)
            payload = await slash(standin, "ask", {"question": MISSILES})
            await standin.wait_for_callback(payload)
            await wait_for_log(caplog, "Error in /ask")
            standin.clear_faults()
            _, answer = await ask(standin, MISSILES)  # the next question is fine
            assert "48 **cruise missiles**" in all_text(answer.json)


async def test_a_short_soak_keeps_every_store_bounded(standin, launch, monkeypatch, caplog):
    """500 questions with small store capacities: memory is bounded by design, not by luck."""
    caplog.set_level(logging.INFO)  # discord.py's DEBUG lines would cost more than the questions
    monkeypatch.setattr(stats_module, "LATENCY_SAMPLES", 50)
    async with launch() as bot:
        bot.answers._answers.capacity = 40
        bot.conversations._questions.capacity = 60
        bot.stats._latencies = type(bot.stats._latencies)(maxlen=50)
        for round_ in range(5):
            questions = burst(users=25, per_user=4, start=round_)
            mark = standin.mark()
            await send_questions(standin, questions)
            results = await wait_for_outcomes(standin, questions, after=mark)
            assert all(r.replies == 1 for r in results)
        assert bot.stats.questions == 500
        assert len(bot.answers) <= 40 and len(bot.conversations._questions) <= 60
        assert len(bot.stats._latencies) <= 50 and len(bot.stats.unanswered) <= stats_module.RECENT_UNANSWERED
        assert len(bot.limiter._mapping._cache) <= 25
    assert DEFAULT_ANSWERS == 2000 and DEFAULT_CONVERSATIONS == 5000  # the documented bounds


def test_every_message_body_of_the_session_pinged_nobody():
    """Runs last of the reliability modules: every message body recorded so far in this session
    (the end-to-end and reliability tests; each was also checked when its test ended)."""
    from .discord_helpers import SEEN_MESSAGE_BODIES, assert_no_pings

    if not SEEN_MESSAGE_BODIES:
        pytest.skip("run together with the Discord tests")
    for body in SEEN_MESSAGE_BODIES:
        assert_no_pings(body)
    print(f"\n{len(SEEN_MESSAGE_BODIES)} message bodies checked")
