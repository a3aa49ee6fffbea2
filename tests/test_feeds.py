"""Feeds against a local web server: new items saved once, failures recorded and retried,
one broken feed never stopping the others, pages in any encoding, limits kept."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from feeds import registry as registry_module
from feeds.errors import FeedError
from feeds.fetch import Fetcher
from feeds.poll import add_link, poll
from feeds.registry import Registry
from index.articles.formats import read_article_bytes
from index.settings import Settings
from tests.feedserver import FeedServer, article_html

TEXT = [
    "The Caspian ferry line between Baku and Aktau carried a record number of lorries in "
    "November, the port authority said on Tuesday.",
    "Officials said the new vessels, built in Baku, cut the crossing to eighteen hours and "
    "doubled the number of weekly departures.",
]


@pytest.fixture
def web() -> Iterator[FeedServer]:
    server = FeedServer()
    yield server
    server.close()


@pytest.fixture
def setup(make_settings: Callable[..., Settings]) -> tuple[Settings, Registry]:
    settings = make_settings(feed_allow_private=True, feed_timeout=5, feed_max_page_bytes=50_000)
    return settings, Registry(settings.data_dir / "feeds.sqlite")


def saved_articles(settings: Settings) -> dict[str, object]:
    out = {}
    for path in sorted((settings.corpus_dir / "feeds").rglob("*.md")):
        rel = path.relative_to(settings.corpus_dir).as_posix()
        [article] = read_article_bytes(rel, path.read_bytes()).articles
        out[rel] = article
    return out


def test_new_items_are_saved_once_with_their_citation(
    web: FeedServer, setup: tuple[Settings, Registry]
) -> None:
    settings, registry = setup
    a = web.page("/news/ferry", article_html("Ferry record", TEXT))
    b = web.page("/news/ferry-again", article_html("Ferry record", TEXT[::-1]))
    feed = web.rss(
        "/rss", "Caspian News", [("g1", a, "Ferry carries a record"), ("g2", b, "Ferry again")]
    )
    registry.add_feed(feed, "Caspian News")
    report = poll(settings, registry)
    assert len(report.saved) == 2 and report.failed == [] and report.feeds_failed == []
    articles = saved_articles(settings)
    assert len(articles) == 2  # same date and title: two files, neither overwritten
    first = articles["feeds/caspian-news/2026-12-01-ferry-carries-a-record.md"]
    assert first.title == "Ferry carries a record" and first.source == "Caspian News"  # type: ignore[attr-defined]
    assert first.url == a and first.date == "2026-12-01" and "eighteen hours" in first.text  # type: ignore[attr-defined]
    assert "Home | World" not in first.text  # type: ignore[attr-defined]  # boilerplate dropped
    assert any(agent.startswith("KhabarBot/") for agent in web.agents)
    hits = web.hits.copy()
    again = poll(settings, registry)
    assert again.saved == [] and web.hits["/news/ferry"] == hits["/news/ferry"]  # not refetched
    assert registry.counts().saved == 2


def test_duplicates_across_items_and_feeds_are_fetched_once(
    web: FeedServer, setup: tuple[Settings, Registry]
) -> None:
    settings, registry = setup
    a = web.page("/a", article_html("One story", TEXT))
    registry.add_feed(
        web.rss("/one", "One", [("x1", a, "Story"), ("x2", a, "Story, again")]), "One"
    )
    registry.add_feed(web.rss("/two", "Two", [("y1", a, "Story elsewhere")]), "Two")
    report = poll(settings, registry)
    assert len(report.saved) == 1 and web.hits["/a"] == 1
    assert len(saved_articles(settings)) == 1


def test_a_broken_feed_never_stops_the_others(
    web: FeedServer, setup: tuple[Settings, Registry]
) -> None:
    settings, registry = setup
    a = web.page("/a", article_html("Good story", TEXT))
    registry.add_feed(
        web.page("/garbage", b"\x00\x01 this is not xml <<<", **{"Content-Type": "text/xml"}), "Bad"
    )
    registry.add_feed(web.url + "/missing", "Gone")
    # Broken XML that still holds items (an unclosed tag, a bare ampersand): read leniently.
    broken = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Loose & Co</title>'
        f"<item><title>Story</title><link>{a}</link></item><item><title>Unclosed"
    )
    registry.add_feed(
        web.page("/loose", broken, **{"Content-Type": "application/rss+xml"}), "Loose"
    )
    report = poll(settings, registry)
    assert len(report.saved) == 1
    failed = dict(report.feeds_failed)
    assert "not an RSS or Atom feed" in failed[web.url + "/garbage"]
    assert "HTTP 404" in failed[web.url + "/missing"]
    rows = {row.url: row for row in registry.feeds()}
    assert rows[web.url + "/garbage"].failures == 1 and rows[web.url + "/loose"].error is None
    assert registry.counts().failing == 2


def test_redirects_are_followed_and_checked(
    web: FeedServer, setup: tuple[Settings, Registry]
) -> None:
    settings, registry = setup
    web.page("/final", article_html("Moved story", TEXT))
    web.routes["/moved"] = registry_route(301, web.url + "/final")
    web.routes["/rss-old"] = registry_route(302, "/rss-new")  # relative Location
    web.routes["/to-ftp"] = registry_route(302, "ftp://example.com/file")
    web.rss(
        "/rss-new",
        "Moved",
        [("m1", web.url + "/moved", "Moved"), ("m2", web.url + "/to-ftp", "Ftp")],
    )
    registry.add_feed(web.url + "/rss-old", "Moved")
    report = poll(settings, registry)
    assert len(report.saved) == 1
    [(link, why)] = report.failed
    assert link.endswith("/to-ftp") and "not an http(s) link" in why
    [article] = saved_articles(settings).values()
    assert article.url == web.url + "/moved"  # type: ignore[attr-defined]  # as the feed names it


def registry_route(status: int, location: str):  # type: ignore[no-untyped-def]
    from tests.feedserver import Route

    return Route(b"", status, {"Location": location})


def test_limits_and_encodings(web: FeedServer, setup: tuple[Settings, Registry]) -> None:
    settings, registry = setup
    huge = web.page("/huge", article_html("Huge", [f"{i}. {TEXT[0]}" for i in range(2000)]))
    russian = article_html(
        "Паром",
        [
            f"Паромная линия между Баку и Актау перевезла рекордное число грузовиков в {month}, "
            "сообщили в порту во вторник вечером."
            for month in ("ноябре", "октябре", "сентябре")
        ],
        "ru",
    )
    cp1251 = web.page(
        "/ru",
        russian.replace('charset="utf-8"', 'charset="windows-1251"').encode("cp1251"),
        **{"Content-Type": "text/html"},
    )
    turkish = article_html(
        "Feribot",
        [
            f"Bakü ile Aktau arasındaki feribot hattı {month} ayında rekor sayıda tır taşıdı; "
            "liman yönetimi salı günü açıklama yaptı."
            for month in ("kasım", "ekim", "eylül")
        ],
        "tr",
    )
    cp1254 = web.page(
        "/tr", turkish.encode("cp1254"), **{"Content-Type": "text/html; charset=windows-1254"}
    )
    teaser = web.page("/teaser", article_html("Paywall", ["Subscribe to read."]))
    image = web.page(
        "/photo.jpg", b"\xff\xd8\xff" + b"\x00" * 100, **{"Content-Type": "image/jpeg"}
    )
    registry.add_feed(
        web.rss(
            "/rss",
            "Mixed",
            [(u, u, u.rsplit("/", 1)[1]) for u in (huge, cp1251, cp1254, teaser, image)],
        ),
        "Mixed",
    )
    report = poll(settings, registry)
    failed = dict(report.failed)
    assert "larger than 50 kB" in failed[huge]
    assert "too little article text" in failed[teaser]
    assert "not a web page" in failed[image]
    texts = {a.url: a.text for a in saved_articles(settings).values()}  # type: ignore[attr-defined]
    assert "рекордное число грузовиков" in texts[cp1251]
    assert "rekor sayıda tır taşıdı" in texts[cp1254]
    counts = registry.counts()
    assert counts.saved == 2 and counts.given_up == 3 and counts.retrying == 0


def test_a_failed_fetch_is_retried_later(web: FeedServer, setup: tuple[Settings, Registry]) -> None:
    settings, registry = setup
    from tests.feedserver import Route

    def time_passes() -> None:
        with registry._lock:
            registry._conn.execute("UPDATE items SET next_try = 0 WHERE status = 'failed'")

    web.routes["/later"] = Route(b"busy", 503)
    registry.add_feed(web.rss("/rss", "Busy", [("b1", web.url + "/later", "Later")]), "Busy")
    first = poll(settings, registry)
    assert first.saved == [] and "HTTP 503" in first.failed[0][1]
    assert registry.counts().retrying == 1
    poll(settings, registry)
    assert web.hits["/later"] == 1  # not due yet (10 minutes, doubling): not fetched again
    time_passes()
    poll(settings, registry)
    assert web.hits["/later"] == 2 and registry.counts().retrying == 1  # still failing
    web.page("/later", article_html("Later", TEXT))
    time_passes()
    third = poll(settings, registry)
    assert len(third.saved) == 1 and registry.counts().retrying == 0
    for _ in range(registry_module.MAX_ATTEMPTS):  # a page that never comes back: given up
        web.routes["/never"] = Route(b"busy", 503)
        registry.add_feed(web.rss("/rss2", "Never", [("n1", web.url + "/never", "N")]), "Never")
        poll(settings, registry)
        time_passes()
    assert registry.counts().given_up == 1 and registry.counts().retrying == 0


def test_robots_txt_and_private_addresses(
    web: FeedServer, setup: tuple[Settings, Registry]
) -> None:
    settings, registry = setup
    web.page(
        "/robots.txt", "User-agent: *\nDisallow: /private/\n", **{"Content-Type": "text/plain"}
    )
    blocked = web.page("/private/story", article_html("Private", TEXT))
    registry.add_feed(web.rss("/rss", "Polite", [("p1", blocked, "Private")]), "Polite")
    report = poll(settings, registry)
    assert "robots.txt" in report.failed[0][1] and web.hits["/private/story"] == 0
    with pytest.raises(FeedError, match="KHABAR_FEED_ALLOW_PRIVATE"):
        Fetcher(timeout=5, max_bytes=1000, allow_private=False).get(web.url + "/rss")
    with pytest.raises(FeedError, match="not an http"):
        Fetcher(timeout=5, max_bytes=1000).get("file:///etc/passwd")


def test_an_editors_link_is_added_once(web: FeedServer, setup: tuple[Settings, Registry]) -> None:
    settings, registry = setup
    url = web.page("/story", article_html("Ferry record", TEXT))
    added = add_link(settings, registry, url)
    assert not added.known and added.title == "Ferry record"
    assert added.path.parent == settings.corpus_dir / "feeds" / "links"
    again = add_link(settings, registry, url)
    assert again.known and again.path == added.path and web.hits["/story"] == 1
    [article] = saved_articles(settings).values()
    assert article.source == "127.0.0.1" and article.url == url  # type: ignore[attr-defined]


def test_feeds_command_line(
    web: FeedServer,
    make_settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from khabar.main import main

    settings = make_settings(feed_allow_private=True)
    monkeypatch.setenv("KHABAR_FEED_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("KHABAR_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("KHABAR_CORPUS_DIR", str(settings.corpus_dir))
    feed = web.rss("/rss", "Caspian News", [("g1", web.page("/a", article_html("A", TEXT)), "A")])
    assert main(["feeds", "add", feed]) == 0
    assert "source: Caspian News" in capsys.readouterr().out
    assert main(["feeds", "add", web.page("/page", article_html("Not a feed", TEXT))]) == 2
    assert "is not an RSS or Atom feed" in capsys.readouterr().err
    assert main(["feeds", "poll", "--no-index"]) == 0
    assert "1 new article saved, 0 items not saved, 0 feeds failed" in capsys.readouterr().out
    assert main(["feeds", "list"]) == 0
    listed = capsys.readouterr().out
    assert feed in listed and "1 article saved from feeds" in listed
    assert main(["feeds", "remove", feed]) == 0 and main(["feeds", "remove", feed]) == 2
    assert Path(settings.corpus_dir / "feeds" / "caspian-news").is_dir()
