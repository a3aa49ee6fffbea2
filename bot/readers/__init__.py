"""What readers do: ask (a private text, a mention or reply in a group, /ask), /start, /help,
/sources, page through answers with buttons, inline mode, /language, and /follow with its
alerts. Each handler reads the bot's state from `core.Khabar`.
"""
