"""The `khabar` command line: the one place that knows both the engine (`index`) and the bot
(`bot`). `index` never imports `bot`; both are driven from here."""
