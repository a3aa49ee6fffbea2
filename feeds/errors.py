"""What can go wrong with a feed or a page, split by whether trying again later may help."""

from __future__ import annotations

from index.errors import KhabarError


class FeedError(KhabarError):
    """A feed or page could not be used. `retry`: a later try may succeed (a time-out, a
    server error); otherwise it will not (not a feed, no article text, forbidden)."""

    def __init__(self, message: str, retry: bool = False) -> None:
        super().__init__(message)
        self.retry = retry
