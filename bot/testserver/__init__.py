"""A local stand-in for the Telegram Bot API, for test chats and end-to-end tests.

The real python-telegram-bot `Application` talks to it over HTTP on 127.0.0.1; it enforces
Telegram's limits and error texts, and has a control API (`/_test/...`) to act as users.
"""
