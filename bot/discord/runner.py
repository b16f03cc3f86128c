"""``python -m bot run``: settings → index → bot, with logging set up once, here."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys

import discord

from ..build import build_engine, warm_up_models
from ..config import DiscordSettings, EngineSettings, Settings, SettingsError, load_discord_settings
from ..corpus import CorpusError
from .client import redact_path
from .index import empty_index

log = logging.getLogger("bot.discord")


class RedactSecrets(logging.Filter):
    """Replaces the token with ``[token]`` should it ever reach a log record (it should not), and
    the interaction / webhook tokens in the URLs discord.py logs at DEBUG level."""

    def __init__(self, *secrets: str) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def _redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[token]")
        return redact_path(text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self._redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if not self.secrets:
            return True
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


SKIPPED_SHOWN = 20


def freeze_startup_heap() -> None:
    """Move everything imported so far out of the garbage collector's sight (``gc.freeze``).

    A full collection stops every thread, the event loop included, for as long as it takes to
    scan every tracked object. discord.py, aiohttp, numpy and the rest are ~90,000 objects that
    live as long as the process; frozen, they are never scanned again. On a 2-core machine a full
    collection during the reload of a 15,000-passage corpus fell from 127 ms to 61 ms
    (``python -m tests.reliability_bench``). Call it before the index is built: the index stays
    collectable, so a replaced index is freed as before and nothing leaks.
    """
    gc.collect()
    gc.freeze()


def load_index(engine: EngineSettings):
    """The index to start with: whatever the corpus folder holds that can be read, explained.

    Unreadable, binary or empty files are skipped and each is named in the log with the reason.
    A folder that cannot be used at all (missing, not a folder, or the build fails) does not stop
    the bot: it starts with an empty index, says why, and a moderator's ``/reload`` picks the
    articles up once the folder is fixed.
    """
    try:
        built = build_engine(engine)
    except CorpusError as error:
        log.error(
            "Cannot read the corpus: %s. Starting with an empty index: fix CORPUS_DIR (or the folder), "
            "then use /reload.", error,
        )
        return empty_index(engine)
    except Exception:  # noqa: BLE001 - the bot still starts, and says why it has no articles
        log.exception("Building the index of %s failed. Starting with an empty index; fix the folder, then use /reload.",
                      engine.corpus_dir)  # fmt: skip
        return empty_index(engine)
    report = built.report
    log.info(
        "Indexed %d articles (%d passages, %d skipped) from %s in %.2fs",
        report.documents, report.passages, len(report.skipped), report.corpus_dir, report.seconds,
    )
    for skipped in report.skipped[:SKIPPED_SHOWN]:
        log.warning("Skipped %s: %s", skipped.source, skipped.reason)
    if len(report.skipped) > SKIPPED_SHOWN:
        log.warning("... and %d more skipped files (see /reload or `python -m bot index`)", len(report.skipped) - SKIPPED_SHOWN)
    if report.documents == 0:
        log.warning(
            "%s has no readable articles: every question gets \"the corpus is empty\" until /reload finds some.",
            report.corpus_dir,
        )
    return built


def create_bot(settings: Settings, config: DiscordSettings, built=None, **options):
    """The bot for ``settings`` (builds the index unless ``built`` is given)."""
    from .client import CorpusBot

    if built is None:
        built = load_index(settings.engine)
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
    # Before the freeze: the tagger's lexicon and the embeddings live as long as the process.
    warm_up_models(settings.engine)
    freeze_startup_heap()
    built = load_index(settings.engine)
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
    except Exception:  # noqa: BLE001 - through the log, whose filter redacts secrets, not bare stderr
        log.exception("The bot stopped on an unexpected error")
        return 1
    return 0
