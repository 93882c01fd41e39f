"""Errors raised by the index package, each naming the file or thing that caused it."""

from __future__ import annotations


class TanyaIndexError(Exception):
    """Base class for index errors; the message is one line meant for the user."""


class IndexNotFoundError(TanyaIndexError):
    """No index exists at the given directory yet."""

    def __init__(self, path: str) -> None:
        super().__init__(f"no index at {path}; build one with `tanya index sync ARTICLES_DIR`")


class IndexMismatchError(TanyaIndexError):
    """The index on disk was built with another embedding model or chunking."""

    def __init__(self, path: str, what: str, on_disk: str, wanted: str) -> None:
        super().__init__(
            f"index at {path} was built with {what} {on_disk!r} but {wanted!r} is configured; "
            "run `tanya index rebuild` to re-embed every article with the new settings"
        )


class VectorsMismatchError(TanyaIndexError):
    """The configured embedder gives other vectors than the index holds, under the same name."""

    def __init__(self, path: str, built_by: str, configured: str, cosine: float,
                 least: float) -> None:
        super().__init__(
            f"index at {path} holds vectors of {built_by}, but the configured embedder "
            f"({configured}) embeds the same probe texts differently (cosine {cosine:.4f} < "
            f"{least}): another model, or another query/passage marking; run `tanya index "
            "rebuild` to re-embed every article with it"
        )


class IndexCorruptError(TanyaIndexError):
    """A file of the index cannot be read."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"index file {path} is unreadable: {reason}")


class IndexBusyError(TanyaIndexError):
    """Another process holds the write lock."""

    def __init__(self, lock_path: str) -> None:
        super().__init__(
            f"another sync is writing the index (lock {lock_path}); wait for it to finish and retry"
        )


class ArticleNotFoundError(TanyaIndexError):
    """No article with that id is in the index."""

    def __init__(self, article_id: str) -> None:
        super().__init__(
            f"no article with id {article_id!r} in the index (see `tanya index status`)")


class EmbeddingModelError(TanyaIndexError):
    """The embedding model could not be loaded."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"cannot load embedding model {name!r}: {reason}")


class FilterError(TanyaIndexError):
    """A search filter that cannot be understood."""

    def __init__(self, value: str, reason: str) -> None:
        super().__init__(f"bad filter {value!r}: {reason}")


class EmbeddingServerError(TanyaIndexError):
    """An embedding server could not be reached or answered without usable vectors.

    The pool of servers passes over the one that failed; the message is one line.
    """


class EmbeddingServerMismatchError(TanyaIndexError):
    """An embedding server answers, but is of another kind or gives another model's vectors."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"embedding server {url} {reason}")


class DatabaseError(TanyaIndexError):
    """PostgreSQL (TANYA_DATABASE_URL) cannot be reached or used; names the server by its
    masked URL, never with the password."""
