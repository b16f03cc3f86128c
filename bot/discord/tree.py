"""The command tree: errors reach the member as a short ephemeral note and the log in full."""

from __future__ import annotations

import logging

import discord
from discord import app_commands

log = logging.getLogger(__name__)

NONE = discord.AllowedMentions.none()
GENERIC_ERROR = "Sorry, something went wrong on my side. It has been logged; please try again."


OUTDATED = "That command is out of date or unknown here (Discord may still be updating the list); try again in a minute."


def describe_error(error: app_commands.AppCommandError) -> tuple[str, bool]:
    """(what the member reads, whether it is worth a traceback in the log)."""
    if isinstance(error, (app_commands.CommandNotFound, app_commands.CommandSignatureMismatch)):
        return OUTDATED, False
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down a little: try again in {error.retry_after:.0f} s.", False
    if isinstance(error, app_commands.NoPrivateMessage):
        return "That command only works in a server.", False
    if isinstance(error, app_commands.MissingPermissions):
        return "You don't have the permissions for that.", False
    if isinstance(error, app_commands.BotMissingPermissions):
        missing = ", ".join(p.replace("_", " ").title() for p in error.missing_permissions)
        return f"I'm missing permissions here: {missing}.", False
    if isinstance(error, app_commands.CheckFailure):
        return str(error) or "You can't use that here.", False
    if isinstance(error, app_commands.TransformerError):
        return "I couldn't understand one of the options.", False
    return GENERIC_ERROR, True


async def send_ephemeral(interaction: discord.Interaction, text: str) -> None:
    """Tell the member, whether or not the interaction was already answered or deferred."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NONE)
        else:
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NONE)
    except discord.HTTPException:
        log.warning("Could not tell the member about an error (interaction %s)", interaction.id, exc_info=True)


def command_name(interaction: discord.Interaction) -> str:
    if interaction.command is not None:
        return interaction.command.qualified_name
    data = interaction.data or {}
    return str(data.get("name", "?"))[:100]


class CorpusTree(app_commands.CommandTree):
    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        text, unexpected = describe_error(error)
        command = command_name(interaction)
        if unexpected:
            original = getattr(error, "original", error)
            log.error("Error in /%s", command, exc_info=(type(original), original, original.__traceback__))
        elif isinstance(error, (app_commands.CheckFailure, app_commands.CommandNotFound, app_commands.CommandSignatureMismatch)):
            # Refusals (not a moderator, not in a server ...) are worth a line: who tried what, where.
            log.warning(
                "Refused /%s to user %s in %s: %s",
                command,
                interaction.user.id,
                f"server {interaction.guild_id}" if interaction.guild_id else "a DM",
                type(error).__name__,
            )
        await send_ephemeral(interaction, text)
