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
    min_match: float = 1.4
    min_coverage: float = 0.5


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
        min_match=_env_float("MIN_MATCH", 1.4, 0.0, 100.0),
        min_coverage=_env_float("MIN_COVERAGE", 0.5, 0.0, 1.0),
    )


def load_settings(env_file: str | os.PathLike[str] | None = ".env") -> Settings:
    """Read ``.env`` (without overriding real environment variables), then the environment."""
    if env_file is not None and Path(env_file).is_file():
        load_dotenv(env_file, override=False)
    return Settings(
        engine=load_engine_settings(),
        discord_token=os.environ.get("DISCORD_TOKEN", "").strip(),
    )
