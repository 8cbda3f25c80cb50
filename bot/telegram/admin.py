"""Operator actions on sources from Telegram (/addsource, /removesource, /pause, /resume)."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from bot.fetch.client import Fetcher
from bot.models import Config, confidence_text
from bot.sources import SourceError, add_source, find_source, inspect_source, remove_source
from bot.store.store import State
from bot.urls import display_url

ADD_SOURCE_TIMEOUT = 15.0  # seconds /addsource may spend checking a URL before it answers


class SourceAdmin:
    """Runs the admin commands against the sources file and the state; replies are Telegram HTML."""

    def __init__(self, sources_path: Path, state: State, fetcher: Fetcher,
                 config: Callable[[], Config], reload: Callable[[str], None]) -> None:
        self.sources_path = sources_path
        self.state = state
        self.fetcher = fetcher
        self.config = config
        self.reload = reload

    async def add(self, url: str, name: str | None) -> str:
        """Validates, previews and saves a new source; non-public addresses need `allow_private`."""
        config = self.config()
        try:
            async with asyncio.timeout(ADD_SOURCE_TIMEOUT):
                preview = await inspect_source(url, name=name, interval=None, config=config, fetcher=self.fetcher,
                                               allow_private=config.settings.allow_private)
            # Checked public now; every later fetch checks again, as the name may come to resolve elsewhere.
            public_only = not preview.source.allow_private
            # Reading and rewriting the sources file keeping its comments takes a while for a long
            # file: off the loop that answers everyone else.
            await asyncio.to_thread(add_source, self.sources_path, replace(preview.source, public_only=public_only))
        except SourceError as exc:
            return f"Not added: {html.escape(display_url(str(exc)))}"
        except TimeoutError:
            return f"Not added: {html.escape(display_url(url))} did not answer within {ADD_SOURCE_TIMEOUT:g} s."
        self.reload("source added from Telegram")
        src = preview.source
        lines = [f"Added <b>{html.escape(src.name)}</b> ({src.kind}, every {int(src.interval)} s)",
                 html.escape(display_url(src.url))]
        if preview.note:
            lines.append(html.escape(display_url(preview.note)))
        lines.append("")
        lines.append("Newest items and what detection says:")
        for item, decision in preview.items:
            verdict = f"ALERT {decision.kind}" if decision.alert else "no alert"
            shown = confidence_text(decision.confidence)
            lines.append(f"• {html.escape(item.title[:150])} — <i>{verdict}</i> ({shown})")
        if not preview.items:
            lines.append("(no items yet)")
        return "\n".join(lines)

    async def remove(self, name: str) -> str:
        """Removes a source from the sources file and forgets its fetch state."""
        try:
            source = await asyncio.to_thread(remove_source, self.sources_path, name, self.state)
        except SourceError as exc:
            return f"Not removed: {html.escape(display_url(str(exc)))}. /sources lists them."
        self.reload("source removed from Telegram")
        return f"Removed <b>{html.escape(source.name)}</b>."

    async def pause(self, name: str) -> str:
        """Stops fetching a source until /resume (kept in the state, survives restarts)."""
        return self._set_paused(name, True)

    async def resume(self, name: str) -> str:
        """Fetches a paused (or disabled) source again."""
        return self._set_paused(name, False)

    def _set_paused(self, name: str, paused: bool) -> str:
        source = find_source(self.config(), name)
        if source is None:
            return f"No source called {html.escape(name)!s}. /sources lists them."
        shown = f"<b>{html.escape(source.name)}</b>"
        in_file = " (<code>paused: true</code> in the sources file: remove that line to resume it)"
        st = self.state.source_state(source.name)
        if paused:
            if st.paused or source.paused:
                return f"{shown} is already paused{in_file if source.paused else ''}."
            self.state.set_paused(source.name, True)
            return f"Paused {shown}."
        held = st.paused or st.disabled
        if held:
            self.state.set_paused(source.name, False)
            self.state.set_disabled(source.name, False)
        if source.paused:
            return f"{shown} is still paused{in_file}."
        return f"Resumed {shown}." if held else f"{shown} is not paused."

