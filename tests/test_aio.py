"""The event loop the commands run on."""

from __future__ import annotations

import asyncio

import pytest

from bot import aio


def _loop_type() -> str:
    async def main() -> str:
        return type(asyncio.get_running_loop()).__module__

    return aio.run(main())


def test_runs_on_uvloop_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("uvloop")
    monkeypatch.delenv("NEWSBOT_EVENT_LOOP", raising=False)
    assert aio.loop_name() == "uvloop"
    assert _loop_type().startswith("uvloop")


def test_asyncio_loop_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSBOT_EVENT_LOOP", "asyncio")
    assert aio.loop_name() == "asyncio"
    assert _loop_type().startswith("asyncio")


def test_run_returns_the_result_and_raises_the_error() -> None:
    async def fails() -> None:
        raise ValueError("boom")

    async def value() -> int:
        await asyncio.sleep(0)
        return 7

    assert aio.run(value()) == 7
    with pytest.raises(ValueError, match="boom"):
        aio.run(fails())
