"""Khabar's Telegram bot (python-telegram-bot 22) over the `index` package."""
