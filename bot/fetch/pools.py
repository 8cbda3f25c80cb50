"""One small connection pool per host, for the hop transport's direct and public-only routes.

httpcore's pool looks at every connection it holds, and asks the kernel whether each idle one is
still open, on every request it starts or ends: one pool for every host costs time in proportion
to the hosts a scan talks to, and, bounded at `concurrency` connections, keeps none of them open
long enough for the host's next feed. A pool per host holds its own few connections, so a request
looks at those only, and a host's next fetch finds its connection open.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import httpx

KEPT_HOSTS = 256  # idle hosts whose pools (one open connection each, at most) are kept for their next fetch


@dataclass(slots=True)
class _Pool:
    """A host's pool, how many of its requests are under way, and when the last one ended."""

    transport: httpx.AsyncBaseTransport
    busy: int = 0
    last_used: float = 0.0


class HostPools:
    """Pools made by `make`, one per host; a pool idle for `expiry` seconds, or beyond the
    `kept` most recently used idle ones, is closed with its connections."""

    def __init__(self, make: Callable[[], httpx.AsyncBaseTransport], expiry: float, kept: int = KEPT_HOSTS) -> None:
        self._make = make
        self._expiry = expiry
        self._kept = kept
        self._pools: OrderedDict[str, _Pool] = OrderedDict()  # least recently used first
        self._swept = time.monotonic()

    def __len__(self) -> int:
        return len(self._pools)

    async def lease(self, host: str) -> tuple[httpx.AsyncBaseTransport, Callable[[], None]]:
        """`host`'s pool, and what to call when its request has ended (once, however it ended)."""
        await self._sweep()
        pool = self._pools.get(host)
        if pool is None:
            pool = self._pools[host] = _Pool(self._make())
        else:
            self._pools.move_to_end(host)
        pool.busy += 1
        ended = False

        def done() -> None:
            nonlocal ended
            if not ended:
                ended = True
                pool.busy -= 1
                pool.last_used = time.monotonic()

        return pool.transport, done

    async def _sweep(self) -> None:
        """Closes pools left idle too long, and the least recently used idle ones beyond `kept`."""
        now = time.monotonic()
        if len(self._pools) <= self._kept and now - self._swept < min(1.0, self._expiry):
            return
        self._swept = now
        idle = [host for host, pool in self._pools.items() if not pool.busy]
        surplus = len(idle) - self._kept
        # The pools to close leave the map before the first await: a lease or a sweep that runs while
        # one closes then never meets a pool on its way out.
        victims = [self._pools.pop(host).transport for i, host in enumerate(idle)
                   if i < surplus or now - self._pools[host].last_used >= self._expiry]
        for transport in victims:
            await transport.aclose()

    async def aclose(self) -> None:
        """Closes every pool and its connections."""
        pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            await pool.transport.aclose()
