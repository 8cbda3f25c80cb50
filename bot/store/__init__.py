"""The store: what newsbot remembers, in one SQLite database (see bot.store.store)."""
