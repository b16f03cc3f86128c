"""The buttons under an answer.

They are ``DynamicItem``s: they work across restarts and need no per-message View kept in
memory. A button's custom_id is ``answer:<action>:<key>``, and the key is an opaque random token
into the bot's bounded :class:`~bot.discord.store.AnswerStore`; nothing else (no file name, no
question) travels through Discord, so a tampered custom_id can only name a key that does not exist.
"""

from __future__ import annotations

import re
from typing import Any

import discord

PREFIX = "answer"
ACTIONS = {
    "more": ("More", None, discord.ButtonStyle.primary),
    "full": ("Full article", "📄", discord.ButtonStyle.secondary),
    "up": (None, "👍", discord.ButtonStyle.secondary),
    "down": (None, "👎", discord.ButtonStyle.secondary),
}


class AnswerButton(
    discord.ui.DynamicItem[discord.ui.Button],
    # Deliberately permissive: anything that claims to be ours reaches the callback, which
    # answers "expired" instead of leaving the member with "This interaction failed".
    template=PREFIX + r":(?P<action>[^:]{0,20}):(?P<key>.{0,90})",
):
    def __init__(self, action: str, key: str, *, disabled: bool = False) -> None:
        label, emoji, style = ACTIONS.get(action, ("?", None, discord.ButtonStyle.secondary))
        super().__init__(
            discord.ui.Button(label=label, emoji=emoji, style=style, custom_id=f"{PREFIX}:{action}:{key}", disabled=disabled)
        )
        self.action = action
        self.key = key

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /) -> Any:
        return cls(match["action"], match["key"])

    async def callback(self, interaction: discord.Interaction) -> None:
        cog = interaction.client.get_cog("Ask")  # type: ignore[union-attr]
        if cog is None:
            await interaction.response.send_message(
                "I'm restarting; ask again in a moment.", ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
            )
            return
        await cog.on_answer_button(interaction, self.action, self.key)


def answer_view(key: str, *, more: bool) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    if more:
        view.add_item(AnswerButton("more", key))
    view.add_item(AnswerButton("full", key))
    view.add_item(AnswerButton("up", key))
    view.add_item(AnswerButton("down", key))
    return view
