"""What each reader's last question was about, for the follow-up that leans on it.

Per chat and user (a group's readers each have their own), the last question and the article
its answer showed first, kept in memory only (never on disk) for `KHABAR_FOLLOWUP_MINUTES`;
never shared across chats or users. The oldest are dropped beyond `MAX_KEPT`.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from index.answer import Answer, Context

MAX_KEPT = 10_000


class Conversations:
    def __init__(self, minutes: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = minutes * 60
        self._clock = clock
        self._last: OrderedDict[tuple[int, int], tuple[float, Context]] = OrderedDict()
        self._lock = threading.Lock()

    def context(self, chat_id: int, user_id: int) -> Context | None:
        """The previous question of this reader in this chat, while it is recent enough."""
        if self.seconds <= 0:
            return None
        with self._lock:
            kept = self._last.get((chat_id, user_id))
        if kept is None or self._clock() - kept[0] > self.seconds:
            return None
        return kept[1]

    def remember(self, chat_id: int, user_id: int, question: str, answer: Answer) -> None:
        """Keep `question` as what this reader asked last, with the article its answer showed
        first (none when it found nothing: the next question then stands alone)."""
        if self.seconds <= 0:
            return
        with self._lock:
            self._last[(chat_id, user_id)] = (self._clock(), Context.after(question, answer))
            self._last.move_to_end((chat_id, user_id))
            while len(self._last) > MAX_KEPT:
                self._last.popitem(last=False)

    def forget(self, chat_id: int, user_id: int) -> bool:
        """Start afresh (/new); False when there was nothing to forget."""
        with self._lock:
            return self._last.pop((chat_id, user_id), None) is not None
