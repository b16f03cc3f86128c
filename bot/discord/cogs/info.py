"""Everyone: /sources (what the bot has read) and /help."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from .. import render
from ..client import CorpusBot

NONE = discord.AllowedMentions.none()


class Info(commands.Cog):
    def __init__(self, bot: CorpusBot) -> None:
        self.bot = bot

    @app_commands.command(name="sources", description="The articles I have read, with their passage counts.")
    @app_commands.describe(page="Page of the list (long lists are split)")
    async def sources(self, interaction: discord.Interaction, page: app_commands.Range[int, 1, 10_000] = 1) -> None:
        # Only the requested page is rendered, from the names sorted and paged once per index.
        report, catalogue = self.bot.corpus.current.report, self.bot.corpus.catalogue
        text = render.sources_page(report.passages_per_source, report.skipped, page,
                                   names=catalogue.names, bounds=catalogue.pages, total=report.passages)  # fmt: skip
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NONE)

    @app_commands.command(name="help", description="How to ask me questions.")
    async def help(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(render.help_text(), ephemeral=True, allowed_mentions=NONE)


async def setup(bot: CorpusBot) -> None:
    await bot.add_cog(Info(bot))
