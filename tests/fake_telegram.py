"""A small fake Telegram Bot API server for end-to-end tests of the python-telegram-bot bot.

Point PTB at it with::

    with FakeTelegram(token=TOKEN) as tg:
        app = (ApplicationBuilder().token(TOKEN).base_url(f"{tg.url}/bot")
               .base_file_url(f"{tg.url}/file/bot").build())

Requests arrive as ``POST /bot<TOKEN>/<method>`` with form fields (multipart or urlencoded,
non-string values JSON-encoded) and are answered like Telegram: ``{"ok": true, "result": ...}``
or ``{"ok": false, "error_code": ..., "description": ...}`` with the same HTTP status.
Differences from Telegram worth knowing: a bare ``&`` in HTML is an error here (Telegram keeps
it literally), chats need not exist before the bot writes to them, group messages always reach
the bot (no privacy mode) and Markdown parse modes are not parsed.
"""

from __future__ import annotations

import contextlib
import copy
import json
import mimetypes
import re
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = [
    "BOT_FIRST_NAME",
    "BOT_ID",
    "BOT_USERNAME",
    "FakeTelegram",
    "HtmlError",
    "parse_html",
    "utf16_len",
    "validate_html",
]

JSON = dict[str, Any]

BOT_ID = 999
BOT_FIRST_NAME = "Tanya"
BOT_USERNAME = "tanya_test_bot"
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_DOWNLOAD = 20 * 1024 * 1024

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are"
    " exactly the same as a current content and reply markup of the message"
)
CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
})
# Form fields that are strings in the Bot API; everything else is JSON-decoded when possible.
_STRING_FIELDS = frozenset({
    "text", "caption", "parse_mode", "callback_query_id", "file_id", "action", "data", "query",
    "url", "title", "description", "short_description", "name", "emoji", "language_code",
    "business_connection_id", "message_effect_id", "inline_message_id", "secret_token",
    "ip_address",
})


# --------------------------------------------------------------------------------------------
# HTML parse mode, the way Telegram (tdlib's parse_html) reads it, plus a strict rule for "&".

class HtmlError(ValueError):
    """Telegram would answer "can't parse entities" for this text."""


_TAG_TYPES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
    "del": "strikethrough", "a": "text_link", "code": "code", "pre": "pre", "span": "spoiler",
    "tg-spoiler": "spoiler", "blockquote": "blockquote", "tg-emoji": "custom_emoji",
}
_ENTITY_RE = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def utf16_len(text: str) -> int:
    """Length of text in UTF-16 code units, the unit of Telegram's offsets and limits."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


def _decode_entity(text: str, i: int) -> tuple[str, int]:
    """The character the entity at text[i] ("&") stands for, and the index after it."""
    m = _ENTITY_RE.match(text, i)
    if m is None:
        raise HtmlError(
            f'Character "&" at byte offset {_byte_offset(text, i)} does not start an HTML'
            ' entity; escape it as "&amp;"'
        )
    if m.group(1):
        return _NAMED[m.group(1)], m.end()
    code = int(m.group(2)) if m.group(2) else int(m.group(3), 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise HtmlError(f"Invalid numeric HTML entity at byte offset {_byte_offset(text, i)}")
    return chr(code), m.end()


@dataclass
class _OpenTag:
    name: str
    start: int  # UTF-16 offset in the plain text
    attrs: dict[str, str]
    language: str = ""


def parse_html(text: str) -> tuple[str, list[JSON]]:
    """Plain text and MessageEntity dicts for HTML text; raises HtmlError like Telegram would."""
    out: list[str] = []
    pos16 = 0
    stack: list[_OpenTag] = []
    entities: list[JSON] = []
    n = len(text)
    i = 0

    def unclosed(begin: int) -> HtmlError:
        return HtmlError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")

    while i < n:
        c = text[i]
        if c == "&":
            ch, i = _decode_entity(text, i)
            out.append(ch)
            pos16 += utf16_len(ch)
            continue
        if c != "<":
            out.append(c)
            pos16 += 2 if ord(c) > 0xFFFF else 1
            i += 1
            continue
        begin = i
        i += 1
        if i < n and text[i] == "/":  # end tag
            i += 1
            name_begin = i
            while i < n and text[i] != ">":
                i += 1
            if i >= n:
                raise HtmlError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
            name = text[name_begin:i].lower()
            i += 1
            if not stack:
                raise HtmlError(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
            top = stack[-1]
            if name != top.name:
                raise HtmlError(
                    f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, expected"
                    f' "</{top.name}>", found "</{name}>"'
                )
            stack.pop()
            _close_entity(top, pos16, stack, entities)
            continue
        # start tag
        name_begin = i
        while i < n and not text[i].isspace() and text[i] != ">":
            i += 1
        if i >= n:
            raise unclosed(begin)
        name = text[name_begin:i].lower()
        if name not in _TAG_TYPES:
            raise HtmlError(
                f'Unsupported start tag "{name}" at byte offset {_byte_offset(text, begin)}'
            )
        attrs: dict[str, str] = {}
        while True:
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise unclosed(begin)
            if text[i] == ">":
                i += 1
                break
            attr_begin = i
            while i < n and not text[i].isspace() and text[i] not in "=>":
                i += 1
            attr = text[attr_begin:i].lower()
            if not attr:
                raise HtmlError(
                    f'Empty attribute name in the tag "{name}" at byte offset'
                    f" {_byte_offset(text, begin)}"
                )
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise unclosed(begin)
            if text[i] != "=":
                attrs[attr] = ""
                continue
            i += 1
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise unclosed(begin)
            if text[i] in "'\"":
                quote = text[i]
                i += 1
                value: list[str] = []
                while i < n and text[i] != quote:
                    if text[i] == "&":
                        ch, i = _decode_entity(text, i)
                        value.append(ch)
                    else:
                        value.append(text[i])
                        i += 1
                if i >= n:
                    raise unclosed(begin)
                i += 1
                attrs[attr] = "".join(value)
            else:
                token_begin = i
                while i < n and ((text[i].isascii() and text[i].isalnum()) or text[i] in ".-"):
                    i += 1
                if i >= n:
                    raise unclosed(begin)
                if not text[i].isspace() and text[i] != ">":
                    raise HtmlError(
                        f"Unexpected end of name token at byte offset"
                        f" {_byte_offset(text, token_begin)}"
                    )
                attrs[attr] = text[token_begin:i].lower()
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise HtmlError(
                f'Tag "span" must have class "tg-spoiler" at byte offset'
                f" {_byte_offset(text, begin)}"
            )
        if name == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
            raise HtmlError(
                f'Tag "tg-emoji" must have a numeric "emoji-id" at byte offset'
                f" {_byte_offset(text, begin)}"
            )
        stack.append(_OpenTag(name, pos16, attrs))
    if stack:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _close_entity(tag: _OpenTag, end: int, stack: list[_OpenTag], entities: list[JSON]) -> None:
    length = end - tag.start
    kind = _TAG_TYPES[tag.name]
    if tag.name == "code" and stack and stack[-1].name == "pre":
        # <pre><code class="language-x">: one pre entity with a language, as Telegram does.
        cls = tag.attrs.get("class", "")
        stack[-1].language = cls.removeprefix("language-") if cls.startswith("language-") else ""
        return
    if length <= 0:
        return
    entity: JSON = {"type": kind, "offset": tag.start, "length": length}
    if tag.name == "a":
        href = tag.attrs.get("href", "")
        if not href:
            return
        entity["url"] = href
    elif tag.name == "pre" and tag.language:
        entity["language"] = tag.language
    elif tag.name == "blockquote" and "expandable" in tag.attrs:
        entity["type"] = "expandable_blockquote"
    elif tag.name == "tg-emoji":
        entity["custom_emoji_id"] = tag.attrs["emoji-id"]
    entities.append(entity)


def validate_html(text: str) -> str | None:
    """The reason Telegram would reject this HTML text ("can't parse entities: ..."), or None."""
    try:
        parse_html(text)
    except HtmlError as exc:
        return str(exc)
    return None


# --------------------------------------------------------------------------------------------
# Server state.

class _ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad(description: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {description}")


@dataclass
class _Failure:
    code: int
    description: str
    retry_after: int
    times: int


@dataclass
class _File:
    file_id: str
    unique_id: str
    name: str
    content: bytes
    path: str
    mime_type: str


@dataclass
class _Msg:
    chat_id: int
    message_id: int
    data: JSON  # the Message object as Telegram would send it
    from_bot: bool
    raw: str = ""
    plain: str = ""
    parse_mode: str | None = None
    reply_to_message_id: int | None = None
    reply_markup: Any = None
    edits: int = 0
    deleted: bool = False
    document: JSON | None = None


@dataclass
class _Parsed:
    raw: str
    plain: str
    entities: list[JSON]
    parse_mode: str | None


_DEFAULT_ERRORS = {
    400: "Bad Request: injected error",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot"
         " instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class FakeTelegram:
    """An in-process Bot API server: inject updates, inspect what the bot sent."""

    def __init__(self, token: str = "123:ABC", *, host: str = "127.0.0.1") -> None:
        self.token = token
        self._host = host
        self._cond = threading.Condition(threading.RLock())
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self._closed = False
        self._url: str | None = None
        self._update_id = 1000
        self._message_id = 100
        self._file_seq = 0
        self._callback_seq = 0
        self._updates: list[JSON] = []
        self._messages: dict[tuple[int, int], _Msg] = {}
        self._bot_order: list[tuple[int, int]] = []
        self._drafts: dict[int, list[JSON]] = {}
        self._actions: dict[int, list[str]] = {}
        self._callback_answers: list[JSON] = []
        self._open_callbacks: dict[str, bool] = {}
        self._calls: list[tuple[str, JSON]] = []
        self._failures: dict[str, list[_Failure]] = {}
        self._files: dict[str, _File] = {}
        self._commands: dict[str, list[JSON]] = {}
        self._chats: dict[int, JSON] = {}
        self._users: dict[int, JSON] = {}
        self._webhook: JSON = {}
        self._downloads: list[str] = []
        self._methods: dict[str, tuple[str, Callable[[JSON], Any]]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "sendMessageDraft": self._send_message_draft,
                "sendChatAction": self._send_chat_action,
                "answerCallbackQuery": self._answer_callback_query,
                "deleteMessage": self._delete_message,
                "getFile": self._get_file,
                "sendDocument": self._send_document,
            }.items()
        }

    # ---- lifecycle ---------------------------------------------------------------------

    def start(self) -> FakeTelegram:
        """Start serving on a free port in a daemon thread."""
        if self._server is not None:
            return self
        server = _Server((self._host, 0), _Handler, self)
        self._server = server
        self._url = f"http://{self._host}:{server.server_address[1]}"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05},
            name="fake-telegram", daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving: wake long polls, close connections, join the thread."""
        server = self._server
        if server is None:
            return
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        server.shutdown()
        with self._cond:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        """Base address, "http://127.0.0.1:PORT"."""
        if self._url is None:
            raise RuntimeError("FakeTelegram is not started")
        return self._url

    @property
    def bot_user(self) -> JSON:
        """The bot's User object (what getMe returns)."""
        return {
            "id": BOT_ID, "is_bot": True, "first_name": BOT_FIRST_NAME, "username": BOT_USERNAME,
            "can_join_groups": True, "can_read_all_group_messages": False,
            "supports_inline_queries": False, "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    # ---- configuration -----------------------------------------------------------------

    def fail_next(self, method: str, error_code: int = 429, retry_after: int = 1,
                  description: str | None = None, times: int = 1) -> None:
        """Make the next `times` calls of `method` fail with this error (429 adds retry_after)."""
        if times < 1:
            return
        if description is None:
            if error_code == 429:
                description = f"Too Many Requests: retry after {retry_after}"
            else:
                description = _DEFAULT_ERRORS.get(error_code, f"Error {error_code}")
        with self._cond:
            self._failures.setdefault(method.lower(), []).append(
                _Failure(error_code, description, retry_after, times))

    def add_file(self, content: bytes, name: str) -> tuple[str, str]:
        """Register a downloadable file; returns (file_id, file_unique_id)."""
        with self._cond:
            f = self._add_file(content, name)
            return f.file_id, f.unique_id

    def _add_file(self, content: bytes, name: str, mime_type: str | None = None) -> _File:
        self._file_seq += 1
        seq = self._file_seq
        suffix = name.rsplit(".", 1)[1] if "." in name else "bin"
        mime = mime_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        f = _File(
            file_id=f"BQACAgIAAxkBAAI{seq:04d}", unique_id=f"AgAD{seq:04d}", name=name,
            content=content, path=f"documents/file_{seq}.{suffix}", mime_type=mime,
        )
        self._files[f.file_id] = f
        return f

    # ---- update injection --------------------------------------------------------------

    def user_message(self, user_id: int, text: str, *, chat_id: int | None = None,
                     chat_type: str = "private", reply_to_message_id: int | None = None,
                     first_name: str = "User", language_code: str | None = None,
                     chat_title: str = "Test group") -> int:
        """Queue a text message from a user; returns its message_id."""
        with self._cond:
            self._remember_user(user_id, first_name, language_code)
            msg = self._user_msg(user_id, chat_id, chat_type, chat_title, reply_to_message_id)
            msg.data["text"] = text
            entities = _user_entities(text)
            if entities:
                msg.data["entities"] = entities
            msg.raw = msg.plain = text
            self._queue({"message": copy.deepcopy(msg.data)})
            return msg.message_id

    def user_document(self, user_id: int, file_name: str, content: bytes,
                      caption: str | None = None, *, chat_id: int | None = None,
                      chat_type: str = "private", mime_type: str | None = None,
                      sized: bool = True) -> int:
        """Queue a message with a document (registered for getFile); returns its message_id.
        With sized=False the message leaves out file_size (optional in the Bot API)."""
        with self._cond:
            self._remember_user(user_id)
            f = self._add_file(content, file_name, mime_type)
            msg = self._user_msg(user_id, chat_id, chat_type, "Test group", None)
            msg.data["document"] = {
                "file_id": f.file_id, "file_unique_id": f.unique_id, "file_name": file_name,
                "mime_type": f.mime_type, "file_size": len(content),
            }
            if not sized:
                del msg.data["document"]["file_size"]
            if caption is not None:
                msg.data["caption"] = caption
                entities = _user_entities(caption)
                if entities:
                    msg.data["caption_entities"] = entities
                msg.raw = msg.plain = caption
            self._queue({"message": copy.deepcopy(msg.data)})
            return msg.message_id

    def user_sticker(self, user_id: int, *, chat_id: int | None = None,
                     chat_type: str = "private", emoji: str = "👍") -> int:
        """Queue a sticker message from a user; returns its message_id."""
        with self._cond:
            self._remember_user(user_id)
            msg = self._user_msg(user_id, chat_id, chat_type, "Test group", None)
            self._file_seq += 1
            msg.data["sticker"] = {
                "file_id": f"CAACAgIAAxkBAAI{self._file_seq:04d}",
                "file_unique_id": f"AgAD{self._file_seq:04d}", "type": "regular",
                "width": 512, "height": 512, "is_animated": False, "is_video": False,
                "emoji": emoji, "set_name": "TestStickers", "file_size": 1234,
            }
            self._queue({"message": copy.deepcopy(msg.data)})
            return msg.message_id

    def callback(self, user_id: int, message_id: int, data: str,
                 chat_id: int | None = None) -> str:
        """Queue a button press on the bot's message; returns the callback query id."""
        with self._cond:
            msg = self._find(message_id, chat_id)
            if msg is None or not msg.from_bot or msg.deleted:
                raise ValueError(f"no live bot message {message_id} to press a button on")
            self._remember_user(user_id)
            self._callback_seq += 1
            query_id = f"{4_000_000_000_000 + self._callback_seq}"
            self._open_callbacks[query_id] = False
            self._queue({"callback_query": {
                "id": query_id, "from": copy.deepcopy(self._users[user_id]),
                "message": copy.deepcopy(msg.data),
                "chat_instance": str(abs(msg.chat_id) * 7 + 13), "data": data,
            }})
            return query_id

    def edited_message(self, user_id: int, message_id: int, text: str) -> None:
        """Queue an edited_message update for a user's earlier text message."""
        with self._cond:
            msg = self._find(message_id, None)
            if msg is None or msg.from_bot or msg.data["from"]["id"] != user_id:
                raise ValueError(f"user {user_id} has no message {message_id}")
            msg.data["text"] = text
            msg.data.pop("entities", None)
            entities = _user_entities(text)
            if entities:
                msg.data["entities"] = entities
            msg.data["edit_date"] = int(time.time())
            msg.raw = msg.plain = text
            msg.edits += 1
            self._queue({"edited_message": copy.deepcopy(msg.data)})

    def _remember_user(self, user_id: int, first_name: str | None = None,
                       language_code: str | None = None) -> None:
        user = self._users.setdefault(
            user_id, {"id": user_id, "is_bot": False, "first_name": "User"})
        if first_name is not None:
            user["first_name"] = first_name
        if language_code is not None:
            user["language_code"] = language_code

    def _user_msg(self, user_id: int, chat_id: int | None, chat_type: str, chat_title: str,
                  reply_to: int | None) -> _Msg:
        if chat_id is None:
            if chat_type != "private":
                raise ValueError("a group message needs a negative chat_id")
            chat_id = user_id
        elif chat_id < 0 and chat_type == "private":
            chat_type = "supergroup"
        if chat_type == "private":
            if chat_id != user_id:
                raise ValueError("a private chat's id is the user's id")
            user = self._users[user_id]
            chat: JSON = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
        else:
            if chat_id >= 0:
                raise ValueError("group chat ids are negative")
            chat = {"id": chat_id, "type": chat_type, "title": chat_title}
        self._chats[chat_id] = chat
        msg = self._new_msg(chat_id, copy.deepcopy(self._users[user_id]), from_bot=False)
        if reply_to is not None:
            target = self._messages.get((chat_id, reply_to))
            if target is None:
                raise ValueError(f"no message {reply_to} in chat {chat_id} to reply to")
            msg.data["reply_to_message"] = _nested(target.data)
            msg.reply_to_message_id = reply_to
        return msg

    def _new_msg(self, chat_id: int, sender: JSON, *, from_bot: bool) -> _Msg:
        self._message_id += 1
        mid = self._message_id
        data: JSON = {
            "message_id": mid, "from": sender, "chat": copy.deepcopy(self._chat(chat_id)),
            "date": int(time.time()),
        }
        msg = _Msg(chat_id=chat_id, message_id=mid, data=data, from_bot=from_bot)
        self._messages[(chat_id, mid)] = msg
        if from_bot:
            self._bot_order.append((chat_id, mid))
        return msg

    def _queue(self, body: JSON) -> None:
        self._update_id += 1
        self._updates.append({"update_id": self._update_id, **body})
        self._cond.notify_all()

    def _find(self, message_id: int, chat_id: int | None) -> _Msg | None:
        if chat_id is not None:
            return self._messages.get((chat_id, message_id))
        for (_, mid), msg in self._messages.items():
            if mid == message_id:
                return msg
        return None

    def _chat(self, chat_id: int) -> JSON:
        chat = self._chats.get(chat_id)
        if chat is None:
            if chat_id > 0:
                user = self._users.get(chat_id, {"first_name": "User"})
                chat = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
            else:
                chat = {"id": chat_id, "type": "supergroup", "title": "Test group"}
            self._chats[chat_id] = chat
        return chat

    # ---- inspection --------------------------------------------------------------------

    def sent(self, chat_id: int | None = None) -> list[JSON]:
        """Messages the bot sent (latest state of each, in send order), optionally in one chat."""
        with self._cond:
            out = []
            for key in self._bot_order:
                msg = self._messages[key]
                if chat_id is not None and msg.chat_id != chat_id:
                    continue
                out.append({
                    "chat_id": msg.chat_id, "message_id": msg.message_id, "text": msg.raw,
                    "plain": msg.plain, "parse_mode": msg.parse_mode,
                    "entities": copy.deepcopy(
                        msg.data.get("entities", msg.data.get("caption_entities", []))),
                    "reply_to_message_id": msg.reply_to_message_id,
                    "reply_markup": copy.deepcopy(msg.reply_markup), "edits": msg.edits,
                    "deleted": msg.deleted, "document": copy.deepcopy(msg.document),
                })
            return out

    def drafts(self, chat_id: int, *, plain: bool = False) -> list[str]:
        """Texts of every sendMessageDraft to a chat, in order (raw, or plain with plain=True)."""
        with self._cond:
            key = "plain" if plain else "text"
            return [str(d[key]) for d in self._drafts.get(chat_id, [])]

    def actions(self, chat_id: int) -> list[str]:
        """Chat actions ("typing", ...) sent to a chat, in order."""
        with self._cond:
            return list(self._actions.get(chat_id, []))

    @property
    def callback_answers(self) -> list[JSON]:
        """Parameters of every successful answerCallbackQuery, in order."""
        with self._cond:
            return copy.deepcopy(self._callback_answers)

    def calls(self, method: str | None = None) -> list[tuple[str, JSON]]:
        """Every API call as (method, parsed params), optionally only one method."""
        with self._cond:
            return [
                (name, copy.deepcopy(params)) for name, params in self._calls
                if method is None or name.lower() == method.lower()
            ]

    def pending_updates(self) -> int:
        """How many injected updates the bot has not confirmed yet."""
        with self._cond:
            return len(self._updates)

    @property
    def webhook(self) -> JSON:
        """Parameters of the last setWebhook (url, secret_token, ...); empty when none is set."""
        with self._cond:
            return copy.deepcopy(self._webhook)

    @property
    def downloads(self) -> list[str]:
        """Names of the files the bot downloaded, in order."""
        with self._cond:
            return list(self._downloads)

    def take_updates(self) -> list[JSON]:
        """Remove the injected updates and return them, to POST them to a webhook instead."""
        with self._cond:
            taken, self._updates = self._updates, []
            return taken

    def wait_for(self, predicate: Callable[[FakeTelegram], bool], timeout: float = 10) -> None:
        """Wait until predicate(self) is true; AssertionError with a summary on timeout."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"condition not met in {timeout}s\n{self.summary()}")
            with self._cond:
                self._cond.wait(min(0.05, remaining))

    def summary(self) -> str:
        """Readable list of sent messages and recent calls, for failure messages."""
        with self._cond:
            lines = ["sent messages:"]
            for m in self.sent():
                flags = f" edits={m['edits']}" + (" DELETED" if m["deleted"] else "")
                lines.append(f"  chat={m['chat_id']} id={m['message_id']}{flags}: "
                             f"{m['plain'][:300]!r}")
            if len(lines) == 1:
                lines.append("  (none)")
            recent = [name for name, _ in self._calls[-20:]]
            lines.append(f"recent calls: {', '.join(recent) or '(none)'}")
            lines.append(f"pending updates: {len(self._updates)}")
            return "\n".join(lines)

    # ---- request handling --------------------------------------------------------------

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._cond:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    def _api(self, token: str, method: str, params: JSON) -> tuple[int, JSON]:
        if token != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        key = method.lower()
        entry = self._methods.get(key)
        with self._cond:
            try:
                self._calls.append((entry[0] if entry else method, params))
                if entry is None:
                    raise _ApiError(404, "Not Found: method not found")
                failures = self._failures.get(key)
                if failures:
                    failure = failures[0]
                    failure.times -= 1
                    if failure.times <= 0:
                        failures.pop(0)
                    extra = {"retry_after": failure.retry_after} if failure.code == 429 else None
                    raise _ApiError(failure.code, failure.description, extra)
                return 200, {"ok": True, "result": entry[1](params)}
            except _ApiError as exc:
                return exc.code, exc.payload()
            except Exception as exc:  # a bug in the fake: make it loud, not a hung request
                traceback.print_exc()
                return 500, {"ok": False, "error_code": 500,
                             "description": f"Internal Server Error: fake failed: {exc!r}"}
            finally:
                self._cond.notify_all()

    def _download(self, rest: str) -> tuple[int, str, bytes]:
        token, _, path = rest.partition("/")
        if token != self.token:
            return 401, "application/json", _dumps(
                {"ok": False, "error_code": 401, "description": "Unauthorized"})
        with self._cond:
            for f in self._files.values():
                if f.path == path:
                    self._downloads.append(f.name)
                    return 200, f.mime_type, f.content
        return 404, "application/json", _dumps(
            {"ok": False, "error_code": 404, "description": "Not Found"})

    # ---- methods -----------------------------------------------------------------------

    def _get_me(self, params: JSON) -> JSON:
        return self.bot_user

    def _get_updates(self, params: JSON) -> list[JSON]:
        offset = _int(params.get("offset", 0), "offset")
        limit = max(1, min(100, _int(params.get("limit", 100), "limit")))
        timeout = max(0.0, float(params.get("timeout", 0) or 0))
        if offset < 0:
            del self._updates[:offset]
        elif offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        deadline = time.monotonic() + timeout
        while not self._updates and not self._closed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._cond.wait(remaining)
        return copy.deepcopy(self._updates[:limit])

    def _set_webhook(self, params: JSON) -> bool:
        url = str(params.get("url") or "")
        if not url.startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad("secret token contains unallowed characters")
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        self._webhook = dict(params)
        return True

    def _delete_webhook(self, params: JSON) -> bool:
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        self._webhook = {}
        return True

    def _get_webhook_info(self, params: JSON) -> JSON:
        return {"url": str(self._webhook.get("url", "")), "has_custom_certificate": False,
                "pending_update_count": len(self._updates)}

    @staticmethod
    def _commands_key(params: JSON) -> str:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True) + "|" + str(params.get("language_code") or "")

    def _set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("commands must be a list of at most 100 BotCommand")
        for cmd in commands:
            name = cmd.get("command", "") if isinstance(cmd, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(name)):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(cmd.get("description", ""))) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[self._commands_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands]
        return True

    def _get_my_commands(self, params: JSON) -> list[JSON]:
        return copy.deepcopy(self._commands.get(self._commands_key(params), []))

    def _parse_text(self, params: JSON, field: str, entities_field: str, limit: int,
                    too_long: str, *, allow_empty: bool = False) -> _Parsed:
        raw = params.get(field)
        if raw is None:
            raw = ""
        if not isinstance(raw, str):
            raw = str(raw)
        parse_mode = params.get("parse_mode")
        parse_mode = str(parse_mode) if parse_mode else None
        given = params.get(entities_field)
        if isinstance(given, list):
            plain, entities = raw, given
        elif parse_mode is not None and parse_mode.lower() == "html":
            try:
                plain, entities = parse_html(raw)
            except HtmlError as exc:
                raise _bad(f"can't parse entities: {exc}") from None
        else:
            plain, entities = raw, []
        if not allow_empty and not plain.strip():
            raise _bad("message text is empty")
        if utf16_len(plain) > limit:
            raise _bad(too_long)
        return _Parsed(raw, plain, entities, parse_mode)

    def _chat_id(self, params: JSON) -> int:
        value = params.get("chat_id")
        if value is None or value == "":
            raise _bad("chat_id is empty")
        if isinstance(value, bool):
            raise _bad("chat not found")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
            return int(value)
        raise _bad("chat not found")

    def _reply_to(self, params: JSON, chat_id: int) -> int | None:
        rp = params.get("reply_parameters")
        allow = bool(params.get("allow_sending_without_reply"))
        mid: Any = params.get("reply_to_message_id")
        if isinstance(rp, dict):
            mid = rp.get("message_id")
            allow = allow or bool(rp.get("allow_sending_without_reply"))
            if rp.get("chat_id") not in (None, chat_id):
                raise _bad("replies to other chats are not supported by the fake")
        if mid is None:
            return None
        target = self._messages.get((chat_id, _int(mid, "reply_to_message_id")))
        if target is None or target.deleted:
            if allow:
                return None
            raise _bad("message to be replied not found")
        return target.message_id

    @staticmethod
    def _markup(params: JSON) -> Any:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                    raise _bad("BUTTON_DATA_INVALID")
                if not button.get("text"):
                    raise _bad("text buttons are unallowed in the inline keyboard")
        return markup

    def _send_message(self, params: JSON) -> JSON:
        chat_id = self._chat_id(params)
        parsed = self._parse_text(params, "text", "entities", MAX_TEXT, "message is too long")
        markup = self._markup(params)
        reply_to = self._reply_to(params, chat_id)
        msg = self._new_msg(chat_id, self.bot_user, from_bot=True)
        self._apply_text(msg, parsed, markup)
        msg.reply_to_message_id = reply_to
        if reply_to is not None:
            msg.data["reply_to_message"] = _nested(self._messages[(chat_id, reply_to)].data)
        for key in ("message_thread_id", "link_preview_options"):
            if params.get(key) is not None:
                msg.data[key] = params[key]
        return copy.deepcopy(msg.data)

    @staticmethod
    def _apply_text(msg: _Msg, parsed: _Parsed, markup: Any) -> None:
        msg.raw, msg.plain, msg.parse_mode = parsed.raw, parsed.plain, parsed.parse_mode
        msg.data["text"] = parsed.plain
        msg.data.pop("entities", None)
        if parsed.entities:
            msg.data["entities"] = parsed.entities
        _set_markup(msg, markup)

    def _editable(self, params: JSON) -> _Msg:
        if params.get("inline_message_id") is not None:
            raise _bad("inline messages are not supported by the fake")
        chat_id = self._chat_id(params)
        msg = self._messages.get((chat_id, _int(params.get("message_id"), "message_id")))
        if msg is None or msg.deleted:
            raise _bad("message to edit not found")
        if not msg.from_bot:
            raise _bad("message can't be edited")
        return msg

    def _edit_message_text(self, params: JSON) -> JSON:
        msg = self._editable(params)
        if msg.document is not None:
            raise _bad("there is no text in the message to edit")
        parsed = self._parse_text(params, "text", "entities", MAX_TEXT, "message is too long")
        markup = self._markup(params)
        inline = markup if isinstance(markup, dict) and "inline_keyboard" in markup else None
        if (parsed.plain == msg.plain and parsed.entities == msg.data.get("entities", [])
                and inline == msg.data.get("reply_markup")):
            raise _bad(NOT_MODIFIED.removeprefix("Bad Request: "))
        self._apply_text(msg, parsed, markup)
        msg.edits += 1
        msg.data["edit_date"] = int(time.time())
        return copy.deepcopy(msg.data)

    def _edit_message_reply_markup(self, params: JSON) -> JSON:
        msg = self._editable(params)
        markup = self._markup(params)
        inline = markup if isinstance(markup, dict) and "inline_keyboard" in markup else None
        if inline == msg.data.get("reply_markup"):
            raise _bad(NOT_MODIFIED.removeprefix("Bad Request: "))
        _set_markup(msg, markup)
        msg.edits += 1
        msg.data["edit_date"] = int(time.time())
        return copy.deepcopy(msg.data)

    def _send_message_draft(self, params: JSON) -> bool:
        chat_id = self._chat_id(params)
        if chat_id <= 0:
            raise _bad("draft messages can be sent only to private chats")
        draft_id = _int(params.get("draft_id"), "draft_id")
        if draft_id == 0:
            raise _bad("draft_id must be non-zero")
        parsed = self._parse_text(params, "text", "entities", MAX_TEXT, "message is too long",
                                  allow_empty=True)
        self._drafts.setdefault(chat_id, []).append({
            "draft_id": draft_id, "text": parsed.raw, "plain": parsed.plain,
            "parse_mode": parsed.parse_mode,
        })
        return True

    def _send_chat_action(self, params: JSON) -> bool:
        chat_id = self._chat_id(params)
        action = params.get("action")
        if action not in CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self._actions.setdefault(chat_id, []).append(str(action))
        return True

    def _answer_callback_query(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if self._open_callbacks.get(query_id, True):
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        if len(str(params.get("text", ""))) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        self._open_callbacks[query_id] = True
        self._callback_answers.append(copy.deepcopy(params))
        return True

    def _delete_message(self, params: JSON) -> bool:
        chat_id = self._chat_id(params)
        msg = self._messages.get((chat_id, _int(params.get("message_id"), "message_id")))
        if msg is None or msg.deleted:
            raise _bad("message to delete not found")
        msg.deleted = True
        return True

    def _get_file(self, params: JSON) -> JSON:
        f = self._files.get(str(params.get("file_id", "")))
        if f is None:
            raise _bad("invalid file_id")
        if len(f.content) > MAX_DOWNLOAD:
            raise _bad("file is too big")
        return {"file_id": f.file_id, "file_unique_id": f.unique_id,
                "file_size": len(f.content), "file_path": f.path}

    def _send_document(self, params: JSON) -> JSON:
        chat_id = self._chat_id(params)
        doc = params.get("document")
        if isinstance(doc, dict) and isinstance(doc.get("content"), bytes):
            f = self._add_file(doc["content"], str(doc.get("filename") or "document"),
                               doc.get("content_type"))
        elif isinstance(doc, str) and doc in self._files:
            f = self._files[doc]
        elif isinstance(doc, str) and doc.startswith(("http://", "https://")):
            f = self._add_file(b"", doc.rsplit("/", 1)[-1] or "document")
        else:
            raise _bad("wrong file identifier/HTTP URL specified")
        parsed = self._parse_text(params, "caption", "caption_entities", MAX_CAPTION,
                                  "message caption is too long", allow_empty=True)
        markup = self._markup(params)
        reply_to = self._reply_to(params, chat_id)
        msg = self._new_msg(chat_id, self.bot_user, from_bot=True)
        msg.data["document"] = {
            "file_id": f.file_id, "file_unique_id": f.unique_id, "file_name": f.name,
            "mime_type": f.mime_type, "file_size": len(f.content),
        }
        if parsed.plain:
            msg.data["caption"] = parsed.plain
            if parsed.entities:
                msg.data["caption_entities"] = parsed.entities
        msg.raw, msg.plain, msg.parse_mode = parsed.raw, parsed.plain, parsed.parse_mode
        msg.document = {"file_id": f.file_id, "file_name": f.name, "mime_type": f.mime_type,
                        "content": f.content}
        msg.reply_to_message_id = reply_to
        if reply_to is not None:
            msg.data["reply_to_message"] = _nested(self._messages[(chat_id, reply_to)].data)
        _set_markup(msg, markup)
        return copy.deepcopy(msg.data)


def _set_markup(msg: _Msg, markup: Any) -> None:
    msg.reply_markup = copy.deepcopy(markup)
    msg.data.pop("reply_markup", None)
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        msg.data["reply_markup"] = copy.deepcopy(markup)  # Telegram echoes inline keyboards only


def _nested(data: JSON) -> JSON:
    inner = copy.deepcopy(data)
    inner.pop("reply_to_message", None)
    return inner


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise _bad(f"{name} must be a number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise _bad(f"{name} is empty" if value is None else f"{name} must be a number")


_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@])")
_MENTION_RE = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{5,32}(?![\w@])")


def _user_entities(text: str) -> list[JSON]:
    """bot_command and mention entities, as Telegram attaches them to a user's text."""
    entities: list[JSON] = []
    command_end = 0
    m = _COMMAND_RE.match(text)
    if m:
        entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(m.group())})
        command_end = m.end()
    for mm in _MENTION_RE.finditer(text, command_end):
        entities.append({"type": "mention", "offset": utf16_len(text[:mm.start()]),
                         "length": utf16_len(mm.group())})
    return entities


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


# --------------------------------------------------------------------------------------------
# HTTP plumbing.

class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 drops connections of a busy bot

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler],
                 fake: FakeTelegram) -> None:
        self.fake = fake
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError) or self.fake._closed:
            return  # a client went away, or we are shutting down
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        body = self._read_body()
        if path.startswith("/file/bot"):
            status, ctype, payload = fake._download(path[len("/file/bot"):])
        elif path.startswith("/bot"):
            token, _, method = path[len("/bot"):].partition("/")
            try:
                params = _parse_params(parts.query, self.headers.get("Content-Type", ""), body)
            except ValueError:
                status, obj = 400, {"ok": False, "error_code": 400,
                                    "description": "Bad Request: can't parse request"}
            else:
                status, obj = fake._api(token, method, params)
            ctype, payload = "application/json", _dumps(obj)
        else:
            status, ctype = 404, "application/json"
            payload = _dumps({"ok": False, "error_code": 404, "description": "Not Found"})
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _decode_field(name: str, raw: str) -> Any:
    if name in _STRING_FIELDS:
        return raw
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    return raw if isinstance(value, str) else value


_PARAM_RE = re.compile(r'([\w-]+)="((?:[^"\\]|\\.)*)"')


def _unescape_form_param(value: str) -> str:
    value = re.sub(r"%([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), value)
    return value.replace("\\\\", "\\")


def _parse_params(query: str, content_type: str, body: bytes) -> JSON:
    """Form, multipart or JSON body (plus query string) -> params, files as dicts."""
    params: JSON = {k: _decode_field(k, v) for k, v in parse_qsl(query, keep_blank_values=True)}
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype == "application/json" and body:
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("JSON body must be an object")
        params.update(data)
    elif ctype == "multipart/form-data":
        m = re.search(r'boundary="?([^";]+)"?', content_type)
        if m is None:
            raise ValueError("multipart without boundary")
        files: dict[str, JSON] = {}
        for part in body.split(b"--" + m.group(1).encode())[1:]:
            if part.startswith(b"--"):
                break
            part = part.removeprefix(b"\r\n").removesuffix(b"\r\n")
            head, _, content = part.partition(b"\r\n\r\n")
            headers: dict[str, str] = {}
            for line in head.decode("utf-8").split("\r\n"):
                key, _, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
            attrs = {k.lower(): _unescape_form_param(v)
                     for k, v in _PARAM_RE.findall(headers.get("content-disposition", ""))}
            name = attrs.get("name", "")
            if "filename" in attrs:
                files[name] = {"filename": attrs["filename"], "content": content,
                               "content_type": headers.get("content-type")}
                params[name] = files[name]
            else:
                params[name] = _decode_field(name, content.decode("utf-8"))
        for key, value in list(params.items()):  # attach://name points at a multipart file
            if isinstance(value, str) and value.startswith("attach://"):
                attached = files.get(value.removeprefix("attach://"))
                if attached is not None:
                    params[key] = attached
    elif body:
        for k, v in parse_qsl(body.decode("utf-8"), keep_blank_values=True):
            params[k] = _decode_field(k, v)
    return params
