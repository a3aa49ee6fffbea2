"""Fetching feeds and pages: http(s) only, a time-out, a size limit, an honest user agent,
robots.txt respected, redirects followed (and checked) by hand, private addresses refused
unless allowed (a link an editor pastes must not reach the machine's own services)."""

from __future__ import annotations

import ipaddress
import socket
import urllib.robotparser
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from .errors import FeedError

USER_AGENT = "KhabarBot/0.1 (news archive question answering; respects robots.txt)"
ROBOTS_AGENT = "KhabarBot"
MAX_REDIRECTS = 5
MAX_ROBOTS_BYTES = 200_000


@dataclass(frozen=True)
class Page:
    url: str  # after redirects
    body: bytes
    content_type: str


def check_url(url: str) -> str:
    """The URL if it is an absolute http(s) URL with a host; a clear error otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FeedError(f"not an http(s) link: {url[:200]!r}")
    return url.strip()


def _check_host(url: str, allow_private: bool) -> None:
    if allow_private:
        return
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError as exc:
        raise FeedError(f"{host}: the name does not resolve ({exc})", retry=True) from None
    for address in addresses:
        ip = ipaddress.ip_address(str(address).split("%")[0])
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved:
            raise FeedError(
                f"{host} is a private address; set KHABAR_FEED_ALLOW_PRIVATE=true to fetch it"
            )


class Fetcher:
    """One HTTP client for a poll, with the robots.txt of each host read once."""

    def __init__(self, timeout: float, max_bytes: int, allow_private: bool = False) -> None:
        self.max_bytes = max_bytes
        self.allow_private = allow_private
        self.client = httpx.Client(
            timeout=timeout, headers={"User-Agent": USER_AGENT}, follow_redirects=False
        )
        self._robots: dict[str, urllib.robotparser.RobotFileParser | None] = {}

    def close(self) -> None:
        self.client.close()

    def get(self, url: str, robots: bool = True) -> Page:
        """The body of `url` after at most five checked redirects."""
        url = check_url(url)
        for _ in range(MAX_REDIRECTS + 1):
            _check_host(url, self.allow_private)
            if robots and not self.allowed(url):
                raise FeedError(f"robots.txt of {urlsplit(url).netloc} disallows {url}")
            try:
                with self.client.stream("GET", url) as response:
                    if response.is_redirect:
                        target = response.headers.get("location", "")
                        url = check_url(urljoin(url, target))
                        continue
                    return self._read(url, response)
            except httpx.TimeoutException:
                raise FeedError(f"{url}: timed out", retry=True) from None
            except httpx.HTTPError as exc:
                raise FeedError(f"{url}: {type(exc).__name__}: {exc}", retry=True) from None
        raise FeedError(f"{url}: more than {MAX_REDIRECTS} redirects")

    def _read(self, url: str, response: httpx.Response) -> Page:
        status = response.status_code
        if status != 200:
            retry = status >= 500 or status in (408, 429)
            raise FeedError(f"{url}: HTTP {status}", retry=retry)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FeedError(f"{url}: larger than {self.max_bytes // 1000} kB")
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > self.max_bytes:
                raise FeedError(f"{url}: larger than {self.max_bytes // 1000} kB")
        return Page(url, bytes(body), response.headers.get("content-type", ""))

    def allowed(self, url: str) -> bool:
        """Whether robots.txt lets Khabar fetch `url`. No robots.txt (4xx): everything is;
        a server error or no answer: nothing is, for now (RFC 9309)."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._robots:
            self._robots[origin] = self._read_robots(origin)
        rules = self._robots[origin]
        if rules is None:
            raise FeedError(f"{origin}/robots.txt could not be read", retry=True)
        return rules.can_fetch(ROBOTS_AGENT, url)

    def _read_robots(self, origin: str) -> urllib.robotparser.RobotFileParser | None:
        rules = urllib.robotparser.RobotFileParser()
        try:
            page = self.get(f"{origin}/robots.txt", robots=False)
        except FeedError as exc:
            if exc.retry:
                return None
            rules.parse([])  # missing or refused: no rules
            return rules
        text = page.body[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
        rules.parse(text.splitlines())
        return rules
