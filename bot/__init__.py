"""newsbot: watches news sources for real announcements about a show's next season and alerts Telegram chats."""

__version__ = "0.1.0"
