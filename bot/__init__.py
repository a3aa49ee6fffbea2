"""Khabar's Telegram bot (python-telegram-bot 22) over the `index` package.

Its rooms (imports go down this list, never up; `tests/test_layout.py` keeps it so):

- `messages/`: answers turned into Telegram HTML and buttons, the interface's texts, languages
  and translations (pure: no network, no state)
- `stores/`: the bot's own SQLite stores (remembered questions, chosen languages, followed
  topics, declined questions)
- `service.py`: the bot's view of the index (answers off the event loop, reloads, rebuilds)
- `transport/`: Telegram traffic: updates received without loss (polling, webhook, journal,
  dispatch, health) and calls sent within flood limits (outbound retries, answers per reader)
- `core.py`: the bot's state and access rules, shared by every handler
- `editors/`: what editors do (/stats, /reindex, uploads, links, /gaps, the feed job)
- `readers/`: what readers do (questions, /start, paging, inline mode, /language, /follow)
- `app.py` (the Application with every handler), `serve.py` (running it), `local.py` (the local
  test chats in one process); `testserver/` (the local Bot API server) and `chat.py` (the
  terminal chat) stand apart: they know Telegram's API, not the bot.
"""
