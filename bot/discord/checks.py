"""Who may do what, and how often: moderator checks and the per-member question cooldown."""

from __future__ import annotations

from typing import Iterable

import discord
from discord import app_commands
from discord.ext import commands


class NotModerator(app_commands.CheckFailure):
    """Raised by :func:`moderator_only`; the error handler shows its message to the member."""

    def __init__(self) -> None:
        super().__init__("Only moderators can do that: members with **Manage Server**, or with a moderator role.")


def is_moderator(user: discord.abc.User, permissions: discord.Permissions | None, mod_role_ids: Iterable[int]) -> bool:
    """Manage Server (in this channel's resolved permissions, or guild-wide), or a moderator role."""
    if not isinstance(user, discord.Member):
        return False  # not in a server (a DM): nobody moderates here
    if permissions is not None and (permissions.manage_guild or permissions.administrator):
        return True
    if user.guild_permissions.manage_guild:
        return True
    wanted = set(mod_role_ids)
    return any(role.id in wanted for role in user.roles)


def moderator_only():
    """An app-command check that runs on every use (``default_permissions`` is only a default
    that server admins can change, so it is not the check)."""

    async def predicate(interaction: discord.Interaction) -> bool:
        mod_roles = getattr(interaction.client, "config").mod_role_ids
        if is_moderator(interaction.user, interaction.permissions, mod_roles):
            return True
        raise NotModerator()

    return app_commands.check(predicate)


class QuestionLimiter:
    """``rate`` questions per ``per`` seconds per member, shared by /ask, mentions and buttons.

    Built on discord.py's own :class:`commands.CooldownMapping`, keyed by the member's id.
    """

    def __init__(self, rate: int, per: float) -> None:
        self.enabled = rate > 0 and per > 0
        self._mapping: commands.CooldownMapping[int] = commands.CooldownMapping(
            commands.Cooldown(max(rate, 1), max(per, 0.001)), _user_key
        )

    def retry_after(self, user_id: int) -> float | None:
        """None if the member may ask now (and counts this question), else seconds to wait."""
        if not self.enabled:
            return None
        return self._mapping.update_rate_limit(user_id)


def _user_key(user_id: int) -> int:
    return user_id
