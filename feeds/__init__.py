"""Articles that arrive by themselves: RSS and Atom feeds polled on a schedule, each new
item's page fetched, its text extracted and saved into the corpus for the next incremental
build. `registry` remembers feeds and items (nothing fetched twice, failures retried),
`fetch` gets pages politely and within limits, `parse` reads feeds, `pages` turns a page into
an article file, and `poll` ties them together. No Telegram and no model here."""
