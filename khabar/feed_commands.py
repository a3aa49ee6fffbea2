"""`khabar feeds add|list|remove|poll`: the feeds the running bot polls (feeds/)."""

from __future__ import annotations

import argparse
import datetime as dt

from index.settings import Settings


def add_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    feeds = sub.add_parser("feeds", help="RSS and Atom feeds the bot polls").add_subparsers(
        metavar="ACTION"
    )
    add = feeds.add_parser("add", parents=[common], help="poll this feed from now on")
    add.add_argument("url", help="the feed's http(s) URL")
    add.add_argument("--source", help="the source named in citations (default: the feed's title)")
    add.set_defaults(func=_cmd_add)
    listing = feeds.add_parser("list", parents=[common], help="the feeds and how they fare")
    listing.set_defaults(func=_cmd_list)
    remove = feeds.add_parser("remove", parents=[common], help="stop polling a feed")
    remove.add_argument("url")
    remove.set_defaults(func=_cmd_remove)
    poll = feeds.add_parser(
        "poll", parents=[common], help="poll every feed now and index what is new"
    )
    poll.add_argument("--no-index", action="store_true", help="save the articles, do not index")
    poll.set_defaults(func=_cmd_poll)


def _registry(settings: Settings):  # type: ignore[no-untyped-def]
    from feeds.registry import Registry

    return Registry(settings.data_dir / "feeds.sqlite")


def _cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    from feeds.fetch import check_url
    from feeds.poll import describe

    url = check_url(args.url)
    source = args.source or describe(settings, url)  # fetched once: it must be a feed
    registry = _registry(settings)
    if not registry.add_feed(url, source):
        print(f"{url} is polled already.")
        return 0
    every = settings.feed_interval
    when = f"every {every:g} s" if every else "never (KHABAR_FEED_INTERVAL=0)"
    print(f"Added {url} (source: {source}). The running bot polls it {when}.")
    return 0


def _cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    registry = _registry(settings)
    rows = registry.feeds()
    if not rows:
        print("No feeds. Add one with: khabar feeds add URL")
        return 0
    for row in rows:
        polled = (
            dt.datetime.fromtimestamp(row.polled, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
            if row.polled
            else "not yet"
        )
        state = f"failing ({row.failures}x): {row.error}" if row.error else "ok"
        print(f"{row.url}\n  source: {row.source}; polled: {polled}; {state}")
    counts = registry.counts()
    print(
        f"{_count(counts.saved, 'article')} saved from feeds; {counts.retrying} waiting for "
        f"another try; {counts.given_up} given up."
    )
    for link, why in registry.problems(5):
        print(f"  not saved: {link}: {why}")
    return 0


def _cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    if _registry(settings).remove_feed(args.url.strip()):
        print(f"Removed {args.url.strip()}; the articles saved from it stay in the corpus.")
        return 0
    print(f"{args.url.strip()} is not a feed Khabar polls (see: khabar feeds list).")
    return 2


def _cmd_poll(args: argparse.Namespace, settings: Settings) -> int:
    from feeds.poll import poll

    report = poll(settings, _registry(settings))
    print(
        f"{_count(len(report.saved), 'new article')} saved, "
        f"{_count(len(report.failed), 'item')} not saved, "
        f"{_count(len(report.feeds_failed), 'feed')} failed ({report.seconds:.1f} s)."
    )
    for url, why in report.feeds_failed:
        print(f"  feed {url}: {why}")
    if report.saved and not args.no_index:
        from index.backends import build_index

        from . import report as index_report

        print(index_report.format_build(build_index(settings), settings))
    return 0


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
