"""The bot's own SQLite stores in the data folder: questions remembered for buttons, each
reader's chosen language, the topics chats follow (`bot.sqlite`) and, only when
`KHABAR_GAPS=true`, declined questions (`gaps.sqlite`). No Telegram, no handlers.
"""
