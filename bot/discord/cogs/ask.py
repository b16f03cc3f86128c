"""Asking: /ask, mentions, replies and follow-ups, ask channels, and the buttons under answers."""

from __future__ import annotations

import asyncio
import io
import logging
import math
import re
import time
from dataclasses import dataclass
from typing import Any, Optional

import discord
from discord import app_commands
from discord.ext import commands

from .. import asking, render
from ..client import CorpusBot
from ..store import AnswerRecord
from ..views import ACTIONS, answer_view

log = logging.getLogger(__name__)

NONE = discord.AllowedMentions.none()
MAX_COUNT = 5
EXAMPLE = "How many cruise missiles did Russia launch?"
EXPIRED = "This answer has expired (I only keep recent ones in memory). Please ask again."
NOT_YOURS = "These buttons belong to an answer shown only to someone else. Ask me yourself!"
THREAD_TYPES = (discord.ChannelType.public_thread, discord.ChannelType.private_thread, discord.ChannelType.news_thread)


@dataclass
class Outgoing:
    """A composed reply: what to send, and the question a later follow-up refers to."""

    content: str | None
    remember: str
    embeds: tuple[discord.Embed, ...] = ()
    view: discord.ui.View | None = None

    def kwargs(self) -> dict[str, Any]:
        out: dict[str, Any] = {"allowed_mentions": NONE}
        if self.content:
            out["content"] = self.content
        if self.embeds:
            out["embeds"] = list(self.embeds)
        if self.view is not None:
            out["view"] = self.view
        return out


def can_embed(channel: Any, guild: discord.Guild | None) -> bool:
    """Whether the bot may send embeds in ``channel`` (Embed Links)."""
    if guild is None or isinstance(channel, (discord.DMChannel, discord.GroupChannel)):
        return True
    me = guild.me
    if me is None or isinstance(channel, discord.PartialMessageable):
        return True  # unknown: try embeds (Discord would drop them silently, not fail)
    try:
        return channel.permissions_for(me).embed_links
    except Exception:  # noqa: BLE001 - a channel type without permissions
        return True


def is_thread(channel: Any) -> bool:
    return isinstance(channel, discord.Thread) or getattr(channel, "type", None) in THREAD_TYPES


class Ask(commands.Cog):
    def __init__(self, bot: CorpusBot) -> None:
        self.bot = bot

    # ------------------------------------------------------------------ shared by every path
    def refusal(self, user_id: int, text: str) -> str | None:
        """Why this question is not answered (too long, too fast, empty), or None."""
        limit = self.bot.config.max_question_chars
        if not text:
            return f"Ask me a question, for example: “{EXAMPLE}”"
        if len(text) > limit:
            return (
                f"That question is {len(text):,} characters long; please keep it under {limit:,}. "
                "The key words (names, places, numbers) are enough."
            )
        retry = self.bot.limiter.retry_after(user_id)
        if retry is not None:
            return f"You're asking faster than I can keep up with — try again in {max(1, math.ceil(retry))} s."
        return None

    @property
    def default_count(self) -> int:
        return max(1, min(self.bot.engine_settings.top_k, render.EMBEDS_PER_MESSAGE))

    async def compose(
        self,
        question: str,
        *,
        context: str | None,
        source: str | None,
        count: int,
        embeds: bool,
        private_to: int | None = None,
    ) -> Outgoing:
        built = self.bot.corpus.current  # one index for the whole question, even during a reload
        started = time.perf_counter()
        asked = await self.bot.run_engine(asking.ask, built.engine, question, context=context, top_k=count, source=source)
        answer = asked.answer
        self.bot.stats.record(question, answered=bool(answer.hits), latency_ms=(time.perf_counter() - started) * 1000)
        if self.bot.corpus.memo_overgrown():
            await self.bot.run_engine(self.bot.corpus.trim_memo)  # between questions, never during one
        if not answer.hits:
            # A question that found nothing is a poor topic for the next follow-up: keep the old one.
            return Outgoing(render.no_match(answer, context=context), remember=context or asked.remembered)
        key = self.bot.answers.add(
            AnswerRecord(
                question=question,
                query=asked.query,
                context=asked.context,
                source=source,
                count=count,
                shown=len(answer.hits),
                sources=tuple(dict.fromkeys(hit.source for hit in answer.hits)),
                must_match=asked.must_match,
                owner=private_to,
            )
        )
        rendered = render.render_answer(answer, embeds=embeds, context=asked.context)
        return Outgoing(
            rendered.content,
            remember=asked.remembered,
            embeds=rendered.embeds,
            view=answer_view(key, more=answer.more_available),
        )

    def thread_key(self, channel_id: int | None, channel: Any) -> int | None:
        """The channel's id when it is a thread (whose id is its starter message's id)."""
        if channel_id is None:
            return None
        if is_thread(channel) or channel_id in self.bot.conversations:
            return channel_id
        return None

    # ------------------------------------------------------------------ /ask
    @app_commands.command(name="ask", description="Ask a question; I answer by quoting the articles.")
    @app_commands.describe(
        question="Your question, e.g. How many cruise missiles did Russia launch?",
        source="Only search this file",
        count="How many passages to show (1-5)",
    )
    async def ask(
        self,
        interaction: discord.Interaction,
        question: str,
        source: Optional[str] = None,
        count: Optional[app_commands.Range[int, 1, MAX_COUNT]] = None,
    ) -> None:
        text = str(question).strip()  # Discord sends a string; anything else is read as one
        refusal = self.refusal(interaction.user.id, text)
        if refusal:
            await interaction.response.send_message(refusal, ephemeral=True, allowed_mentions=NONE)
            return
        if source is not None and not self.bot.corpus.has_source(source):
            await interaction.response.send_message(
                f"I have no file called `{render.clip(source, 200).replace('`', 'ʼ')}`. "
                "Pick one from the suggestions, or see `/sources`.",
                ephemeral=True,
                allowed_mentions=NONE,
            )
            return
        await interaction.response.defer(thinking=True)  # well inside Discord's 3 seconds
        thread_id = self.thread_key(interaction.channel_id, interaction.channel)
        context = self.bot.conversations.previous(thread_id)
        out = await self.compose(
            text,
            context=context,
            source=source,
            # Discord enforces 1-5; a value outside it (a forged interaction) is brought back in range.
            count=max(1, min(count or self.default_count, MAX_COUNT)),
            embeds=interaction.app_permissions.embed_links,
            private_to=interaction.user.id if interaction.guild_id is None else None,
        )
        message = await interaction.followup.send(**out.kwargs(), wait=True)
        self.bot.conversations.remember([message.id, thread_id], out.remember)

    @ask.autocomplete("source")
    async def source_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        # Sorted once per index (Catalogue), not on every keystroke.
        names = self.bot.corpus.catalogue.suggest(str(current), limit=25, max_chars=100)
        return [app_commands.Choice(name=name, value=name) for name in names]

    # ------------------------------------------------------------------ mentions, replies, ask channels
    def question_in(self, message: discord.Message) -> tuple[str, bool, int | None, int | None] | None:
        """(question, mentioned, replied-to id, thread id) when ``message`` is for the bot, else None."""
        me = self.bot.user
        if me is None:
            return None
        channel = message.channel
        mentioned = any(user.id == me.id for user in message.mentions)
        own_role = message.guild.self_role if message.guild is not None else None
        if own_role is not None and any(role.id == own_role.id for role in message.role_mentions):
            mentioned = True
        reply_to = message.reference.message_id if message.reference is not None else None
        thread_id = self.thread_key(channel.id, channel)
        parent_id = getattr(channel, "parent_id", None)
        asks = self.bot.config.ask_channel_ids
        in_ask_channel = channel.id in asks or (parent_id is not None and parent_id in asks)
        follows_up = (reply_to is not None and reply_to in self.bot.conversations) or (
            thread_id is not None and thread_id in self.bot.conversations
        )
        is_dm = message.guild is None
        if not (mentioned or in_ask_channel or follows_up or is_dm):
            return None
        text = message.content
        text = re.sub(rf"<@!?{me.id}>", " ", text)
        if own_role is not None:
            text = text.replace(f"<@&{own_role.id}>", " ")
        return " ".join(text.split()), mentioned, reply_to, thread_id

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.webhook_id is not None:
            return  # never answer bots (or myself)
        found = self.question_in(message)
        if found is None:
            return
        text, mentioned, reply_to, thread_id = found
        if not text and not mentioned:
            return  # without the Message Content intent, others' messages arrive empty
        try:
            await self.answer_message(message, text, reply_to, thread_id)
        except Exception:  # noqa: BLE001 - one bad message must not stop the listener
            log.exception("Failed to answer message %s", message.id)
            await self.reply(message, Outgoing(render.fit_content("Sorry, something went wrong on my side. Please try again."), ""))

    async def answer_message(self, message: discord.Message, text: str, reply_to: int | None, thread_id: int | None) -> None:
        refusal = self.refusal(message.author.id, text)
        if refusal:
            await self.reply(message, Outgoing(refusal, remember=""))
            return
        context = self.bot.conversations.previous(reply_to, thread_id)
        out = await self.compose(
            text,
            context=context,
            source=None,
            count=self.default_count,
            embeds=can_embed(message.channel, message.guild),
            private_to=message.author.id if message.guild is None else None,
        )
        sent = await self.reply(message, out)
        if sent is not None:
            self.bot.conversations.remember([sent.id, thread_id], out.remember)

    async def reply(self, message: discord.Message, out: Outgoing) -> discord.Message | None:
        try:
            # AllowedMentions.none() leaves replied_user false: the asker is not pinged either.
            return await message.reply(**out.kwargs())
        except discord.Forbidden:
            # Replies need Read Message History; a plain message in the channel still works.
            try:
                return await message.channel.send(**out.kwargs())
            except discord.HTTPException:
                log.warning("Cannot answer in channel %s (missing permissions?)", message.channel.id, exc_info=True)
        except discord.HTTPException:
            log.warning("Sending the answer to message %s failed", message.id, exc_info=True)
        return None

    # ------------------------------------------------------------------ buttons
    async def on_answer_button(self, interaction: discord.Interaction, action: str, key: str) -> None:
        record = self.bot.answers.get(key)
        if record is None or action not in ACTIONS:
            await interaction.response.send_message(EXPIRED, ephemeral=True, allowed_mentions=NONE)
            return
        if record.owner is not None and record.owner != interaction.user.id:
            log.warning("Refused a button of user %s's private answer to user %s", record.owner, interaction.user.id)
            await interaction.response.send_message(NOT_YOURS, ephemeral=True, allowed_mentions=NONE)
            return
        if action == "more":
            await self.show_more(interaction, record)
        elif action == "full":
            await self.send_articles(interaction, record)
        else:
            await self.vote(interaction, record, action)

    async def show_more(self, interaction: discord.Interaction, record: AnswerRecord) -> None:
        retry = self.bot.limiter.retry_after(interaction.user.id)
        if retry is not None:
            await interaction.response.send_message(
                f"Slow down a little — try again in {max(1, math.ceil(retry))} s.", ephemeral=True, allowed_mentions=NONE
            )
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        built = self.bot.corpus.current
        answer = await self.bot.run_engine(
            asking.more,
            built.engine,
            question=record.question,
            query=record.query,
            must_match=record.must_match,
            top_k=record.count,
            source=record.source,
            offset=record.shown,
        )
        if not answer.hits:
            await interaction.followup.send(render.no_more(record.question), ephemeral=True, allowed_mentions=NONE)
            return
        key = self.bot.answers.add(
            AnswerRecord(
                question=record.question,
                query=record.query,
                context=record.context,
                source=record.source,
                count=record.count,
                shown=record.shown + len(answer.hits),
                sources=tuple(dict.fromkeys(hit.source for hit in answer.hits)),
                must_match=record.must_match,
                owner=interaction.user.id,  # shown only to them
            )
        )
        rendered = render.render_answer(
            answer, embeds=interaction.app_permissions.embed_links, context=record.context, offset=record.shown
        )
        out = Outgoing(rendered.content, "", rendered.embeds, answer_view(key, more=answer.more_available))
        await interaction.followup.send(**out.kwargs(), ephemeral=True)

    async def send_articles(self, interaction: discord.Interaction, record: AnswerRecord) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        if not interaction.app_permissions.attach_files:
            await interaction.followup.send(
                "I can't attach files in this channel (I'm missing **Attach Files**).", ephemeral=True, allowed_mentions=NONE
            )
            return
        limit = getattr(interaction, "filesize_limit", None) or 10 * 1024 * 1024
        files: list[discord.File] = []
        notes: list[str] = []
        total = 0
        for source in record.sources[:10]:
            # Only files of the index in use; the path is looked up, never taken from the button.
            path = self.bot.corpus.article_path(source)
            shown = render.clip(source, 150).replace("`", "ʼ")
            if path is None:
                notes.append(f"`{shown}` is no longer in the index.")
                continue
            try:
                # The size first: a file too large to attach is never read into memory.
                size = (await asyncio.to_thread(path.stat)).st_size
                data = await asyncio.to_thread(path.read_bytes) if total + size <= limit else None
            except OSError:
                log.warning("Cannot read %s for the Full article button", path, exc_info=True)
                notes.append(f"`{shown}` can't be read right now.")
                continue
            if data is None or total + len(data) > limit:
                notes.append(f"`{shown}` is too large to attach here.")
                continue
            total += len(data)
            files.append(discord.File(io.BytesIO(data), filename=source.replace("/", "_")))
        if files:
            head = "The full article:" if len(files) == 1 else f"The {len(files)} full articles quoted in this answer:"
        else:
            head = "I can't send the article."
        content = render.fit_content("\n".join([head, *notes]))
        await interaction.followup.send(content, files=files, ephemeral=True, allowed_mentions=NONE)

    async def vote(self, interaction: discord.Interaction, record: AnswerRecord, action: str) -> None:
        if interaction.user.id in record.voters:
            await interaction.response.send_message("You already rated this answer — thanks!", ephemeral=True, allowed_mentions=NONE)
            return
        record.voters.add(interaction.user.id)  # in memory only; the log has no user ids
        try:
            await asyncio.to_thread(self.bot.feedback.record, record.question, record.sources, action)
        except OSError:
            log.exception("Cannot write the feedback log %s", self.bot.feedback.path)
            record.voters.discard(interaction.user.id)
            await interaction.response.send_message(
                "Sorry, I couldn't save your feedback right now.", ephemeral=True, allowed_mentions=NONE
            )
            return
        thanks = "Thanks! Glad it helped." if action == "up" else "Thanks — noted, this helps improve the answers."
        await interaction.response.send_message(thanks, ephemeral=True, allowed_mentions=NONE)


async def setup(bot: CorpusBot) -> None:
    await bot.add_cog(Ask(bot))
