"""The interface's messages, in English: the source text that the gettext catalogs translate
(`bot/messages/locale/LANG/LC_MESSAGES/khabar.po`, maintained with `python -m bot.messages.catalogs`).

Each message has a key, used as the gettext context, so a translation stays tied to its place
even where two English texts are the same. Placeholders in braces are filled after
translation (`i18n.t`); messages that count something have a singular and a plural English
form and as many forms in each catalog as its language has (Babel's CLDR plural rules).
Excerpts are never translated: they are quotes.
"""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    "start": (
        "<b>Khabar</b> answers questions about news articles by quoting them.\n\n"
        "{known}{dates}\n\n"
        "Ask me a question in any language{group_hint}. I reply with the passage that "
        "answers it and where it comes from; when the articles say nothing about it, I "
        "say so.\n\nCommands: /ask, /sources, /follow, /language, /help"
    ),
    "start_dates": "Dates: {span}.",
    "group_hint": " (in a group: mention me, reply to me, or use /ask question)",
    "help": (
        "Ask a question, e.g. <i>When was the Organization of Turkic States founded?</i>\n\n"
        "• In a private chat, just write it.\n"
        "• In a group, mention me, reply to my message, or write /ask question.\n"
        "• In any chat, type my @name and a question to share an excerpt.\n\n"
        "Buttons under an answer show the next result, the whole passage and the article.\n"
        "/sources lists the articles I know.\n"
        "/follow topic: I tell you when a new article is about it.\n"
        "/language changes the language of my messages."
    ),
    "help_followup": (
        "Ask a follow-up (<i>Where was it founded?</i>) and I look in the article I just quoted "
        "when nothing else answers it; /new starts a new subject."
    ),
    "continued": "↪ Following on from {title} (/new starts afresh):",
    "new_subject": "Starting afresh: your next question stands on its own.",
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
    "whoami": (
        "Your Telegram user id: {user_id}\nThis chat's id: {chat_id}\n"
        "Editor (KHABAR_ADMIN_IDS): {admin}"
    ),
    "yes": "yes",
    "no": "no",
    "upload_saved": "Saved {name}. Indexing it now; I will tell you when it is searchable.",
    "upload_done": (
        "{name} is searchable now: {added} added, {changed} changed, "
        "{passages} passages in the index."
    ),
    "upload_failed": "{name} could not be indexed: {reason}",
    "upload_refused": "I can't take {name}: {reason}",
    "upload_exists": "{name} already exists; send it with the caption /replace to replace it.",
    "reindex_started": "Rebuilding the index…",
    "reindex_done": (
        "Index rebuilt: {added} added, {changed} changed, {removed} removed, "
        "{articles} articles, {passages} passages, {seconds} s."
    ),
    "reindex_busy": "A rebuild is already running.",
    "reindex_failed": "The rebuild failed: {reason}",
    "stats": (
        "Articles: {articles}\nPassages: {passages}\nModel: {model}\nBuilt at: {built_at}\n"
        "Questions answered: {answered} ({declined} with nothing found)\n"
        "Median answer time: {median_ms} ms"
    ),
    "stats_feeds": (
        "Feeds: {feeds} ({failing} failing)\nArticles saved from feeds: {saved}\n"
        "Waiting for another try: {retrying}\nFollowed topics: {follows}"
    ),
    "error": "Something went wrong on my side; please try again.",
    # /language
    "language_choose": (
        "Choose the language of my messages. Answers stay in the language of the articles "
        "they quote."
    ),
    "language_set": "From now on I will write to you in English.",
    "language_unknown": "I don't know that language. Choose one of these:",
    # /follow, /following, /unfollow, and the alerts
    "follow_usage": (
        "Write a topic after the command, e.g. /follow gas exports to Europe. When a new "
        "article is about it, I will send you its passage."
    ),
    "follow_added": (
        "Following: <i>{topic}</i>. When a new article is about it, I will send it here. "
        "/following lists your topics."
    ),
    "follow_exists": "You already follow <i>{topic}</i>.",
    "follow_too_long": "That topic is too long; a few words are enough.",
    "following_none": "You follow no topics. /follow topic adds one.",
    "following_title": "You follow:",
    "following_hint": "/unfollow number stops one topic, /unfollow all stops them all.",
    "unfollow_usage": "Write the topic's number from /following: /unfollow 2 (or /unfollow all).",
    "unfollow_done": "Stopped following <i>{topic}</i>.",
    "alert": "New article on <i>{topic}</i>:",
    # /gaps
    "gaps_off": (
        "Declined questions are not kept. An operator can turn that on with KHABAR_GAPS=true "
        "(questions are personal data: they are kept 90 days, without who asked)."
    ),
    "gaps_none": "No question was left unanswered in the last {days} days.",
    "gaps_similar": "{question} (and similar)",
    # links sent by an editor
    "link_fetching": "Fetching {url} …",
    "link_added": "Added “{title}” ({name}); it is searchable now.",
    "link_known": "That link is already in the archive: {name}",
    "link_failed": "I could not add {url}: {reason}",
    # the bot's command menu
    "cmd_start": "What I know and how to ask",
    "cmd_ask": "Ask a question (in groups)",
    "cmd_sources": "The articles I know",
    "cmd_follow": "Be told about new articles on a topic",
    "cmd_following": "The topics you follow",
    "cmd_unfollow": "Stop following a topic",
    "cmd_language": "Change the language of my messages",
    "cmd_help": "How to use me",
    "cmd_new": "Start a new subject",
}

# Messages that count: key -> (English singular, English plural); `n` fills {n}.
PLURALS: dict[str, tuple[str, str]] = {
    "start_known": (
        "I know {n} article from {sources}.",
        "I know {n} articles from {sources}.",
    ),
    "follow_limit": (
        "You follow {n} topic already, the most I keep; /unfollow one first.",
        "You follow {n} topics already, the most I keep; /unfollow one first.",
    ),
    "unfollow_all": (
        "Stopped following {n} topic.",
        "Stopped following {n} topics.",
    ),
    "gaps_title": (
        "Asked and not answered in the last {days} days: {n} question.",
        "Asked and not answered in the last {days} days: {n} questions.",
    ),
    "gaps_count": ("{n} time", "{n} times"),
}
