"""The Telegram side: the bot's commands, the sender, admin commands."""

DEFAULT_API_URL = "https://api.telegram.org/bot"  # TELEGRAM_API_URL's default
