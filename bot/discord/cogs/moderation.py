"""Moderators: /reload (rebuild the index without downtime) and /stats."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from .. import render
from ..checks import moderator_only
from ..client import CorpusBot
from ..index import AlreadyReloading

log = logging.getLogger(__name__)

NONE = discord.AllowedMentions.none()
ALREADY = "A reload is already running; the new index is used as soon as it is ready."


class Moderation(commands.Cog):
    def __init__(self, bot: CorpusBot) -> None:
        self.bot = bot

    @app_commands.command(name="reload", description="Re-read the articles and rebuild the index (moderators).")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @moderator_only()
    async def reload(self, interaction: discord.Interaction) -> None:
        if self.bot.corpus.reloading:
            await interaction.response.send_message(ALREADY, ephemeral=True, allowed_mentions=NONE)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            result = await self.bot.corpus.reload(by=interaction.user.display_name)
        except AlreadyReloading:
            await interaction.followup.send(ALREADY, ephemeral=True, allowed_mentions=NONE)
            return
        await interaction.followup.send(render.reload_report(result), ephemeral=True, allowed_mentions=NONE)

    @app_commands.command(name="stats", description="Usage, corpus size, latency and unanswered questions (moderators).")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @moderator_only()
    async def stats(self, interaction: discord.Interaction) -> None:
        text = render.stats_report(
            self.bot.stats, self.bot.corpus, shards=self.bot.shard_count or 1, guilds=len(self.bot.guilds)
        )
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NONE)


async def setup(bot: CorpusBot) -> None:
    await bot.add_cog(Moderation(bot))
