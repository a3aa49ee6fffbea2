"""A local web server of feeds and pages for the feed tests: routes set per test, requests
counted, served from a thread on 127.0.0.1 (the tests run with KHABAR_FEED_ALLOW_PRIVATE)."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.agents: set[str] = set()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits[self.path] += 1
                server.agents.add(self.headers.get("User-Agent", ""))
                route = server.routes.get(self.path, Route(b"not found", 404))
                self.send_response(route.status)
                headers = {"Content-Type": "text/html; charset=utf-8", **route.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self.wfile.write(route.body)

            def log_message(self, *args: object) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()

    def page(self, path: str, body: str | bytes, **headers: str) -> str:
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = Route(data, 200, headers)
        return self.url + path

    def rss(self, path: str, title: str, items: list[tuple[str, str, str]]) -> str:
        """An RSS 2.0 feed of (guid, link, title) items."""
        entries = "".join(
            f"<item><guid>{guid}</guid><link>{link}</link><title>{name}</title>"
            "<pubDate>Tue, 01 Dec 2026 08:00:00 GMT</pubDate></item>"
            for guid, link, name in items
        )
        xml = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{title}</title><link>{self.url}/</link>{entries}</channel></rss>"
        )
        return self.page(path, xml, **{"Content-Type": "application/rss+xml"})

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()


def article_html(title: str, paragraphs: list[str], lang: str = "en") -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>'
        f"</head><body><nav>Home | World | Sport</nav><article><h1>{title}</h1>{body}"
        "</article><footer>© News site</footer></body></html>"
    )
