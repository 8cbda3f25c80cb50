"""Lets `python -m bot` work like the `newsbot` command."""

from bot.cli import main

raise SystemExit(main())
