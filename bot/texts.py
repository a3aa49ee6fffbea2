"""Interface text in English and Russian. Excerpts are never translated: they are quotes."""

from __future__ import annotations

RUSSIAN_UI = frozenset({"ru", "be", "uk", "kk", "ky", "tg"})

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "start": (
            "<b>Khabar</b> answers questions about news articles by quoting them.\n\n"
            "I know {articles} articles from {sources}{dates}.\n\n"
            "Ask me a question in any language{group_hint}. I reply with the passage that "
            "answers it and where it comes from; when the articles say nothing about it, I "
            "say so.\n\nCommands: /ask, /sources, /help"
        ),
        "group_hint": " (in a group: mention me, reply to me, or use /ask question)",
        "help": (
            "Ask a question, e.g. <i>When was the Organization of Turkic States founded?</i>\n\n"
            "• In a private chat, just write it.\n"
            "• In a group, mention me, reply to my message, or write /ask question.\n"
            "• In any chat, type my @name and a question to share an excerpt.\n\n"
            "Buttons under an answer show the next result, the whole passage and the article.\n"
            "/sources lists the articles I know."
        ),
        "not_found": "I found nothing on that in the articles.",
        "closest": "Closest articles: {titles}",
        "ask_usage": "Write the question after the command: /ask When was the OTS founded?",
        "empty": "Send me a question in words, and I will look for it in the articles.",
        "too_long": "That message is too long for a question; please ask in a sentence or two.",
        "slow_down": "You are asking faster than I can read — please wait a minute.",
        "next": "Next ▶",
        "prev": "◀ Back",
        "whole": "Whole passage",
        "excerpt": "Short excerpt",
        "open": "Open article",
        "expired": "This answer is too old; please ask again.",
        "no_more": "No more results.",
        "sources_title": "Articles {first}–{last} of {total}:",
        "no_articles": "No articles are indexed yet.",
        "admins_only": "Sorry, only the editors of this bot can do that.",
        "not_allowed": "Sorry, this bot is not available in this chat.",
        "whoami": "Your Telegram user id: {user_id}\nThis chat's id: {chat_id}\nEditor (KHABAR_ADMIN_IDS): {admin}",
        "upload_saved": "Saved {name}. Indexing it now; I will tell you when it is searchable.",
        "upload_done": "{name} is searchable now: {added} added, {changed} changed, {passages} passages in the index.",
        "upload_failed": "{name} could not be indexed: {reason}",
        "upload_refused": "I can't take {name}: {reason}",
        "upload_exists": "{name} already exists; send it with the caption /replace to replace it.",
        "reindex_started": "Rebuilding the index…",
        "reindex_done": "Index rebuilt: {added} added, {changed} changed, {removed} removed, {articles} articles, {passages} passages, {seconds:.1f} s.",
        "reindex_busy": "A rebuild is already running.",
        "reindex_failed": "The rebuild failed: {reason}",
        "stats": (
            "Articles: {articles}\nPassages: {passages}\nModel: {model}\nBuilt at: {built_at}\n"
            "Questions answered: {answered} ({declined} with nothing found)\n"
            "Median answer time: {median_ms} ms"
        ),
        "error": "Something went wrong on my side; please try again.",
    },
    "ru": {
        "start": (
            "<b>Khabar</b> отвечает на вопросы о новостных статьях цитатами из них.\n\n"
            "Я знаю {articles} статей из источников: {sources}{dates}.\n\n"
            "Задайте вопрос на любом языке{group_hint}. Я отвечу отрывком, который на него "
            "отвечает, и укажу источник; если в статьях об этом ничего нет, я так и скажу.\n\n"
            "Команды: /ask, /sources, /help"
        ),
        "group_hint": " (в группе: упомяните меня, ответьте на моё сообщение или напишите /ask вопрос)",
        "help": (
            "Задайте вопрос, например: <i>Когда была основана Организация тюркских государств?</i>\n\n"
            "• В личном чате просто напишите его.\n"
            "• В группе упомяните меня, ответьте на моё сообщение или напишите /ask вопрос.\n"
            "• В любом чате наберите моё @имя и вопрос, чтобы поделиться отрывком.\n\n"
            "Кнопки под ответом показывают следующий результат, весь фрагмент и статью.\n"
            "/sources — список статей."
        ),
        "not_found": "В статьях ничего об этом не нашлось.",
        "closest": "Ближайшие статьи: {titles}",
        "ask_usage": "Напишите вопрос после команды: /ask Когда основана ОТГ?",
        "empty": "Напишите вопрос словами, и я поищу ответ в статьях.",
        "too_long": "Это сообщение слишком длинное для вопроса; спросите в одном-двух предложениях.",
        "slow_down": "Вы спрашиваете быстрее, чем я успеваю читать, — подождите минуту.",
        "next": "Далее ▶",
        "prev": "◀ Назад",
        "whole": "Весь фрагмент",
        "excerpt": "Кратко",
        "open": "Открыть статью",
        "expired": "Этот ответ устарел; спросите ещё раз.",
        "no_more": "Больше результатов нет.",
        "sources_title": "Статьи {first}–{last} из {total}:",
        "no_articles": "Статей в индексе пока нет.",
        "admins_only": "Извините, это могут делать только редакторы бота.",
        "not_allowed": "Извините, бот недоступен в этом чате.",
        "whoami": "Ваш id в Telegram: {user_id}\nid этого чата: {chat_id}\nРедактор (KHABAR_ADMIN_IDS): {admin}",
        "upload_saved": "Сохранил {name}. Индексирую; сообщу, когда по нему можно будет искать.",
        "upload_done": "{name} доступен для поиска: добавлено {added}, изменено {changed}, фрагментов в индексе {passages}.",
        "upload_failed": "{name} не удалось проиндексировать: {reason}",
        "upload_refused": "Не могу принять {name}: {reason}",
        "upload_exists": "{name} уже есть; отправьте его с подписью /replace, чтобы заменить.",
        "reindex_started": "Перестраиваю индекс…",
        "reindex_done": "Индекс перестроен: добавлено {added}, изменено {changed}, удалено {removed}; статей {articles}, фрагментов {passages}, {seconds:.1f} с.",
        "reindex_busy": "Перестройка уже идёт.",
        "reindex_failed": "Перестройка не удалась: {reason}",
        "stats": (
            "Статей: {articles}\nФрагментов: {passages}\nМодель: {model}\nПостроен: {built_at}\n"
            "Отвечено вопросов: {answered} (ничего не найдено: {declined})\n"
            "Медианное время ответа: {median_ms} мс"
        ),
        "error": "Что-то пошло не так с моей стороны; попробуйте ещё раз.",
    },
}


def language(code: str | None) -> str:
    """The interface language for a Telegram user's language code."""
    return "ru" if code and code.split("-")[0].lower() in RUSSIAN_UI else "en"


def t(lang: str, key: str, **values: object) -> str:
    template = TEXTS.get(lang, TEXTS["en"]).get(key) or TEXTS["en"][key]
    return template.format(**values) if values else template
