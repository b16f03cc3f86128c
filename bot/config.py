"""Settings from the environment (and a ``.env`` file), with safe defaults.

Every setting is documented in ``.env.example`` and the README. Secrets (the Discord token) are
kept out of ``repr`` so they can never end up in a log line or an error message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import load_dotenv

DEFAULT_CORPUS_DIR = "seeds"


class SettingsError(ValueError):
    """A setting has a value we cannot use; the message names the setting, never a secret."""


@dataclass(frozen=True)
class EngineSettings:
    """What the search core needs: shared by the command line and the Discord bot."""

    corpus_dir: Path = Path(DEFAULT_CORPUS_DIR)
    passage_tokens: int = 128
    top_k: int = 3
    k1: float = 1.2
    b: float = 0.75
    fuzzy: bool = True
    min_match: float = 1.25
    min_coverage: float = 0.5
    # How much closeness in meaning re-ranks the answers (SEMANTIC_WEIGHT; 0: BM25 alone).
    semantic_weight: float = 0.5
    # Where the index is kept between runs (INDEX_CACHE_DIR); None: rebuild every time.
    cache_dir: Path | None = None


@dataclass(frozen=True)
class Settings:
    engine: EngineSettings = field(default_factory=EngineSettings)
    discord_token: str = field(default="", repr=False)


def _env_int(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _env_float(name: str, default: float, low: float, high: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def load_engine_settings() -> EngineSettings:
    return EngineSettings(
        corpus_dir=Path(os.environ.get("CORPUS_DIR", "").strip() or DEFAULT_CORPUS_DIR),
        passage_tokens=_env_int("PASSAGE_TOKENS", 128, 16, 2048),
        top_k=_env_int("TOP_K", 3, 1, 10),
        k1=_env_float("BM25_K1", 1.2, 0.0, 10.0),
        b=_env_float("BM25_B", 0.75, 0.0, 1.0),
        fuzzy=_env_bool("FUZZY_MATCHING", True),
        min_match=_env_float("MIN_MATCH", 1.25, 0.0, 100.0),
        min_coverage=_env_float("MIN_COVERAGE", 0.5, 0.0, 1.0),
        semantic_weight=_env_float("SEMANTIC_WEIGHT", 0.5, 0.0, 5.0),
        cache_dir=_env_cache_dir(),
    )


DEFAULT_INDEX_CACHE_DIR = ".cache/corpus-bot"


def _env_cache_dir() -> Path | None:
    """INDEX_CACHE_DIR: a folder (default .cache/corpus-bot under the working folder), or
    "off" (also "none", "false", "0") to rebuild the index on every start."""
    raw = os.environ.get("INDEX_CACHE_DIR", "").strip()
    if raw.lower() in {"off", "none", "false", "0"}:
        return None
    return Path(raw or DEFAULT_INDEX_CACHE_DIR)


def load_settings(env_file: str | os.PathLike[str] | None = ".env") -> Settings:
    """Read ``.env`` (without overriding real environment variables), then the environment."""
    if env_file is not None and Path(env_file).is_file():
        load_dotenv(env_file, override=False)
    return Settings(
        engine=load_engine_settings(),
        discord_token=os.environ.get("DISCORD_TOKEN", "").strip(),
    )


# --------------------------------------------------------------------------------------------
# Discord settings: read only by the Discord layer (``python -m bot run``), so a mistake here
# never stops the command line from working.
# --------------------------------------------------------------------------------------------
DEFAULT_API_BASE = "https://discord.com/api/v10"
SYNC_MODES = ("global", "guild", "off")


@dataclass(frozen=True)
class DiscordSettings:
    dev_guild_id: int | None = None
    sync_commands: str = "off"  # global | guild | off
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None
    api_base: str = DEFAULT_API_BASE
    ask_channel_ids: frozenset[int] = frozenset()
    message_content_intent: bool = False
    mod_role_ids: frozenset[int] = frozenset()
    feedback_log: Path = Path("feedback.jsonl")
    cooldown_questions: int = 3
    cooldown_seconds: float = 10.0
    max_question_chars: int = 500
    log_level: str = "INFO"

    @property
    def wants_message_content(self) -> bool:
        """The privileged Message Content intent is requested only when it is needed."""
        return self.message_content_intent or bool(self.ask_channel_ids)


def _env_id_list(name: str) -> tuple[int, ...]:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return ()
    ids: list[int] = []
    for part in raw.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit():
            raise SettingsError(f"{name} must be a comma-separated list of numeric ids, got {part!r}")
        ids.append(int(part))
    return tuple(ids)


def _env_optional_id(name: str) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise SettingsError(f"{name} must be a numeric id, got {raw!r}")
    return int(raw)


def _env_api_base() -> str:
    raw = os.environ.get("DISCORD_API_BASE", "").strip().rstrip("/")
    if not raw:
        return DEFAULT_API_BASE
    if not raw.startswith(("http://", "https://")):
        raise SettingsError(f"DISCORD_API_BASE must be an http(s) URL such as {DEFAULT_API_BASE}, got {raw!r}")
    return raw


def load_discord_settings() -> DiscordSettings:
    """Discord settings from the environment (``load_settings`` has already read ``.env``)."""
    dev_guild_id = _env_optional_id("DEV_GUILD_ID")
    sync = os.environ.get("SYNC_COMMANDS", "").strip().lower() or ("guild" if dev_guild_id else "off")
    if sync not in SYNC_MODES:
        raise SettingsError(f"SYNC_COMMANDS must be one of {', '.join(SYNC_MODES)}, got {sync!r}")
    if sync == "guild" and dev_guild_id is None:
        raise SettingsError("SYNC_COMMANDS=guild needs DEV_GUILD_ID (the server to sync the commands to)")
    shard_count = _env_int("SHARD_COUNT", 0, 0, 1_000_000) or None
    shard_ids = _env_id_list("SHARD_IDS") or None
    if shard_ids is not None:
        if shard_count is None:
            raise SettingsError("SHARD_IDS needs SHARD_COUNT (the total number of shards of the bot)")
        bad = [i for i in shard_ids if i >= shard_count]
        if bad:
            raise SettingsError(f"SHARD_IDS must be below SHARD_COUNT ({shard_count}), got {bad}")
    level = os.environ.get("LOG_LEVEL", "").strip().upper() or "INFO"
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise SettingsError(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {level!r}")
    return DiscordSettings(
        dev_guild_id=dev_guild_id,
        sync_commands=sync,
        shard_count=shard_count,
        shard_ids=shard_ids,
        api_base=_env_api_base(),
        ask_channel_ids=frozenset(_env_id_list("ASK_CHANNEL_IDS")),
        message_content_intent=_env_bool("MESSAGE_CONTENT_INTENT", False),
        mod_role_ids=frozenset(_env_id_list("MOD_ROLE_IDS")),
        feedback_log=Path(os.environ.get("FEEDBACK_LOG", "").strip() or "feedback.jsonl"),
        cooldown_questions=_env_int("COOLDOWN_QUESTIONS", 3, 0, 1000),
        cooldown_seconds=_env_float("COOLDOWN_SECONDS", 10.0, 0.0, 86_400.0),
        max_question_chars=_env_int("MAX_QUESTION_CHARS", 500, 10, 4000),
        log_level=level,
    )
