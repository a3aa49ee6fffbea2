"""How the bot meets Telegram: webhook mode with its secret, and Telegram's failures."""

from __future__ import annotations

import asyncio
import json
import logging
import socket

import httpx
from telegram import Bot

from bot.app import LOCAL_TOKEN, build_application
from bot.serve import webhook
from bot.service import AnswerService
from bot.testserver.client import ChatRef, ControlClient, User
from bot.testserver.server import TestServer
from bot.transport.journal import UpdateJournal
from index.answer.retriever import Retriever
from index.settings import Settings
from tests.botharness import Harness, running_bot
from tests.waiting import until

ANN = User(601, "Ann", "en")
CHAT = ChatRef(601)
QUESTION = "When was the Organization of Turkic States founded?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_webhook_mode_journals_updates_and_checks_the_secret(
    seed_index: Settings, embedder, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    server = await TestServer().start()
    port = free_port()
    settings = seed_index.with_overrides(
        telegram_api_url=server.url,
        data_dir=tmp_path,
        webhook_url=f"http://127.0.0.1:{port}",
        webhook_secret="Secret_42",
        webhook_port=port,
    )
    service = AnswerService(settings, Retriever(settings, embedder))
    app = build_application(settings, LOCAL_TOKEN, service)
    client = ControlClient(server.url)
    hook = f"http://127.0.0.1:{port}/telegram"
    try:
        async with webhook(app, settings) as receiver:
            assert server.world.webhook is not None
            assert server.world.webhook["secret_token"] == "Secret_42"
            sent = await client.say(CHAT, ANN, QUESTION)
            [reply], seq = await client.replies(CHAT.id, sent["seq"], wait=30)
            assert "Founded in 2009" in reply["text"]

            update = {
                "update_id": 999,
                "message": {
                    "message_id": 1,
                    "date": 0,
                    "chat": {"id": 601, "type": "private"},
                    "from": {"id": 601, "is_bot": False, "first_name": "X"},
                    "text": QUESTION,
                },
            }
            async with httpx.AsyncClient() as http:

                async def post(body: object, secret: str | None = "Secret_42") -> int:
                    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
                    response = await http.post(hook, content=json.dumps(body), headers=headers)
                    return response.status_code

                assert await post(update, None) == 403
                assert await post(update, "wrong") == 403
                assert receiver.refused == 2
                # Telegram delivering the same update twice: answered once.
                assert [await post(update), await post(update)] == [200, 200]
                await receiver.dispatcher.idle()
                replies, seq = await client.replies(CHAT.id, seq, wait=10)
                assert len(replies) == 1 and "Founded in 2009" in replies[0]["text"]
                assert receiver.dispatcher.skipped == 1
                # An update python-telegram-bot cannot read is acknowledged and skipped...
                sticker = {"update_id": 1000, "message": {**update["message"], "sticker": {}}}
                assert await post(sticker) == 200 and receiver.unreadable == 1
                assert await post("garbage") == 400
            # ...and the next question is answered.
            sent = await client.say(CHAT, ANN, QUESTION)
            [reply], _ = await client.replies(CHAT.id, sent["seq"], wait=30)
            assert "Founded in 2009" in reply["text"]
        journal = UpdateJournal(tmp_path / "bot.sqlite", app.bot.id)
        assert journal.unfinished() == []  # every update handled was marked done
        journal.close()
    finally:
        service.close()
        await client.close()
        await server.stop()


async def _ask_once(tg: Harness, chat: ChatRef, user: User) -> list[dict]:  # type: ignore[type-arg]
    sent = await tg.client.say(chat, user, QUESTION)
    replies, seq = await tg.client.replies(chat.id, sent["seq"], wait=30)
    more, _ = await tg.client.replies(chat.id, seq, wait=1.5)
    return replies + more


async def test_429_and_5xx_lose_no_answer(seed_index: Settings, embedder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = seed_index.with_overrides(data_dir=tmp_path)
    async with running_bot(settings, Retriever(settings, embedder)) as tg:
        await tg.client.fault("429", "sendMessage", retry_after=1)
        replies = await _ask_once(tg, CHAT, ANN)
        assert len(replies) == 1 and "Founded in 2009" in replies[0]["text"]
        await tg.client.fault("502", "sendMessage")
        replies = await _ask_once(tg, CHAT, ANN)
        assert len(replies) == 1 and "Founded in 2009" in replies[0]["text"]
        await tg.client.fault("502", "getUpdates", count=2)
        replies = await _ask_once(tg, CHAT, ANN)
        assert len(replies) == 1
        statuses = [c["status"] for c in (await tg.client.calls("sendMessage"))["calls"]]
        assert statuses.count(429) == 1 and statuses.count(502) == 1 and statuses.count(200) == 3


async def test_drops_slow_calls_and_a_server_restart_lose_and_repeat_nothing(
    seed_index: Settings, embedder, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """Connection drops, a slow Telegram and the server going away mid-poll: every question
    gets exactly one reply once the server is back; no update is handled twice."""
    settings = seed_index.with_overrides(data_dir=tmp_path)
    async with running_bot(settings, Retriever(settings, embedder)) as tg:
        await tg.client.fault("drop", "getUpdates", count=2)
        await tg.client.fault("drop", "sendMessage", count=1)
        # Slower than python-telegram-bot's default 5 s time-out, which would have reported
        # an error after the reply had in fact arrived.
        await tg.client.fault("delay", "sendMessage", count=1, seconds=6.0)
        chats = [ChatRef(700 + i) for i in range(4)]
        users = [User(700 + i, f"U{i}", "en") for i in range(4)]
        sent = [await tg.client.say(c, u, QUESTION) for c, u in zip(chats, users, strict=True)]
        for chat, s in zip(chats, sent, strict=True):
            replies, _ = await tg.client.replies(chat.id, s["seq"], wait=30)
            assert len(replies) == 1 and "Founded in 2009" in replies[0]["text"]

        # The server goes away while the bot is waiting in getUpdates, and comes back.
        poller = tg.app.bot_data["poller"]
        failed = poller.failures
        await tg.server.stop()
        await until(lambda: poller.failures >= failed + 2, what="polls failing")  # backing off
        await tg.server.start()
        later = [ChatRef(710 + i) for i in range(3)]
        sent = [await tg.client.say(c, User(c.id, "V", "en"), QUESTION) for c in later]
        for chat, s in zip(later, sent, strict=True):
            replies, _ = await tg.client.replies(chat.id, s["seq"], wait=30)
            assert len(replies) == 1 and "Founded in 2009" in replies[0]["text"]

        await poller.idle()  # every update handled: anything repeated would be in the history
        for chat in chats + later:
            history = (await tg.client.history(chat.id))["messages"]
            assert [m["from_bot"] for m in history] == [False, True], history
        assert tg.app.bot_data["poller"].skipped == 0
        assert tg.server.world.faults == []  # every injected fault did happen


async def test_telegram_unreachable_at_start_is_waited_for(
    seed_index: Settings, embedder, tmp_path, caplog
) -> None:  # type: ignore[no-untyped-def]
    """A server booting before its network, or a Telegram outage: the bot waits with backoff,
    says so once, and answers once Telegram is there; its health says when it is not."""
    port = free_port()
    settings = seed_index.with_overrides(
        telegram_api_url=f"http://127.0.0.1:{port}", data_dir=tmp_path, health_port=free_port()
    )
    service = AnswerService(settings, Retriever(settings, embedder))
    app = build_application(settings, LOCAL_TOKEN, service)
    server = TestServer(port=port)
    health_url = f"http://127.0.0.1:{settings.health_port}/healthz"
    with caplog.at_level(logging.WARNING, logger="bot"):
        starting = asyncio.create_task(_serve(app))
        await until(lambda: "Telegram unreachable" in caplog.text, what="the first failure")
        await asyncio.sleep(0)
        assert not starting.done()  # waiting, not failed
        await server.start()
        client = ControlClient(server.url)
        try:
            await until(lambda: "poller" in app.bot_data, what="polling to start")
            sent = await client.say(CHAT, ANN, QUESTION)
            [reply], _ = await client.replies(CHAT.id, sent["seq"], wait=30)
            assert "Founded in 2009" in reply["text"]
            async with httpx.AsyncClient() as http:
                assert (await http.get(health_url)).status_code == 200
                metrics = (await http.get(health_url.replace("healthz", "metrics"))).text
            assert "khabar_questions_total 1.0" in metrics
            assert 'khabar_answer_seconds_bucket{le="+Inf"} 1.0' in metrics
            assert "khabar_index_age_seconds" in metrics and "khabar_index_info{" in metrics
            await server.stop()  # Telegram goes away: unhealthy once polling fails for a while
            poller = app.bot_data["poller"]
            await until(lambda: poller.state == "unreachable", what="polls failing")
            poller.last_fetch -= poller.timeout + 60  # as if it had been failing for a minute
            async with httpx.AsyncClient() as http:
                response = await http.get(health_url)
            assert response.status_code == 503 and "not being received" in response.text
        finally:
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
            await client.close()
            await server.stop()
            service.close()
    assert caplog.text.count("Telegram unreachable") == 2  # at start, and when it went away
    assert "Telegram reachable: starting" in caplog.text


async def _serve(app) -> None:  # type: ignore[no-untyped-def]
    from bot.serve import health, polling

    async with polling(app) as poller, health(app, poller):
        await poller.wait()


async def test_a_webhook_set_elsewhere_is_named_and_polling_goes_on(
    seed_index: Settings, embedder, tmp_path, caplog
) -> None:  # type: ignore[no-untyped-def]
    settings = seed_index.with_overrides(data_dir=tmp_path)
    async with running_bot(settings, Retriever(settings, embedder)) as tg:
        assert len(await _ask_once(tg, CHAT, ANN)) == 1  # polling is under way
        with caplog.at_level(logging.WARNING, logger="bot"):
            # Another deployment of the same bot, in webhook mode, sets its webhook.
            await tg.app.bot.set_webhook("https://elsewhere.example/telegram")
            poller = tg.app.bot_data["poller"]
            await until(lambda: poller.state == "webhook elsewhere", what="the conflict")
            replies = await _ask_once(tg, CHAT, ANN)
        assert len(replies) == 1 and "Founded in 2009" in replies[0]["text"]
    assert "a webhook has been set for this bot while it polls" in caplog.text
    assert "this bot had a webhook (elsewhere.example)" in caplog.text
    assert "please report" not in caplog.text


async def test_another_poller_with_the_same_token_gets_a_sentence(
    seed_index: Settings, embedder, tmp_path, caplog
) -> None:  # type: ignore[no-untyped-def]
    settings = seed_index.with_overrides(data_dir=tmp_path)
    async with running_bot(settings, Retriever(settings, embedder)) as tg:
        assert len(await _ask_once(tg, CHAT, ANN)) == 1  # polling is under way
        poller = tg.app.bot_data["poller"]
        with caplog.at_level(logging.WARNING, logger="bot"):
            # A second copy of the bot polls with the same token (Telegram: 409 Conflict).
            async with Bot(tg.app.bot.token, base_url=f"{tg.server.url}/bot") as other:
                await other.get_updates(timeout=0)
            await until(lambda: poller.state == "conflict", what="the conflict")
            replies = await _ask_once(tg, CHAT, ANN)  # the other one stopped: on it goes
        assert len(replies) == 1 and "Founded in 2009" in replies[0]["text"]
    assert "another process is fetching this bot's updates" in caplog.text
    assert caplog.text.count("getUpdates conflict") == 1
