"""The webhook's secret token: Telegram sends it with every update, so forged POSTs are refused."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import tempfile
from pathlib import Path

from bot.config import Settings
from bot.config.telegram import WEBHOOK_SECRET
from bot.errors import ConfigError

SECRET_FILE = "telegram-webhook-secret"


def secret(settings: Settings) -> str:
    """TANYA_TELEGRAM_WEBHOOK_SECRET, else the one kept in TANYA_HOME (made on first use)."""
    if settings.telegram.webhook_secret is not None:
        return settings.telegram.webhook_secret.get_secret_value()
    path = settings.home / SECRET_FILE
    if not path.exists():
        _create(path)
    return _read(path)


def _create(path: Path) -> None:
    """Write a new secret file (mode 0600) unless another process has just made one."""
    # Written under a temporary name, then linked into place: the link fails when another
    # process got there first (both then use its secret), and no reader sees half a file.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{SECRET_FILE}.")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_urlsafe(32) + "\n")
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    except OSError as exc:
        raise ConfigError(f"cannot create the webhook secret {path}: {exc.strerror or exc}; "
                          "set TANYA_TELEGRAM_WEBHOOK_SECRET instead") from exc
    finally:
        os.unlink(tmp)


def _read(path: Path) -> str:
    """The kept secret; refused when others may read the file or it is not a valid secret."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(f"{path} may be read by others (mode {mode:04o}); run `chmod 600 "
                          f"{path}`, or delete it to make a new secret")
    value = path.read_text(encoding="ascii", errors="replace").strip()
    if not WEBHOOK_SECRET.fullmatch(value):
        raise ConfigError(f"{path} holds no valid webhook secret (1-256 of A-Z a-z 0-9 _ -); "
                          "delete it to make a new one")
    return value
