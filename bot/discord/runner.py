"""``python -m bot run``: settings → index → bot, with logging set up once, here."""

from __future__ import annotations

import asyncio
import logging
import sys

import discord

from ..build import build_engine
from ..config import DiscordSettings, Settings, SettingsError, load_discord_settings
from ..corpus import CorpusError

log = logging.getLogger("bot.discord")


class RedactSecrets(logging.Filter):
    """Replaces the token with ``[token]`` should it ever reach a log record (it should not)."""

    def __init__(self, *secrets: str) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, "[token]")
            record.msg, record.args = message, ()
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            if any(secret in text for secret in self.secrets):
                for secret in self.secrets:
                    text = text.replace(secret, "[token]")
                record.exc_info, record.exc_text = None, text
        return True


def setup_logging(level: str, token: str) -> None:
    root = logging.getLogger()
    # The command line configured plain logging for its own commands; the bot logs the way
    # discord.py does instead (one handler, so no line is printed twice).
    for handler in list(root.handlers):
        root.removeHandler(handler)
    discord.utils.setup_logging(level=getattr(logging, level, logging.INFO), root=True)
    for handler in root.handlers:
        handler.addFilter(RedactSecrets(token))


def create_bot(settings: Settings, config: DiscordSettings, built=None, **options):
    """The bot for ``settings`` (builds the index unless ``built`` is given)."""
    from .client import CorpusBot

    if built is None:
        built = build_engine(settings.engine)
    return CorpusBot(built, settings.engine, config, **options)


async def _serve(settings: Settings, config: DiscordSettings, built) -> None:
    bot = create_bot(settings, config, built)
    async with bot:
        await bot.start(settings.discord_token)


def run_bot(settings: Settings) -> int:
    """Connect to Discord and answer until stopped. Returns the process exit code."""
    try:
        config = load_discord_settings()
    except SettingsError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    setup_logging(config.log_level, settings.discord_token)
    try:
        built = build_engine(settings.engine)
    except CorpusError as error:
        log.error("Cannot read the corpus: %s. Set CORPUS_DIR or pass --corpus DIR.", error)
        return 2
    report = built.report
    log.info(
        "Indexed %d articles (%d passages, %d skipped) from %s in %.2fs",
        report.documents, report.passages, len(report.skipped), report.corpus_dir, report.seconds,
    )
    if config.api_base != "https://discord.com/api/v10":
        log.info("Using the Discord API at %s", config.api_base)
    try:
        asyncio.run(_serve(settings, config, built))
    except KeyboardInterrupt:
        log.info("Stopped")
        return 0
    except discord.LoginFailure:
        log.error("Discord rejected DISCORD_TOKEN (login failed). Copy the bot token again from the developer portal.")
        return 1
    except discord.PrivilegedIntentsRequired:
        log.error(
            "Discord refused the Message Content intent. Enable it for the bot in the developer portal "
            "(Bot → Privileged Gateway Intents), or unset ASK_CHANNEL_IDS and MESSAGE_CONTENT_INTENT."
        )
        return 1
    except discord.GatewayNotFound:
        log.error("Cannot find the Discord gateway at %s; is DISCORD_API_BASE right?", config.api_base)
        return 1
    except (OSError, discord.HTTPException) as error:
        log.error("Cannot connect to Discord: %s", error)
        return 1
    return 0
