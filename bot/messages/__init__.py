"""Turning answers into messages: Telegram HTML within Telegram's limits, inline buttons and
their callback data, the interface's texts (English in `texts.py`, translations in `locale/`)
and each reader's language. Pure: no network, no stores, no handlers.
"""
