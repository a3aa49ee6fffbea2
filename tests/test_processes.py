"""The real entry points as processes: `khabar testserver`, `khabar bot`, `khabar run`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from index.settings import Settings
from tests.waiting import wait_until

QUESTION = "When was the Organization of Turkic States founded?"
TOKEN = "555000:process-test-token-abcdefghijklmnop"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def khabar(*args: str, env: dict[str, str], **popen: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "khabar", *args],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **popen,
    )  # type: ignore[call-overload]


def wait_http(url: str, timeout: float = 60) -> None:
    def up() -> bool:
        try:
            return httpx.get(url, timeout=1).status_code < 500
        except httpx.HTTPError:
            return False

    wait_until(up, timeout=timeout, what=f"{url} to come up")


def ask_via_control(base: str, chat_id: int, text: str, timeout: float = 60) -> str:
    replies = _bot_messages(base, chat_id, wait=timeout, since=_say(base, chat_id, text))
    assert replies, f"no reply to {text!r} in chat {chat_id}"
    return replies[-1]


@pytest.fixture
def env(seed_index: Settings, tmp_path: Path) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith(("KHABAR_", "TELEGRAM_"))}
    out.update(
        {
            "KHABAR_CORPUS_DIR": str(seed_index.corpus_dir),
            "KHABAR_INDEX_DIR": str(seed_index.index_dir),
            "KHABAR_DATA_DIR": str(tmp_path / "data"),
            "KHABAR_MODELS_DIR": os.environ["KHABAR_MODELS_DIR"],
            "KHABAR_MODEL": seed_index.model,
            "KHABAR_READER": seed_index.reader,
        }
    )
    return out


@pytest.fixture
def stop_all() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_server_and_bot_processes_exchange_a_message(
    env: dict[str, str], stop_all: list, tmp_path: Path
) -> None:  # type: ignore[type-arg]
    port = free_port()
    server = khabar("testserver", "--port", str(port), env=env)
    stop_all.append(server)
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/_test/health")
    bot_env = {**env, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": base}
    bot = khabar("bot", env=bot_env)
    stop_all.append(bot)
    assert "Founded in 2009" in ask_via_control(base, 71, QUESTION)
    bot.send_signal(signal.SIGINT)
    _, err = bot.communicate(timeout=30)
    assert TOKEN not in err and TOKEN.split(":")[1] not in err  # the token never reaches the log


def test_bot_without_token_runs_the_local_test_chats(env: dict[str, str], stop_all: list) -> None:  # type: ignore[type-arg]
    port = free_port()
    bot = khabar("bot", "--port", str(port), env=env)
    stop_all.append(bot)
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/_test/health")
    assert "Founded in 2009" in ask_via_control(base, 72, QUESTION)


def test_run_gives_a_terminal_chat(env: dict[str, str]) -> None:
    port = free_port()
    proc = khabar("run", "--port", str(port), env=env, stdin=subprocess.PIPE)
    try:
        script = f"{QUESTION}\n:press 2\n:group\nmorning all\n@khabar_test_bot {QUESTION}\n:quit\n"
        out, err = proc.communicate(script, timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Founded in 2009" in out and "Trend" in out
    assert "[1] Next ▶" in out and "Whole passage" in out
    # In the group, a message not for the bot is said to be ignored at once, not waited on...
    assert "so this message gets no reply" in out
    # ...and a mention is answered.
    assert out.count("Founded in 2009") >= 2


def _say(base: str, chat_id: int, text: str) -> int:
    sent = httpx.post(
        f"{base}/_test/messages",
        json={
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": chat_id, "first_name": "P", "language_code": "en"},
            "text": text,
        },
    ).json()
    return int(sent["seq"])


def _bot_messages(base: str, chat_id: int, wait: float = 0, since: int = 0) -> list[str]:
    data = httpx.get(
        f"{base}/_test/chats/{chat_id}/messages",
        params={"wait": wait, "since": since},
        timeout=wait + 5,
    ).json()
    return [m["text"] for m in data["messages"] if m["from_bot"]]


def _wait_in_flight(base: str, timeout: float = 30) -> None:
    """Until the bot has fetched every update and every injected slow call has begun."""

    def taken() -> bool:
        pending = httpx.get(f"{base}/_test/updates").json()["pending"]
        return not pending and not httpx.get(f"{base}/_test/faults").json()["faults"]

    wait_until(taken, timeout=timeout, what="the bot to take the questions")


def test_a_restarted_bot_answers_what_was_in_flight_once(
    env: dict[str, str], stop_all: list
) -> None:  # type: ignore[type-arg]
    """Killed (SIGKILL) or stopped (SIGTERM) with questions in flight: after the restart every
    question has exactly one reply."""
    port = free_port()
    server = khabar("testserver", "--port", str(port), env=env)
    stop_all.append(server)
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/_test/health")
    bot_env = {
        **env,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": base,
        "KHABAR_TYPING_AFTER_SECONDS": "0",  # "typing" before every answer: the slow call
    }
    bot = khabar("bot", env=bot_env)
    stop_all.append(bot)
    assert "Founded in 2009" in ask_via_control(base, 80, QUESTION)

    # Telegram takes 30 s to answer "typing": five questions are in the bot's hands when it dies.
    chats = [81, 82, 83, 84, 85]
    httpx.post(
        f"{base}/_test/faults",
        json={"kind": "delay", "method": "sendChatAction", "count": 5, "seconds": 30},
    )
    for chat in chats:
        _say(base, chat, QUESTION)
    _wait_in_flight(base)
    bot.kill()
    bot.wait(timeout=10)
    assert all(_bot_messages(base, chat) == [] for chat in chats)
    httpx.delete(f"{base}/_test/faults")

    again = khabar("bot", env=bot_env)
    stop_all.append(again)
    for chat in chats:
        replies = _bot_messages(base, chat, wait=60)
        assert len(replies) == 1 and "Founded in 2009" in replies[0]

    # A stop (SIGTERM) lets the questions in hand finish first.
    stopped = [91, 92, 93]
    httpx.post(
        f"{base}/_test/faults",
        json={"kind": "delay", "method": "sendChatAction", "count": 3, "seconds": 2},
    )
    for chat in stopped:
        _say(base, chat, QUESTION)
    _wait_in_flight(base)
    again.send_signal(signal.SIGTERM)
    _, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    for chat in stopped:
        replies = _bot_messages(base, chat)
        assert len(replies) == 1 and "Founded in 2009" in replies[0]

    third = khabar("bot", env=bot_env)
    stop_all.append(third)
    assert "Founded in 2009" in ask_via_control(base, 99, QUESTION)
    for chat in chats + stopped:  # nothing was answered a second time
        assert len(_bot_messages(base, chat)) == 1


@pytest.mark.parametrize(
    ("command", "sig"),
    [("bot", signal.SIGTERM), ("bot", signal.SIGINT), ("run", signal.SIGINT)],
)
def test_one_signal_stops_cleanly(env: dict[str, str], command: str, sig: signal.Signals) -> None:
    """One Ctrl-C or SIGTERM: the questions in hand are finished, one line says so, exit 0,
    no traceback (python-telegram-bot's cancelled calls used to print ~70 lines)."""
    port = free_port()
    proc = khabar(command, "--port", str(port), env=env, stdin=subprocess.PIPE)
    try:
        wait_http(f"http://127.0.0.1:{port}/_test/health")
        base = f"http://127.0.0.1:{port}"
        assert "Founded in 2009" in ask_via_control(base, 73, QUESTION)  # polling, mid-call
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)  # within 30 s; stdin stays open (chat waits)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert out.count("stopping (finishing the questions in hand)") == 1, out
    assert "Traceback" not in err and "Task exception" not in err and "Error" not in err, err
