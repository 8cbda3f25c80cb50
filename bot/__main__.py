"""Lets `python -m bot` work like the `newsbot` command."""

from bot.cli.main import main

raise SystemExit(main())
