"""Issue 19 end to end, through the local Bot API server with the multilingual model: a feed
item appears on a local web server, is indexed, its follower is alerted, and a reader asks in
Azerbaijani and gets the quote with the interface in Azerbaijani. Then /gaps."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.stores.gaps import KEEP_DAYS, GapStore, group
from bot.stores.topics import FollowStore
from bot.testserver.client import ChatRef, User
from feeds.registry import Registry
from index.answer.retriever import Retriever
from index.model.embedder import Embedder
from index.settings import Settings
from tests.botharness import Harness, running_bot
from tests.conftest import SHIPPED_CORPUS
from tests.feedserver import FeedServer, article_html
from tests.test_bot import entity_text
from tests.waiting import until

LEYLA = User(811, "Leyla", "az")
IVAN = User(812, "Иван", "ru")
ANN = User(813, "Ann", "en")
EDITOR = User(900, "Editor", "en")
TITLE = "Bakı ilə Aktau arasında yeni bərə xətti açıldı"
AZ_ARTICLE = [
    "Bakı, 1 dekabr. Azərbaycan ilə Qazaxıstan arasında Xəzər dənizi üzərindən yeni bərə xətti "
    "istifadəyə verilib. Bərələr Bakı limanından Aktau limanına həftədə dörd dəfə yola düşəcək.",
    "Limanın rəhbərliyi bildirib ki, yeni gəmilər Bakı gəmiqayırma zavodunda inşa olunub və hər "
    "biri 56 yük vaqonu daşıya bilir. Səfər təxminən on səkkiz saat çəkir.",
    "Layihə Türk Dövlətləri Təşkilatı çərçivəsində Orta Dəhliz üzrə yükdaşımaları artırmaq "
    "məqsədi daşıyır. Keçən il dəhlizlə 4,5 milyon ton yük daşınıb.",
]


def rss(server: FeedServer, items: list[tuple[str, str, str]]) -> str:
    return server.rss("/rss", "Trend News Agency", items)


@pytest.fixture(scope="module")
def e5(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> tuple[Settings, Embedder]:
    """The shipped corpus indexed with the default (multilingual) model, the reader on."""
    from index.backends.choose import build_index

    root = tmp_path_factory.mktemp("newsroom")
    shutil.copytree(SHIPPED_CORPUS, root / "corpus")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, corpus_dir=root / "corpus", index_dir=root / "index", data_dir=root
    )
    embedder = Embedder.from_settings(settings)
    build_index(settings, embedder=embedder)
    return settings, embedder


def own_copy(e5: tuple[Settings, Embedder], tmp_path: Path, **overrides: Any) -> Settings:
    settings, _ = e5
    shutil.copytree(settings.corpus_dir, tmp_path / "corpus")
    shutil.copytree(settings.index_dir, tmp_path / "index", symlinks=True)
    return settings.with_overrides(
        corpus_dir=tmp_path / "corpus",
        index_dir=tmp_path / "index",
        data_dir=tmp_path / "data",
        admin_ids=[EDITOR.id],
        feed_allow_private=True,
        **overrides,
    )


async def bot_texts(tg: Harness, chat: ChatRef) -> list[str]:
    history = await tg.client.history(chat.id)
    return [m["text"] for m in history["messages"] if m["from_bot"]]


@pytest.mark.slow
async def test_feed_item_to_alert_to_an_azerbaijani_answer(
    e5: tuple[Settings, Embedder], tmp_path: Path
) -> None:
    web = FeedServer()
    settings = own_copy(e5, tmp_path, feed_interval=0.5, models_dir=e5[0].model_cache)
    feed = rss(web, [])  # a feed with nothing in it yet
    registry = Registry(settings.data_dir / "feeds.sqlite")
    assert registry.add_feed(feed, "Trend")  # what `khabar feeds add` does
    try:
        async with running_bot(settings, Retriever(settings, e5[1])) as tg:
            leyla, ivan, ann = (ChatRef(u.id) for u in (LEYLA, IVAN, ANN))
            [ok] = await tg.ask(leyla, LEYLA, "/follow Xəzər dənizində bərə daşımaları")
            assert ok["text"].startswith("İzlənilir: Xəzər dənizində bərə daşımaları")
            [ok] = await tg.ask(ivan, IVAN, "/follow Каспийский паром")
            assert ok["text"].startswith("Подписка на тему")
            [ok] = await tg.ask(ann, ANN, "/follow the football championship")
            told_ann = await bot_texts(tg, ann)
            await tg.client.http.post(f"/_test/chats/{IVAN.id}/block", json={"blocked": True})
            seq = (await tg.client.history(leyla.id))["seq"]

            page = web.page("/az/ferry", article_html(TITLE, AZ_ARTICLE, "az"))
            rss(web, [("trend-1", page, TITLE)])  # the item appears; the bot polls by itself
            [alert], _ = await tg.client.replies(leyla.id, seq, wait=120)
            assert alert["text"].startswith(
                "Xəzər dənizində bərə daşımaları mövzusunda yeni məqalə:"
            )
            [quote] = entity_text(alert, "blockquote")
            assert "bərə" in quote and "Trend · 1 dekabr 2026" in alert["text"]
            assert [b["url"] for row in alert["buttons"] for b in row] == [page]
            follows = FollowStore(settings.data_dir / "bot.sqlite")
            # The chat that blocked the bot is forgotten; the unrelated topic is not alerted.
            await until(lambda: follows.of_chat(IVAN.id) == [], timeout=30)
            assert await bot_texts(tg, ann) == told_ann
            assert follows.of_chat(ANN.id) == ["the football championship"]

            [reply] = await tg.ask(leyla, LEYLA, "Yeni gəmilər harada inşa olunub?")
            assert "Bakı gəmiqayırma zavodunda" in " ".join(entity_text(reply, "bold"))
            assert TITLE in reply["text"] and "1 dekabr 2026" in reply["text"]
            assert "Məqaləni aç" in [b["text"] for row in reply["buttons"] for b in row]
            [start] = await tg.ask(leyla, LEYLA, "/start")
            assert "Arxivimdə 2 məqalə var" in start["text"]

            [stats] = await tg.ask(ChatRef(EDITOR.id), EDITOR, "/stats")
            assert "Feeds: 1 (0 failing)" in stats["text"]
            assert "Articles saved from feeds: 1" in stats["text"]
            web.routes.pop("/rss")  # the feed breaks: reported, nothing else changes
            await until(lambda: registry.counts().failing == 1, timeout=30)
            [stats] = await tg.ask(ChatRef(EDITOR.id), EDITOR, "/stats")
            assert "Feeds: 1 (1 failing)" in stats["text"]
            assert (await tg.client.calls())["unknown_methods"] == []
        saved = list((settings.corpus_dir / "feeds" / "trend").glob("*.md"))
        assert len(saved) == 1 and web.hits["/az/ferry"] == 1  # fetched once, polled often
    finally:
        web.close()


WORLD_CUP = [
    "Who won the 1966 FIFA World Cup final?",
    "Who won the World Cup final in 1966?",
    "Кто выиграл финал чемпионата мира по футболу 1966 года?",
]


@pytest.mark.slow
async def test_gaps_group_what_readers_missed(
    e5: tuple[Settings, Embedder], tmp_path: Path
) -> None:
    settings = own_copy(e5, tmp_path, gaps=True)
    async with running_bot(settings, Retriever(settings, e5[1])) as tg:
        ann = ChatRef(ANN.id)
        for question in [*WORLD_CUP, WORLD_CUP[0], "What is the price of gold in Tokyo?"]:
            [reply] = await tg.ask(ann, ANN, question)
            assert reply["text"].startswith(("I found nothing", "В статьях ничего")), question
        [answered] = await tg.ask(ann, ANN, "When was the Organization of Turkic States founded?")
        assert "2009" in answered["text"]  # answered: not a gap
        [refused] = await tg.ask(ann, ANN, "/gaps")
        assert refused["text"].startswith("Sorry, only the editors")
        [gaps] = await tg.ask(ChatRef(EDITOR.id), EDITOR, "/gaps")
        text = gaps["text"]
        assert "Asked and not answered in the last 7 days: 5 questions." in text
        assert "1. Who won the 1966 FIFA World Cup final? (and similar) — 4 times" in text
        assert "2. What is the price of gold in Tokyo? — 1 time" in text
    rows = (settings.data_dir / "gaps.sqlite").read_bytes()
    assert str(ANN.id).encode() not in rows  # never who asked


async def test_gaps_are_off_unless_asked_for(e5: tuple[Settings, Embedder], tmp_path: Path) -> None:
    settings = own_copy(e5, tmp_path)
    async with running_bot(settings, Retriever(settings, e5[1])) as tg:
        await tg.ask(ChatRef(ANN.id), ANN, WORLD_CUP[0])
        [off] = await tg.ask(ChatRef(EDITOR.id), EDITOR, "/gaps")
        assert "KHABAR_GAPS=true" in off["text"]
    assert not (settings.data_dir / "gaps.sqlite").exists()


def test_gap_store_prunes_after_90_days_and_groups(
    tmp_path: Path, e5: tuple[Settings, Embedder]
) -> None:
    now = [1_000_000_000.0]
    store = GapStore(tmp_path / "gaps.sqlite", clock=lambda: now[0])
    store.add("old question")
    now[0] += (KEEP_DAYS - 1) * 86_400
    store.add("  recent   question ")
    assert store.since(KEEP_DAYS) == ["recent question", "old question"]
    assert store.since(7) == ["recent question"]
    now[0] += 2 * 86_400
    assert store.since(10_000) == ["recent question"]  # the old one is gone for good
    embedder = e5[1]

    def encode(texts: list[str]) -> np.ndarray:
        return embedder.encode_with_prompt(texts, "query: ")

    gaps = group([*WORLD_CUP, "What is the price of gold in Tokyo?", WORLD_CUP[1]], encode)
    assert [(g.count, g.wordings) for g in gaps] == [(4, 3), (1, 1)]
    assert gaps[0].question == WORLD_CUP[1]  # the most asked wording names the group


async def test_alerts_keep_telegrams_pace_and_stop_for_blocked_chats(tmp_path: Path) -> None:
    """Several alerts for one chat go out a second apart (Telegram's limit per chat); a chat
    that blocked the bot gets nothing more and its topics are forgotten."""
    import time
    from types import SimpleNamespace

    from telegram import Bot

    from bot.messages.render import Reply
    from bot.readers.topics import PER_CHAT_GAP, _send
    from bot.testserver.server import TestServer

    server = await TestServer().start()
    bot = Bot("123456:alert-pace-token", base_url=f"{server.url}/bot")
    follows = FollowStore(tmp_path / "bot.sqlite")
    khabar = SimpleNamespace(follows=follows)
    try:
        await bot.initialize()
        from bot.testserver.client import ControlClient

        client = ControlClient(server.url)
        reader, blocker = ChatRef(LEYLA.id), ChatRef(IVAN.id)
        await client.say(reader, LEYLA, "/start")
        await client.say(blocker, IVAN, "/start")
        follows.add(IVAN.id, "паром", "ru")
        await client.http.post(f"/_test/chats/{IVAN.id}/block", json={"blocked": True})
        replies = [Reply(f"<b>alert {n}</b>") for n in range(3)]
        gate = asyncio.Semaphore(8)
        started = time.perf_counter()
        sent, refused = await asyncio.gather(
            _send(bot, khabar, LEYLA.id, replies, gate),  # type: ignore[arg-type]
            _send(bot, khabar, IVAN.id, replies, gate),  # type: ignore[arg-type]
        )
        took = time.perf_counter() - started
        assert (sent, refused) == (3, 0)
        assert took >= 2 * PER_CHAT_GAP  # three messages to one chat: two gaps
        history = (await client.history(LEYLA.id))["messages"]
        assert [m["text"] for m in history if m["from_bot"]] == ["alert 0", "alert 1", "alert 2"]
        assert follows.of_chat(IVAN.id) == []
        await client.close()
    finally:
        await bot.shutdown()
        await server.stop()
