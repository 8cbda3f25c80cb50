"""A local fake of the Telegram Bot API: a real HTTP server on 127.0.0.1 for tests and benches.

It answers the methods newsbot uses, records every call, lets tests inject updates (commands,
text, button presses) that a long-polling client receives, and injects faults on demand.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qsl

import pytest

FaultKind = Literal["retry_after", "blocked", "chat_not_found", "server_error", "timeout", "migrated"]
# How every method fails while the server is down: a dropped connection, an error status, or a 200 whose
# body is not JSON.
DownMode = Literal["reset", "bad_gateway", "unauthorized", "not_found", "server_error", "garbage"]
_DOWN_REPLIES: dict[str, tuple[int, str]] = {
    "bad_gateway": (502, "Bad Gateway"), "unauthorized": (401, "Unauthorized"),
    "not_found": (404, "Not Found"), "server_error": (500, "Internal Server Error"),
}
Params = dict[str, Any]

BOT_ID = 4242
BOT_USERNAME = "newsbot_test_bot"
RAW_STRING_FIELDS = frozenset({"text", "parse_mode", "callback_query_id", "data", "description"})


@dataclass
class Fault:
    """One injected failure: its kind, and how many calls it still applies to (None = until cleared)."""

    kind: FaultKind
    remaining: int | None = 1
    retry_after: int = 1
    delay: float = 3.0
    skip: int = 0
    migrate_to: int = 0


@dataclass
class Reply:
    """What the server answers to one call."""

    status: int
    body: Params | None  # None: drop the connection without an answer
    raw: bytes | None = None  # sent as it is instead of `body`


def _ok(result: Any) -> Reply:
    return Reply(200, {"ok": True, "result": result})


def _error(status: int, description: str, **parameters: Any) -> Reply:
    body: Params = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return Reply(status, body)


def _decode_value(key: str, raw: str) -> Any:
    """Undo the client's encoding: non-string values arrive JSON-encoded."""
    if key in RAW_STRING_FIELDS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def parse_body(content_type: str, body: bytes) -> Params:
    """Parse an urlencoded, JSON or multipart request body into a dict of decoded values."""
    if not body:
        return {}
    if content_type.startswith("application/json"):
        data = json.loads(body)
        return dict(data) if isinstance(data, dict) else {}
    if content_type.startswith("multipart/form-data"):
        return _parse_multipart(content_type, body)
    pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    return {key: _decode_value(key, value) for key, value in pairs}


def _parse_multipart(content_type: str, body: bytes) -> Params:
    boundary = content_type.split("boundary=", 1)[1].strip('"').encode()
    params: Params = {}
    for part in body.split(b"--" + boundary):
        head, sep, value = part.partition(b"\r\n\r\n")
        if not sep or b'name="' not in head:
            continue
        name = head.split(b'name="', 1)[1].split(b'"', 1)[0].decode()
        params[name] = _decode_value(name, value.removesuffix(b"\r\n").decode("utf-8", "replace"))
    return params


class FakeBotAPI:
    """A fake Bot API server; `base_url` is what the client's base_url option takes."""

    def __init__(self, *, rate_limit_per_second: float | None = None, rate_limit_burst: float | None = None):
        self.calls: list[tuple[str, Params]] = []
        self.delivered: list[tuple[int | str, str, int]] = []  # (chat_id, text, message_id)
        self.rate_limited = 0
        self.down = False
        self.down_mode: DownMode = "reset"
        self.commands: list[Params] = []
        self._lock = threading.Lock()
        self._updates_cond = threading.Condition(self._lock)
        self._updates: deque[Params] = deque()
        self._next_update_id = 1
        self._next_message_id = 1
        self._faults: dict[int | str | None, deque[Fault]] = {}
        self._chats: dict[int, Params] = {}
        self._usernames: dict[str, int] = {}
        self._admins: dict[int, set[int]] = {}
        self._creators: dict[int, int] = {}
        self._messages: dict[tuple[int, int], Params] = {}
        self._rate = rate_limit_per_second
        self._burst = rate_limit_burst if rate_limit_burst is not None else (rate_limit_per_second or 0.0)
        self._tokens = self._burst
        self._tokens_at = time.monotonic()
        self._stopping = False
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.api = self
        self.port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/bot"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fakebotapi",
                                        daemon=True)

    # lifecycle -----------------------------------------------------------------------------
    def start(self) -> FakeBotAPI:
        """Start serving in a daemon thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and wake every waiting long poll."""
        with self._lock:
            self._stopping = True
            self._updates_cond.notify_all()
        self._server.shutdown()
        self._server.server_close()

    # chats and members ---------------------------------------------------------------------
    def add_chat(self, chat_id: int, chat_type: str = "private", *, title: str = "", username: str = "",
                 admins: tuple[int, ...] = (), creator: int | None = None) -> None:
        """Declare a chat, its admins and its creator (for getChat / getChatMember)."""
        chat: Params = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = title or f"user{chat_id}"
        else:
            chat["title"] = title or f"chat{chat_id}"
        if username:
            chat["username"] = username
            self._usernames["@" + username.lstrip("@").lower()] = chat_id
        with self._lock:
            self._chats[chat_id] = chat
            self._admins[chat_id] = set(admins)
            if creator is not None:
                self._creators[chat_id] = creator

    def set_admins(self, chat_id: int, admins: tuple[int, ...]) -> None:
        """Replace the admins of a chat."""
        with self._lock:
            self._admins[chat_id] = set(admins)

    def chat(self, chat_id: int) -> Params:
        """The chat object for an id (declared, or guessed from the id's sign)."""
        known = self._chats.get(chat_id)
        if known is not None:
            return known
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"user{chat_id}"}
        kind = "supergroup" if chat_id < -1_000_000_000_000 else "group"
        return {"id": chat_id, "type": kind, "title": f"chat{chat_id}"}

    # update injection ----------------------------------------------------------------------
    def _queue_update(self, body: Params) -> int:
        with self._lock:
            update_id = self._next_update_id
            self._next_update_id += 1
            self._updates.append({"update_id": update_id, **body})
            self._updates_cond.notify_all()
        return update_id

    def _message(self, text: str, chat_id: int, user_id: int, chat_type: str) -> Params:
        with self._lock:
            message_id = self._next_message_id
            self._next_message_id += 1
        chat = dict(self.chat(chat_id))
        chat["type"] = chat_type
        if chat_type != "private":
            chat.setdefault("title", f"chat{chat_id}")
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"},
            "text": text,
        }

    def send_command(self, text: str, chat_id: int, user_id: int, chat_type: str = "private") -> int:
        """Queue a message starting with a bot command (e.g. "/start" or "/latest 3")."""
        message = self._message(text, chat_id, user_id, chat_type)
        command = text.split()[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self._queue_update({"message": message})

    def send_text(self, text: str, chat_id: int, user_id: int, chat_type: str = "private") -> int:
        """Queue a plain text message."""
        return self._queue_update({"message": self._message(text, chat_id, user_id, chat_type)})

    def press_button(self, data: str, chat_id: int, user_id: int, message_id: int) -> int:
        """Queue a callback query: a user pressing an inline button of a message the bot sent."""
        with self._lock:
            stored = self._messages.get((chat_id, message_id))
        message = dict(stored) if stored else {"message_id": message_id, "date": int(time.time()),
                                               "chat": self.chat(chat_id), "text": "settings"}
        query = {
            "id": f"cq{message_id}-{time.monotonic_ns()}",
            "from": {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"},
            "message": message,
            "chat_instance": str(chat_id),
            "data": data,
        }
        return self._queue_update({"callback_query": query})

    # faults -------------------------------------------------------------------------------
    def add_fault(self, kind: FaultKind, *, chat_id: int | None = None, times: int | None = 1,
                  retry_after: int = 1, delay: float = 3.0, skip: int = 0, migrate_to: int = 0) -> None:
        """Make the next `times` sendMessage calls (to `chat_id`, or to any chat) fail; None = until cleared.

        `skip` lets that many calls succeed first. Faults queue up: each applies to its calls, then
        the next one takes over. `delay` is how long a "timeout" fault keeps the client waiting;
        `migrate_to` is the supergroup id a "migrated" group moved to.
        """
        fault = Fault(kind, times, retry_after, delay, skip, migrate_to)
        with self._lock:
            self._faults.setdefault(chat_id, deque()).append(fault)

    def clear_faults(self, chat_id: int | None | Literal["all"] = "all") -> None:
        """Remove the faults of one chat (None: the global ones), or all of them."""
        with self._lock:
            if chat_id == "all":
                self._faults.clear()
            else:
                self._faults.pop(chat_id, None)

    def set_down(self, down: bool, mode: DownMode = "reset") -> None:
        """Make every method fail until set_down(False): connection reset, 502, 401, 404, 500, or an
        answer that is not JSON ("garbage")."""
        with self._lock:
            self.down = down
            self.down_mode = mode

    def _take_fault(self, chat_id: Any) -> Fault | None:
        for key in (chat_id, None):
            queue = self._faults.get(key)
            if not queue:
                continue
            fault = queue[0]
            if fault.skip > 0:
                fault.skip -= 1
                return None
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.popleft()
            return fault
        return None

    def _over_rate(self) -> bool:
        if not self._rate:
            return False
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._tokens_at) * self._rate)
        self._tokens_at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return False
        return True

    # records ------------------------------------------------------------------------------
    def sent(self, chat_id: int | str | None = None) -> list[str]:
        """Texts delivered by sendMessage (successful calls only), for one chat or all."""
        with self._lock:
            return [text for chat, text, _ in self.delivered if chat_id is None or chat == chat_id]

    def calls_to(self, method: str) -> list[Params]:
        """The params of every call of one method, in order."""
        with self._lock:
            return [params for name, params in self.calls if name == method]

    def message(self, chat_id: int, message_id: int) -> Params | None:
        """A message the bot sent (as edited since), or None."""
        with self._lock:
            return self._messages.get((chat_id, message_id))

    # dispatch -----------------------------------------------------------------------------
    def handle(self, method: str, params: Params) -> Reply:
        """Answer one API call (called on a server thread)."""
        with self._lock:
            self.calls.append((method, params))
            if self.down:
                return self._down_reply()
        handler = getattr(self, "_m_" + method, None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        result: Reply = handler(params)
        return result

    def _down_reply(self) -> Reply:
        if self.down_mode == "reset":
            return Reply(502, None)
        if self.down_mode == "garbage":
            return Reply(200, None, raw=b"<html>this is not the Bot API</html>")
        return _error(*_DOWN_REPLIES[self.down_mode])

    def _bot_user(self) -> Params:
        return {"id": BOT_ID, "is_bot": True, "first_name": "newsbot", "username": BOT_USERNAME,
                "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    def _m_getMe(self, params: Params) -> Reply:
        return _ok(self._bot_user())

    def _m_deleteWebhook(self, params: Params) -> Reply:
        return _ok(True)

    def _m_setMyCommands(self, params: Params) -> Reply:
        with self._lock:
            self.commands = list(params.get("commands", []))
        return _ok(True)

    def _m_getMyCommands(self, params: Params) -> Reply:
        with self._lock:
            return _ok(list(self.commands))

    def _m_close(self, params: Params) -> Reply:
        return _ok(True)

    def _m_logOut(self, params: Params) -> Reply:
        return _ok(True)

    def _m_getUpdates(self, params: Params) -> Reply:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + timeout
        with self._updates_cond:
            while self._updates and self._updates[0]["update_id"] < offset:
                self._updates.popleft()
            while not self._updates and not self._stopping:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._updates_cond.wait(left)
                while self._updates and self._updates[0]["update_id"] < offset:
                    self._updates.popleft()
            return _ok(list(self._updates)[:limit])

    def _resolve_chat(self, raw: Any) -> int | None:
        if isinstance(raw, int):
            return raw
        if isinstance(raw, str) and raw.startswith("@"):
            return self._usernames.get(raw.lower())
        try:
            return int(raw)
        except (TypeError, ValueError):
            return None

    def _m_sendMessage(self, params: Params) -> Reply:
        chat_id = self._resolve_chat(params.get("chat_id"))
        if chat_id is None:
            return _error(400, "Bad Request: chat not found")
        with self._lock:
            fault = self._take_fault(chat_id)
            if fault is None and self._over_rate():
                self.rate_limited += 1
                return _error(429, "Too Many Requests: retry after 1", retry_after=1)
        if fault is not None:
            return self._fault_reply(fault)
        with self._lock:
            message_id = self._next_message_id
            self._next_message_id += 1
            message: Params = {"message_id": message_id, "date": int(time.time()),
                               "chat": self.chat(chat_id), "from": self._bot_user(),
                               "text": params.get("text", "")}
            if "reply_markup" in params:
                message["reply_markup"] = params["reply_markup"]
            self._messages[(chat_id, message_id)] = message
            self.delivered.append((chat_id, str(params.get("text", "")), message_id))
        return _ok(message)

    def _fault_reply(self, fault: Fault) -> Reply:
        if fault.kind == "retry_after":
            return _error(429, f"Too Many Requests: retry after {fault.retry_after}",
                          retry_after=fault.retry_after)
        if fault.kind == "blocked":
            return _error(403, "Forbidden: bot was blocked by the user")
        if fault.kind == "chat_not_found":
            return _error(400, "Bad Request: chat not found")
        if fault.kind == "migrated":
            return _error(400, "Bad Request: group chat was upgraded to a supergroup chat",
                          migrate_to_chat_id=fault.migrate_to)
        if fault.kind == "timeout":
            time.sleep(fault.delay)
        return _error(500, "Internal Server Error")

    def _edit(self, params: Params, field: str) -> Reply:
        chat_id = self._resolve_chat(params.get("chat_id"))
        key = (chat_id or 0, int(params.get("message_id") or 0))
        with self._lock:
            message = self._messages.get(key)
            if message is None:
                return _error(400, "Bad Request: message to edit not found")
            if field == "text":
                message["text"] = params.get("text", "")
            if "reply_markup" in params:
                message["reply_markup"] = params["reply_markup"]
            return _ok(dict(message))

    def _m_editMessageText(self, params: Params) -> Reply:
        return self._edit(params, "text")

    def _m_editMessageReplyMarkup(self, params: Params) -> Reply:
        return self._edit(params, "reply_markup")

    def _m_answerCallbackQuery(self, params: Params) -> Reply:
        return _ok(True)

    def _member(self, chat_id: int, user_id: int) -> Params:
        user = self._bot_user() if user_id == BOT_ID else {
            "id": user_id, "is_bot": False, "first_name": f"user{user_id}"}
        if self._creators.get(chat_id) == user_id:
            return {"status": "creator", "user": user, "is_anonymous": False}
        if user_id in self._admins.get(chat_id, set()):
            rights = ("can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages",
                      "can_manage_video_chats", "can_restrict_members", "can_promote_members",
                      "can_change_info", "can_invite_users", "can_post_stories", "can_edit_stories",
                      "can_delete_stories")
            return {"status": "administrator", "user": user, **{r: r != "is_anonymous" for r in rights}}
        return {"status": "member", "user": user}

    def _m_getChatMember(self, params: Params) -> Reply:
        chat_id = self._resolve_chat(params.get("chat_id"))
        if chat_id is None:
            return _error(400, "Bad Request: chat not found")
        with self._lock:
            return _ok(self._member(chat_id, int(params.get("user_id") or 0)))

    def _m_getChatAdministrators(self, params: Params) -> Reply:
        chat_id = self._resolve_chat(params.get("chat_id"))
        if chat_id is None:
            return _error(400, "Bad Request: chat not found")
        with self._lock:
            creator = self._creators.get(chat_id)
            ids = sorted(self._admins.get(chat_id, set()) | ({creator} if creator is not None else set()))
            return _ok([self._member(chat_id, user_id) for user_id in ids])

    def _m_fakeStats(self, params: Params) -> Reply:
        """Not a Bot API method: delivery figures, for a bench running this server in another process."""
        with self._lock:
            per_chat: dict[int | str, int] = {}
            for chat, _, _ in self.delivered:
                per_chat[chat] = per_chat.get(chat, 0) + 1
            return _ok({"delivered": len(self.delivered), "chats": len(per_chat),
                        "max_per_chat": max(per_chat.values(), default=0), "rate_limited": self.rate_limited,
                        "calls": len(self.calls)})

    def _m_getChat(self, params: Params) -> Reply:
        chat_id = self._resolve_chat(params.get("chat_id"))
        if chat_id is None:
            return _error(400, "Bad Request: chat not found")
        chat = dict(self.chat(chat_id))
        chat["accent_color_id"] = 0
        chat["max_reaction_count"] = 11
        return _ok(chat)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256  # many clients connect at once; the default backlog of 5 drops them
    api: FakeBotAPI

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (timeouts, resets) is normal here: stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no delayed-ACK stalls
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Keep test output quiet."""

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        """Answer a call made with GET (parameters in the query string)."""
        path, _, query = self.path.partition("?")
        self._answer(path, parse_body("application/x-www-form-urlencoded", query.encode()))

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        """Answer a call made with POST (urlencoded, JSON or multipart body)."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self._answer(self.path, parse_body(self.headers.get("Content-Type", ""), body))

    def _answer(self, path: str, params: Params) -> None:
        method = path.rstrip("/").rsplit("/", 1)[-1]
        reply = self.server.api.handle(method, params)
        try:
            if reply.body is None and reply.raw is None:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            payload = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
            self.send_response(reply.status, HTTPStatus(reply.status).phrase)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True


def main(argv: list[str] | None = None) -> None:
    """Serve until stdin closes: `python -m tests.fakebotapi [--rate-limit N]` prints the base URL."""
    parser = argparse.ArgumentParser(description="A local fake of the Telegram Bot API.")
    parser.add_argument("--rate-limit", type=float, default=None, help="answer 429 above N sendMessage/s")
    parser.add_argument("--burst", type=float, default=None, help="messages allowed at once (default N)")
    args = parser.parse_args(argv)
    api = FakeBotAPI(rate_limit_per_second=args.rate_limit, rate_limit_burst=args.burst).start()
    print(api.base_url, flush=True)
    sys.stdin.read()
    api.stop()


@pytest.fixture
def bot_api() -> Iterator[FakeBotAPI]:
    """A started fake Bot API server, stopped after the test."""
    api = FakeBotAPI().start()
    try:
        yield api
    finally:
        api.stop()


if __name__ == "__main__":
    main()
