"""Who may do what, what reaches the logs, and what an upload may write: end to end through the
local Bot API server with the real Application, index and model."""

from __future__ import annotations

import logging
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.testserver.client import ChatRef, User
from index.answer.retriever import Retriever
from index.redact import MASK
from index.settings import Settings
from khabar.main import main
from tests.botharness import TOKEN, Harness, running_bot

READER = User(811, "Reader", "en")
EDITOR = User(812, "Editor", "en")
OUTSIDER = User(813, "Outsider", "en")
READER_CHAT = ChatRef(READER.id)
EDITOR_CHAT = ChatRef(EDITOR.id)
OUTSIDER_CHAT = ChatRef(OUTSIDER.id)
QUESTION = "When was the Organization of Turkic States founded?"
ARTICLE = (
    b"---\ntitle: Gas pipeline to Europe\nsource: APA\ndate: 2025-11-01\n---\n"
    b"The TAP pipeline carries Azerbaijani gas to Italy through Greece and Albania.\n"
)


@pytest.fixture
async def tg(seed_index: Settings, embedder, tmp_path: Path) -> AsyncIterator[Harness]:  # type: ignore[no-untyped-def]
    shutil.copytree(seed_index.corpus_dir, tmp_path / "corpus")
    shutil.copytree(seed_index.index_dir, tmp_path / "index", symlinks=True)
    settings = seed_index.with_overrides(
        corpus_dir=tmp_path / "corpus",
        index_dir=tmp_path / "index",
        data_dir=tmp_path / "data",
        admin_ids=[EDITOR.id],
        allowed_chats=[READER_CHAT.id, EDITOR_CHAT.id],
        max_upload_bytes=50_000,
    )
    async with running_bot(settings, Retriever(settings, embedder)) as harness:
        yield harness


async def _one_reply(tg: Harness, sent: dict, chat: ChatRef, wait: float = 15) -> str:  # type: ignore[type-arg]
    """The bot's answer to `sent` (skipping the news of earlier uploads being indexed)."""
    seq = sent["seq"]
    while True:
        replies, seq = await tg.client.replies(chat.id, seq, wait=wait)
        assert replies, "no reply"
        for reply in replies:
            if "searchable now" not in reply["text"]:
                return str(reply["text"])


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


async def test_uploads_are_checked_named_safely_and_never_overwrite(
    tg: Harness, tmp_path: Path
) -> None:
    corpus = tg.settings.corpus_dir
    outside_before = _files(tmp_path) - _files(corpus)
    refused = {
        "../../escape.md": None,  # saved, but as uploads/escape.md
        "/etc/passwd.md": None,  # saved as uploads/passwd.md
        "x\x00y.md": None,  # saved with the NUL replaced
        "evil.exe": "plain name",
        "noext": "plain name",
        "..md": "plain name",
        "big.md": "larger than",
        "empty.txt": "empty",
        "latin.txt": None,  # not UTF-8: read as a legacy encoding, kept
        "binary.md": "binary",
    }
    payloads = {
        "big.md": b"# Big\n" + b"word " * 20_000,
        "empty.txt": b"",
        "latin.txt": "Caf\u00e9 au lait in Baku, a new caf\u00e9 opened.".encode("latin-1"),
        "binary.md": bytes(range(256)) * 20,
    }
    for number, (name, reason) in enumerate(refused.items()):
        sent = await tg.client.send_document(
            EDITOR_CHAT,
            EDITOR,
            name,
            payloads.get(name, ARTICLE.replace(b"Gas", b"Gas %d" % number)),
        )
        text = await _one_reply(tg, sent, EDITOR_CHAT)
        if reason is None:
            assert text.startswith("Saved"), (name, text)
        else:
            assert reason in text, (name, text)
    saved = sorted(p.name for p in (corpus / "uploads").iterdir())
    assert saved == ["escape.md", "latin.txt", "passwd.md", "x_y.md"], saved
    now = _files(tmp_path)  # once: a background build creates and removes files meanwhile
    assert now - _files(corpus) - outside_before <= {
        p for p in now if "data" in p.parts or "index" in p.parts
    }  # nothing written outside corpus/ but the bot's own data and index

    # An existing article is replaced only on request, atomically.
    original = (corpus / "uploads" / "escape.md").read_bytes()
    again = await tg.client.send_document(EDITOR_CHAT, EDITOR, "escape.md", ARTICLE)
    assert "already exists" in await _one_reply(tg, again, EDITOR_CHAT)
    assert (corpus / "uploads" / "escape.md").read_bytes() == original
    replaced = await tg.client.send_document(
        EDITOR_CHAT, EDITOR, "escape.md", ARTICLE, caption="/replace"
    )
    assert (await _one_reply(tg, replaced, EDITOR_CHAT)).startswith("Saved")
    assert (corpus / "uploads" / "escape.md").read_bytes() == ARTICLE

    # Readers may not upload; outsiders are not even heard.
    sent = await tg.client.send_document(READER_CHAT, READER, "mine.md", ARTICLE)
    assert "only the editors" in await _one_reply(tg, sent, READER_CHAT)
    sent = await tg.client.send_document(OUTSIDER_CHAT, OUTSIDER, "theirs.md", ARTICLE)
    assert "not available" in await _one_reply(tg, sent, OUTSIDER_CHAT)
    assert not (corpus / "uploads" / "mine.md").exists()
    assert not (corpus / "uploads" / "theirs.md").exists()


async def test_admin_commands_and_garbage_arguments(tg: Harness) -> None:
    for command in ("/stats", "/reindex", "/stats now please", "/reindex --full ../../"):
        sent = await tg.client.say(READER_CHAT, READER, command)
        assert "only the editors" in await _one_reply(tg, sent, READER_CHAT)
    sent = await tg.client.say(EDITOR_CHAT, EDITOR, "/stats <b>x</b> \x00 ' OR 1=1")
    assert "Passages:" in await _one_reply(tg, sent, EDITOR_CHAT)
    garbage = [
        "/start <script>alert(1)</script>",
        "/help " + "💥" * 3000,
        "/sources -1 999999999999999999999",
        "/ask " + "a" * 5000,
        "/ask",
        "/ask \u202e\u200b\u0000",
        "/nosuchcommand arg",
    ]
    for command in garbage:
        sent = await tg.client.say(READER_CHAT, READER, command)
        replies, _ = await tg.client.replies(READER_CHAT.id, sent["seq"], wait=3)
        assert len(replies) <= 1  # a clear reply, or none for an unknown command
        if command.startswith("/nosuch"):
            assert replies == []
        else:
            assert replies and replies[0]["text"].strip(), command
    # Still answering after all that.
    sent = await tg.client.say(READER_CHAT, READER, QUESTION)
    assert "Founded in 2009" in await _one_reply(tg, sent, READER_CHAT, wait=30)


async def test_buttons_on_deleted_foreign_and_forbidden_messages(tg: Harness) -> None:
    sent = await tg.client.say(READER_CHAT, READER, QUESTION)
    replies, _ = await tg.client.replies(READER_CHAT.id, sent["seq"], wait=30)
    answer = replies[0]
    data = answer["buttons"][0][0]["callback_data"]
    # On the reader's own message (not the bot's): the bot cannot edit it, and says nothing wrong.
    mine = sent["message"]["message_id"]
    pressed = await tg.client.press(READER_CHAT.id, mine, READER, data=data)
    assert await tg.client.callback_answer(pressed["callback_query_id"]) is not None
    # On a message deleted meanwhile.
    chat = tg.server.world.chat(READER_CHAT.id)
    assert chat is not None
    chat.deleted.add(answer["message_id"])  # the reader deleted the bot's answer
    pressed = await tg.client.press(READER_CHAT.id, answer["message_id"], READER, data=data)
    assert await tg.client.callback_answer(pressed["callback_query_id"]) is not None
    history = (await tg.client.history(READER_CHAT.id))["messages"]
    assert not any("went wrong" in m["text"] for m in history if m["from_bot"])
    # A chat not on the allow-list cannot use buttons (nor messages, nor inline queries).
    sent = await tg.client.say(OUTSIDER_CHAT, OUTSIDER, QUESTION)
    assert "not available" in await _one_reply(tg, sent, OUTSIDER_CHAT)
    mine = sent["message"]["message_id"]
    pressed = await tg.client.press(OUTSIDER_CHAT.id, mine, OUTSIDER, data=data)
    refusal = await tg.client.callback_answer(pressed["callback_query_id"])
    assert refusal is not None and "not available" in refusal["text"]
    assert await tg.client.inline(OUTSIDER, QUESTION) == []


async def test_the_token_never_reaches_the_logs(
    tg: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """Everything logged during a session, at DEBUG, from every library: no token in it."""
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "telegram", "bot", "index"):  # whatever set them before
        caplog.set_level(logging.DEBUG, logger=name)
    secret = TOKEN.split(":", 1)[1]
    await tg.client.fault("502", "sendMessage")
    await tg.client.fault("drop", "getUpdates")
    sent = await tg.client.say(READER_CHAT, READER, QUESTION)
    assert "Founded in 2009" in await _one_reply(tg, sent, READER_CHAT, wait=30)
    sent = await tg.client.send_document(EDITOR_CHAT, EDITOR, "pipe.md", ARTICLE)
    await _one_reply(tg, sent, EDITOR_CHAT)
    await tg.client.inline(READER, QUESTION)
    await tg.app.bot.get_me()
    text = caplog.text + "".join(str(r.exc_text or "") + str(r.args or "") for r in caplog.records)
    assert "getUpdates" in text and MASK in text  # the request lines were logged, masked
    assert TOKEN not in text and secret not in text


def test_status_and_settings_errors_show_no_secret(
    seed_index: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("KHABAR_WEBHOOK_SECRET", "Webhook_Secret_123")
    monkeypatch.setenv("KHABAR_INDEX_DIR", str(seed_index.index_dir))
    monkeypatch.setenv("KHABAR_CORPUS_DIR", str(seed_index.corpus_dir))
    monkeypatch.setenv("KHABAR_MODEL", seed_index.model)
    assert main(["index", "status", "--json"]) == 0
    monkeypatch.setenv("KHABAR_ADMIN_IDS", TOKEN)  # a secret pasted into the wrong setting
    assert main(["index", "status"]) == 2
    out = capsys.readouterr()
    assert "KHABAR_ADMIN_IDS" in out.err
    for shown in (out.out, out.err):
        assert TOKEN.split(":", 1)[1] not in shown and "Webhook_Secret_123" not in shown


async def test_hostile_questions_each_get_one_clear_reply(tg: Harness) -> None:
    """The property tests' hostile strings, as questions through the real bot and server (which
    refuses any reply that is not valid Telegram HTML)."""
    from tests.test_properties import NASTY

    questions = [
        "".join(NASTY),  # all of them at once
        "\u202eWhen was the OTS founded?\u202c",
        "When\u200b was\u0301 the OTS 👩‍👩‍👧 founded?",
        "<a href='javascript:alert(1)'>When</a> was the OTS founded?",
        "&amp;&lt;&#0; \x1b[31m red \x7f",
        "ﷺ𒐫" * 300,
        "?",
    ]
    for question in questions:
        sent = await tg.client.say(READER_CHAT, READER, question)
        replies, seq = await tg.client.replies(READER_CHAT.id, sent["seq"], wait=30)
        more, _ = await tg.client.replies(READER_CHAT.id, seq, wait=0.3)
        assert len(replies) == 1 and more == [], (question[:40], replies, more)
        assert replies[0]["text"].strip() and "went wrong" not in replies[0]["text"]
    errors = [c for c in (await tg.client.calls("sendMessage"))["calls"] if c["status"] != 200]
    assert errors == []  # every reply was accepted by the server's Telegram-HTML rules
