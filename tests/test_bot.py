"""The bot end to end: the real Application, index and model, through the local Bot API server."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from bot.messages.i18n import LANGUAGES
from bot.readers.asking import TYPING_MAX_WAITING
from bot.testserver.client import ChatRef, User
from bot.testserver.control import STICKER
from index.answer.retriever import Retriever
from index.backends.choose import build_index
from index.settings import Settings
from tests.botharness import Harness, running_bot
from tests.conftest import write
from tests.waiting import until

ANN = User(501, "Ann", "en")
IVAN = User(502, "Иван", "ru")
ADMIN = User(900, "Editor", "en")
PRIVATE = ChatRef(ANN.id, "private")
GROUP = ChatRef(-100777, "supergroup", "Newsroom")
SEED_Q = "When was the Organization of Turkic States founded?"
UNRELATED_Q = "Who won the 1966 FIFA World Cup final?"

BotFactory = Callable[..., AbstractAsyncContextManager[Harness]]


@pytest.fixture
def make_bot(seed_index: Settings, embedder, tmp_path: Path) -> BotFactory:  # type: ignore[no-untyped-def]
    """Start the server and a polling Application; `own_corpus=True` copies corpus and index."""

    def make(own_corpus: bool = False, **overrides: Any) -> AbstractAsyncContextManager[Harness]:
        settings = seed_index.with_overrides(
            data_dir=tmp_path / "data", admin_ids=[ADMIN.id], **overrides
        )
        if own_corpus:
            shutil.copytree(seed_index.corpus_dir, tmp_path / "corpus")
            shutil.copytree(seed_index.index_dir, tmp_path / "index", symlinks=True)
            settings = settings.with_overrides(
                corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index"
            )
        return running_bot(settings, Retriever(settings, embedder))

    return make


@pytest.fixture
async def tg(make_bot: BotFactory) -> AsyncIterator[Harness]:
    async with make_bot() as harness:
        yield harness
        # No test should make the bot call a Bot API method the server does not know.
        assert (await harness.client.calls())["unknown_methods"] == []


def entity_text(message: dict[str, Any], kind: str) -> list[str]:
    data = message["text"].encode("utf-16-le")
    return [
        data[e["offset"] * 2 : (e["offset"] + e["length"]) * 2].decode("utf-16-le")
        for e in message["entities"]
        if e["type"] == kind
    ]


def buttons(message: dict[str, Any]) -> list[str]:
    return [b["text"] for row in message["buttons"] for b in row]


async def test_fixture_starts_fast_and_registers_commands(tg: Harness) -> None:
    assert tg.startup_s < 1.0
    commands = (await tg.client.http.get("/_test/commands")).json()["commands"]
    assert any('"default"' in key for key in commands)
    default = next(v for k, v in commands.items() if k.endswith("|"))
    assert [c["command"] for c in default][:4] == ["start", "ask", "new", "sources"]
    assert "language" in [c["command"] for c in default]
    for lang in ("ru", "az", "kk", "tr", "uz"):  # each described in its own language
        own = next(v for k, v in commands.items() if k.endswith(f"|{lang}"))
        assert own[0]["description"] != default[0]["description"], lang


async def test_private_question_gets_a_cited_excerpt(tg: Harness) -> None:
    [reply] = await tg.ask(PRIVATE, ANN, SEED_Q)
    assert "Founded in 2009" in reply["text"]
    [quote] = entity_text(reply, "blockquote")
    bold = entity_text(reply, "bold")
    assert "Founded in 2009" in quote and any("Founded in 2009" in b for b in bold)
    assert "Trend" in reply["text"] and "18 October 2025" in reply["text"]
    assert buttons(reply)[0] == "Next ▶" and "Whole passage" in buttons(reply)
    assert all(
        len(b.get("callback_data", "").encode()) <= 64 for row in reply["buttons"] for b in row
    )
    actions = (await tg.client.http.get(f"/_test/chats/{PRIVATE.id}/actions")).json()["actions"]
    assert "typing" not in actions  # answered in milliseconds: no indicator, one call fewer
    assert (await tg.client.calls())["unknown_methods"] == []


async def test_slow_answers_show_typing_first(make_bot: BotFactory) -> None:
    async with make_bot(typing_after_seconds=0) as tg:
        [reply] = await tg.ask(PRIVATE, ANN, SEED_Q)
        assert "Founded in 2009" in reply["text"]
        path = f"/_test/chats/{PRIVATE.id}/actions"
        assert "typing" in (await tg.client.http.get(path)).json()["actions"]


async def test_a_long_queue_gets_no_typing(make_bot: BotFactory) -> None:
    """With many questions waiting, replies go out back to back: no "typing" for each."""
    # Each question looks at the queue 2 s after it arrives: by then all 24 have arrived.
    async with make_bot(typing_after_seconds=2.0) as tg:
        gate = threading.Event()
        busy = tg.service._encoder.submit(gate.wait, 60)  # the model is busy with something
        users = [User(7000 + i, f"Reader {i}", "en") for i in range(TYPING_MAX_WAITING + 8)]
        sent = [await tg.send(ChatRef(u.id, "private"), u, SEED_Q) for u in users]
        await asyncio.sleep(3.5)  # every question has waited past typing_after_seconds
        gate.set()
        busy.result()
        for user, message in zip(users, sent, strict=True):
            replies, _ = await tg.client.replies(user.id, message["seq"])
            assert "Founded in 2009" in replies[0]["text"]
        typing = [
            u.id
            for u in users
            if "typing"
            in (await tg.client.http.get(f"/_test/chats/{u.id}/actions")).json()["actions"]
        ]
        # Only a question that found fewer than TYPING_MAX_WAITING queued would show it: on a
        # machine slow enough to take 2 s over the sending, the first few.
        assert len(typing) <= 3, typing


async def test_next_whole_passage_and_back_edit_in_place(tg: Harness) -> None:
    [reply] = await tg.ask(PRIVATE, ANN, SEED_Q)
    total = reply["text"].rsplit("/", 1)[-1]
    _, [second] = await tg.press(PRIVATE, reply, ANN, "Next ▶")
    assert second["message_id"] == reply["message_id"] and second["text"] != reply["text"]
    assert second["text"].endswith(f"2/{total}") and "edit_date" in second
    _, [whole] = await tg.press(PRIVATE, second, ANN, "Whole passage")
    assert len(whole["text"]) >= len(second["text"]) and "Short excerpt" in buttons(whole)
    _, [back] = await tg.press(PRIVATE, whole, ANN, "◀ Back")
    assert back["text"].endswith(f"1/{total}")


async def test_not_found_is_said_plainly(tg: Harness) -> None:
    [reply] = await tg.ask(PRIVATE, ANN, UNRELATED_Q)
    assert reply["text"].startswith("I found nothing on that in the articles.")
    assert not entity_text(reply, "blockquote") and not reply["buttons"]


async def test_groups_answer_only_when_addressed(tg: Harness) -> None:
    assert await tg.silence(GROUP, ANN, "what a nice day, when was the OTS founded?") == []
    [reply] = await tg.ask(GROUP, ANN, f"@khabar_test_bot {SEED_Q}")
    assert "Founded in 2009" in reply["text"]
    [follow] = await tg.ask(
        GROUP,
        ANN,
        "How long does the ferry crossing between Baku and Aktau take?",
        reply_to=reply["message_id"],
    )
    assert "eighteen hours" in follow["text"]
    [asked] = await tg.ask(GROUP, ANN, f"/ask {SEED_Q}")
    assert "Founded in 2009" in asked["text"] and asked["reply_to_message_id"]
    [usage] = await tg.ask(GROUP, ANN, "/ask")
    assert "/ask" in usage["text"]


async def test_a_follow_up_leans_on_the_readers_previous_question(tg: Harness) -> None:
    followup = "Where was it founded?"
    assert "found nothing" in (await tg.ask(PRIVATE, ANN, followup))[0]["text"]  # alone: no
    [first] = await tg.ask(PRIVATE, ANN, SEED_Q)
    assert "Founded in 2009" in first["text"]
    [reply] = await tg.ask(PRIVATE, ANN, followup)
    assert reply["text"].startswith("↪ Following on from Ilham Aliyev")
    assert "Nakhchivan" in reply["text"] and "Founded in 2009" in reply["text"]
    # Its buttons page through the answer it got with its context.
    _, edits = await tg.press(PRIVATE, reply, ANN, "Whole passage")
    assert edits and "Nakhchivan" in edits[-1]["text"]
    # A new subject is answered as if asked alone, with no "following on".
    [ferry] = await tg.ask(PRIVATE, ANN, "How long does the ferry crossing take?")
    assert "eighteen hours" in ferry["text"] and "Following on" not in ferry["text"]
    # /new starts afresh: the same follow-up now stands alone.
    await tg.ask(PRIVATE, ANN, SEED_Q)
    [fresh] = await tg.ask(PRIVATE, ANN, "/new")
    assert fresh["text"].startswith("Starting afresh")
    assert "found nothing" in (await tg.ask(PRIVATE, ANN, followup))[0]["text"]


async def test_a_conversation_is_each_readers_own(tg: Harness) -> None:
    """In a group, Ivan's question does not lean on Ann's; nor does Ann's private chat."""
    [first] = await tg.ask(GROUP, ANN, f"@khabar_test_bot {SEED_Q}")
    assert "Founded in 2009" in first["text"]
    [other] = await tg.ask(GROUP, IVAN, "@khabar_test_bot Where was it founded?")
    assert "Following on" not in other["text"] and "Продолжаю" not in other["text"]
    [elsewhere] = await tg.ask(PRIVATE, ANN, "Where was it founded?")
    assert "found nothing" in elsewhere["text"]
    [mine] = await tg.ask(GROUP, ANN, "@khabar_test_bot Where was it founded?")
    assert "Nakhchivan" in mine["text"] and "Following on" in mine["text"]


async def test_follow_ups_can_be_turned_off(make_bot: BotFactory) -> None:
    async with make_bot(followup_minutes=0) as tg:
        await tg.ask(PRIVATE, ANN, SEED_Q)
        [reply] = await tg.ask(PRIVATE, ANN, "Where was it founded?")
        assert "found nothing" in reply["text"]
        [helped] = await tg.ask(PRIVATE, ANN, "/help")
        assert "/new" not in helped["text"]


async def test_russian_interface(tg: Harness) -> None:
    chat = ChatRef(IVAN.id)
    [start] = await tg.ask(chat, IVAN, "/start")
    assert "отвечает на вопросы" in start["text"] and "Trend" in start["text"]
    assert "2025\u202fг." in start["text"] and "г.." not in start["text"]  # ends once
    [none] = await tg.ask(chat, IVAN, UNRELATED_Q)
    assert none["text"].startswith("В статьях ничего об этом не нашлось")
    [reply] = await tg.ask(chat, IVAN, SEED_Q)
    assert "Founded in 2009" in reply["text"] and "октября" in reply["text"]
    assert buttons(reply)[0] == "Далее ▶"


async def test_start_help_sources(tg: Harness) -> None:
    [start] = await tg.ask(PRIVATE, ANN, "/start")
    assert "I know 3 articles" in start["text"] and "Trend" in start["text"]
    assert "2024" in start["text"] and "2025" in start["text"]
    [help_] = await tg.ask(PRIVATE, ANN, "/help")
    assert "/sources" in help_["text"]
    [sources] = await tg.ask(PRIVATE, ANN, "/sources")
    assert "Articles 1–3 of 3" in sources["text"] and "Caspian ferry" in sources["text"]
    links = [e for e in sources["entities"] if e["type"] == "text_link"]
    assert [e["url"] for e in links] == ["https://news.example.com/caspian-ferry"]


async def test_hostile_article_and_question_are_escaped(tg: Harness) -> None:
    [reply] = await tg.ask(
        PRIVATE, ANN, "<b>What</b> fruit did visitors taste at the harvest festival bazaar?"
    )
    # The server refuses invalid HTML, so getting here means the reply parsed; the article's
    # markup shows as text and its javascript: link is gone.
    assert "<script>alert(1)</script>" in reply["text"] and "<b>Evil</b> & Co" in reply["text"]
    assert "dried apricots" in reply["text"]
    assert not any(e["type"] == "text_link" for e in reply["entities"])
    assert "Open article" not in buttons(reply)


async def test_odd_messages_get_a_sensible_answer_or_none(tg: Harness) -> None:
    sent = await tg.client.http.post(
        "/_test/messages",
        json={"chat": PRIVATE.as_json(), "from": ANN.as_json(), "sticker": STICKER},
    )
    replies, _ = await tg.client.replies(PRIVATE.id, sent.json()["seq"], wait=10)
    assert [r["text"] for r in replies] == [
        "Send me a question in words, and I will look for it in the articles."
    ]
    [huge] = await tg.ask(PRIVATE, ANN, "x" * 100_000)
    assert "too long" in huge["text"]
    [emoji] = await tg.ask(PRIVATE, ANN, "🤔🤔🤔")
    assert emoji["text"]
    sent = await tg.client.http.post(
        "/_test/messages", json={"chat": GROUP.as_json(), "from": ANN.as_json(), "sticker": STICKER}
    )
    assert (await tg.client.replies(GROUP.id, sent.json()["seq"], wait=1.0))[0] == []


async def test_buttons_after_a_restart_and_forged_data(make_bot: BotFactory) -> None:
    async with make_bot() as first:
        [reply] = await first.ask(PRIVATE, ANN, SEED_Q)
    async with make_bot() as second:  # a new process would see the same data folder
        # The chat lives on the old server; replay the same message on the new one.
        [again] = await second.ask(PRIVATE, ANN, "warm up")
        seq = (await second.client.history(PRIVATE.id))["seq"]
        old = await second.client.press(
            PRIVATE.id, again["message_id"], ANN, data=reply["buttons"][0][0]["callback_data"]
        )
        answer = await second.client.callback_answer(old["callback_query_id"])
        assert answer is not None and answer["text"] == ""  # answered quietly, message edited
        edits, _ = await second.client.replies(PRIVATE.id, seq, wait=5)
        assert edits and "2/" in edits[0]["text"]
        forged = await second.client.press(
            PRIVATE.id, again["message_id"], ANN, data="n|zzzzzzzz|0"
        )
        assert (
            "too old" in (await second.client.callback_answer(forged["callback_query_id"]))["text"]
        )
        junk = await second.client.press(PRIVATE.id, again["message_id"], ANN, data="<b>💥")
        assert "too old" in (await second.client.callback_answer(junk["callback_query_id"]))["text"]


async def test_inline_mode_offers_excerpts(tg: Harness) -> None:
    results = await tg.client.inline(ANN, SEED_Q)
    assert results and "Founded in 2009" in results[0]["input_message_content"]["message_text"]
    assert results[0]["input_message_content"]["parse_mode"] == "HTML"
    nothing = await tg.client.inline(ANN, UNRELATED_Q)
    assert nothing is not None and nothing[0]["id"] == "none"


async def test_admin_commands_are_enforced(tg: Harness) -> None:
    [refused] = await tg.ask(PRIVATE, ANN, "/stats")
    assert "only the editors" in refused["text"]
    [refused] = await tg.ask(PRIVATE, ANN, "/reindex")
    assert "only the editors" in refused["text"]
    await tg.ask(ChatRef(ADMIN.id), ADMIN, SEED_Q)
    [stats] = await tg.ask(ChatRef(ADMIN.id), ADMIN, "/stats")
    assert "Articles: 3" in stats["text"] and "Questions answered: 1" in stats["text"]
    # How an operator learns the ids to put in KHABAR_ADMIN_IDS / KHABAR_ALLOWED_CHATS.
    [me] = await tg.ask(PRIVATE, ANN, "/whoami")
    assert f"user id: {ANN.id}" in me["text"] and "Editor (KHABAR_ADMIN_IDS): no" in me["text"]
    [me] = await tg.ask(GROUP, ADMIN, "/whoami")
    assert f"chat's id: {GROUP.id}" in me["text"] and "KHABAR_ADMIN_IDS): yes" in me["text"]


async def test_rate_limit_notifies_once(make_bot: BotFactory) -> None:
    async with make_bot(answers_per_minute=2) as tg:
        for _ in range(2):
            [reply] = await tg.ask(PRIVATE, ANN, SEED_Q)
            assert "Founded" in reply["text"]
        [notice] = await tg.ask(PRIVATE, ANN, SEED_Q)
        assert "wait a minute" in notice["text"]
        assert await tg.silence(PRIVATE, ANN, SEED_Q) == []
        [other] = await tg.ask(ChatRef(IVAN.id), IVAN, SEED_Q)  # others are unaffected
        assert "Founded" in other["text"]


async def test_allowed_chats_for_messages_buttons_and_inline(make_bot: BotFactory) -> None:
    async with make_bot(allowed_chats=[ANN.id]) as tg:
        [ok] = await tg.ask(PRIVATE, ANN, SEED_Q)
        [no] = await tg.ask(ChatRef(IVAN.id), IVAN, SEED_Q)
        assert "Founded" in ok["text"] and "недоступен" in no["text"]
        assert await tg.silence(GROUP, ANN, f"/ask {SEED_Q}") == []
        pressed = await tg.client.press(
            IVAN.id, no["message_id"], IVAN, data=ok["buttons"][0][0]["callback_data"]
        )
        assert (
            "недоступен" in (await tg.client.callback_answer(pressed["callback_query_id"]))["text"]
        )
        assert await tg.client.inline(IVAN, SEED_Q) == []
        assert await tg.client.inline(ANN, SEED_Q)


async def test_admin_uploads_an_article_and_it_becomes_searchable(
    make_bot: BotFactory, tmp_path: Path
) -> None:
    article = (
        b"---\ntitle: Gas pipeline to Europe\nsource: APA\ndate: 2025-11-01\n---\n"
        b"The TAP pipeline carries Azerbaijani gas to Italy through Greece and Albania.\n"
    )
    async with make_bot(own_corpus=True) as tg:
        admin_chat = ChatRef(ADMIN.id)
        refused = await tg.client.send_document(PRIVATE, ANN, "gas.md", article)
        [no] = (await tg.client.replies(PRIVATE.id, refused["seq"], wait=10))[0]
        assert "only the editors" in no["text"]
        assert not (tg.settings.corpus_dir / "uploads").exists()

        sent = await tg.client.send_document(admin_chat, ADMIN, "../../gas.md", article)
        replies, seq = await tg.client.replies(admin_chat.id, sent["seq"], wait=10)
        assert "Saved gas.md" in replies[0]["text"]
        while not any("searchable now" in r["text"] for r in replies):
            more, seq = await tg.client.replies(admin_chat.id, seq, wait=60)
            assert more, "the bot never said the upload was searchable"
            replies += more
        assert (tg.settings.corpus_dir / "uploads" / "gas.md").read_bytes() == article
        assert not (tmp_path / "gas.md").exists() and not (tmp_path.parent / "gas.md").exists()
        [answer] = await tg.ask(PRIVATE, ANN, "Where does the TAP pipeline carry gas?")
        assert "Italy" in answer["text"] and "APA" in answer["text"]

        again = await tg.client.send_document(admin_chat, ADMIN, "gas.md", article)
        [exists] = (await tg.client.replies(admin_chat.id, again["seq"], wait=10))[0]
        assert "already exists" in exists["text"]
        for name, data, reason in [
            ("photo.png", b"\x89PNG\r\n", "plain name"),
            ("empty.md", b"", "the file is empty."),
            ("bin.txt", b"\x00\x01\x02binary", "the file is binary, not text."),
            ("<b>&.png", b"x", "I can't take <b>&.png"),  # a plain-text reply: shown as sent
        ]:
            bad = await tg.client.send_document(admin_chat, ADMIN, name, data)
            [refusal] = (await tg.client.replies(admin_chat.id, bad["seq"], wait=10))[0]
            assert reason in refusal["text"], refusal["text"]
        assert sorted(p.name for p in (tg.settings.corpus_dir / "uploads").iterdir()) == ["gas.md"]


async def test_running_bot_picks_up_a_rebuilt_index(make_bot: BotFactory, embedder) -> None:  # type: ignore[no-untyped-def]
    async with make_bot(own_corpus=True, reload_check_seconds=0.2) as tg:
        [before] = await tg.ask(PRIVATE, ANN, "Which team won the chess olympiad open section?")
        assert "found nothing" in before["text"]
        write(
            tg.settings.corpus_dir,
            "chess.md",
            "---\ntitle: Chess olympiad\n---\n"
            "Uzbekistan won the open section of the chess olympiad in Chennai.\n",
        )
        build_index(tg.settings, embedder=embedder)
        for _ in range(50):
            if tg.service.retriever.info().articles == 4:
                break
            await __import__("asyncio").sleep(0.1)
        [after] = await tg.ask(PRIVATE, ANN, "Which team won the chess olympiad open section?")
        assert "Uzbekistan" in after["text"]


async def test_reindex_runs_in_the_background_while_the_bot_answers(make_bot: BotFactory) -> None:
    async with make_bot(own_corpus=True) as tg:
        for i in range(60):
            body = " ".join(
                f"Bulletin {i} item {j} on grain exports and rail freight." for j in range(25)
            )
            write(
                tg.settings.corpus_dir,
                f"bulk/{i:02}.md",
                f"---\ntitle: Bulletin {i}\n---\n{body}\n",
            )
        admin = ChatRef(ADMIN.id)
        sent = await tg.client.say(admin, ADMIN, "/reindex")
        [started], seq = await tg.client.replies(admin.id, sent["seq"], wait=10)
        assert "Rebuilding" in started["text"]
        assert tg.service.building
        [busy] = await tg.ask(admin, ADMIN, "/reindex")
        assert "already running" in busy["text"]
        [meanwhile] = await tg.ask(PRIVATE, ANN, SEED_Q)  # answered from the old index
        assert "Founded in 2009" in meanwhile["text"]
        replies: list[dict[str, Any]] = []
        while not any("Index rebuilt" in r["text"] for r in replies):
            more, seq = await tg.client.replies(admin.id, seq, wait=120)
            assert more, "the rebuild never finished"
            replies += more
        done = next(r for r in replies if "Index rebuilt" in r["text"])
        assert "60 added" in done["text"] and "63 articles" in done["text"]
        assert tg.service.retriever.info().articles == 63


async def test_interface_follows_the_readers_language_and_language_command(
    make_bot: BotFactory,
) -> None:
    leyla = User(611, "Leyla", "az")
    chat = ChatRef(leyla.id)
    async with make_bot() as tg:
        [start] = await tg.ask(chat, leyla, "/start")
        assert "Arxivimdə 3 məqalə var" in start["text"] and "oktyabr 2025" in start["text"]
        [none] = await tg.ask(chat, leyla, UNRELATED_Q)
        assert none["text"].startswith("Məqalələrdə bu barədə heç nə tapmadım")
        [offer] = await tg.ask(chat, leyla, "/language")
        assert buttons(offer) == list(LANGUAGES.values())
        _, [edited] = await tg.press(chat, offer, leyla, "Türkçe")
        assert edited["text"] == "Bundan sonra size Türkçe yazacağım."
        [reply] = await tg.ask(chat, leyla, SEED_Q)
        assert "Founded in 2009" in reply["text"] and "Ekim 2025" in reply["text"]
        assert buttons(reply)[0] == "Sonraki ▶"
        [unknown] = await tg.ask(chat, leyla, "/language klingon")
        assert unknown["text"].startswith("Bu dili bilmiyorum")
        [set_kk] = await tg.ask(chat, leyla, "/language kk")
        assert set_kk["text"] == "Енді сізге қазақша жазамын."
    async with make_bot() as tg:  # a restart remembers the choice
        [start] = await tg.ask(chat, leyla, "/start")
        assert "Мұрағатымда 3 мақала бар" in start["text"]


async def test_follow_following_unfollow(make_bot: BotFactory) -> None:
    chat = ChatRef(IVAN.id)
    async with make_bot(follow_max_topics=2) as tg:
        [usage] = await tg.ask(chat, IVAN, "/follow")
        assert usage["text"].startswith("Напишите тему после команды")
        [none] = await tg.ask(chat, IVAN, "/following")
        assert none["text"].startswith("У вас нет подписок")
        [added] = await tg.ask(chat, IVAN, "/follow газ <b>Европа</b>")
        assert entity_text(added, "italic") == ["газ <b>Европа</b>"]  # shown, not obeyed
        [again] = await tg.ask(chat, IVAN, "/follow   газ  <b>Европа</b> ")
        assert again["text"].startswith("Вы уже подписаны")
        await tg.ask(chat, IVAN, "/follow паром")
        [full] = await tg.ask(chat, IVAN, "/follow нефть")
        assert full["text"].startswith("Вы уже подписаны на 2 темы — это предел")
        [listed] = await tg.ask(chat, IVAN, "/following")
        assert "1. газ <b>Европа</b>\n2. паром" in listed["text"]
        [bad] = await tg.ask(chat, IVAN, "/unfollow 7")
        assert bad["text"].startswith("Напишите номер темы")
        [gone] = await tg.ask(chat, IVAN, "/unfollow 1")
        assert gone["text"] == "Подписка на тему газ <b>Европа</b> отменена."
    async with make_bot() as tg:  # topics survive a restart
        [listed] = await tg.ask(chat, IVAN, "/following")
        assert "1. паром" in listed["text"]
        [cleared] = await tg.ask(chat, IVAN, "/unfollow all")
        assert cleared["text"] == "Отменена 1 подписка."


async def test_an_editor_adds_an_article_by_sending_its_link(make_bot: BotFactory) -> None:
    from tests.feedserver import FeedServer, article_html

    web = FeedServer()
    url = web.page(
        "/story",
        article_html(
            "Tea harvest in Lankaran",
            [
                "Farmers in Lankaran picked a record tea harvest this autumn, the regional "
                "agriculture office said on Monday.",
                "The harvest reached eleven thousand tonnes, and most of it will be sold to "
                "buyers in Russia and Kazakhstan.",
            ],
        ),
    )
    try:
        async with make_bot(own_corpus=True, feed_allow_private=True) as tg:
            ann_says = await tg.ask(PRIVATE, ANN, url)  # a reader's link is just a question
            assert web.hits["/story"] == 0 and ann_says[0]["text"].startswith("I found nothing")
            editor = ChatRef(ADMIN.id)

            async def said() -> list[str]:
                history = (await tg.client.history(editor.id))["messages"]
                return [m["text"] for m in history if m["from_bot"]]

            await tg.send(editor, ADMIN, url)
            await until(lambda: _has(said(), 2), timeout=60)
            fetching, added = await said()
            assert fetching.startswith("Fetching http://127.0.0.1")
            assert added.startswith("Added “Tea harvest in Lankaran”")
            await tg.send(editor, ADMIN, url)
            await until(lambda: _has(said(), 4), timeout=60)
            assert (await said())[3].startswith("That link is already in the archive")
            [answer] = await tg.ask(PRIVATE, ANN, "How big was the tea harvest in Lankaran?")
            assert "eleven thousand tonnes" in answer["text"]
            assert web.hits["/story"] == 1
    finally:
        web.close()


async def _has(texts: Awaitable[list[str]], n: int) -> bool:
    return len(await texts) >= n
