"""Load as users bring it: the engine's capacity, then throughput journeys arriving at a steady rate below it.

Capacity is measured, not assumed: a burst of throughput journeys (bench/journey.py) all in
flight at once, onboardings completed per second of the burst, the probes running as they do
at every level (about one update and two page views a second on top of the journeys). A level
is a share of it: journeys then start as a Poisson process at that rate (exponential gaps, seeded, so two runs
draw the same gaps), the first at the level's start, open loop: a start never waits for the
engine. The journeys of a warm-up are not sampled; during the window after it, the probes run
(a CSM action, the plan page) and every journey that starts contributes its event -> email
samples. A level ends when its last journey has completed, so levels never overlap.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from bench import breakdown, common
from bench.engine import Engine, Resting, before, paced, page, touch
from bench.journey import Trip, engine_journey
from bench.throughput import gated

SEED = 19


@dataclass(frozen=True)
class Pace:
    """How long a level lasts and how often the probes go."""

    warm_up: float  # seconds of journeys before sampling starts
    window: float  # seconds sampled
    idle_window: float  # seconds the probes run alone, for the idle row
    action_every: float
    page_every: float


async def capacity(
    engine: Engine, accounts: Iterator[str], burst: int, rest: list[Resting], pace: Pace
) -> dict[str, Any]:
    """`burst` journeys at once: onboardings completed per second, from the first start to the last completion.

    The probes run meanwhile at their pace, as at every level, so the levels' shares are of what
    the engine carries with them; their samples here are not kept.
    """
    done = asyncio.Event()
    probing = asyncio.create_task(probes(engine, rest, pace, lambda _: not done.is_set()))
    began = time.monotonic()
    await gated((next(accounts) for _ in range(burst)), lambda a: engine_journey(engine.client, a), burst)
    seconds = time.monotonic() - began
    done.set()
    await probing
    return {
        "source": f"measured in this run: {burst} throughput journeys in flight at once, the probes running",
        "onboardings": burst,
        "seconds": round(seconds, 2),
        "per_second": round(burst / seconds, 3),
    }


async def probes(
    engine: Engine, rest: list[Resting], pace: Pace, going: Callable[[int], bool]
) -> tuple[list[float], list[float]]:
    """The CSM action and the plan page, each on its own pace, round-robin over the resting onboardings."""
    async with httpx.AsyncClient(timeout=60) as http:

        async def action(n: int) -> None:
            await touch(engine.client, rest[n % len(rest)].workflow_id)

        async def plan(n: int) -> None:
            await page(http, rest[n % len(rest)].link, rest[n % len(rest)].company)

        return await asyncio.gather(paced(action, pace.action_every, going), paced(plan, pace.page_every, going))


async def arrivals(
    rate: float, until: float, rng: random.Random, start: Callable[[], Coroutine[Any, Any, Trip]]
) -> list[tuple[float, asyncio.Task[Trip]]]:
    """Start a journey now, then after each exponential gap until `until`: (when it started, its task)."""
    out: list[tuple[float, asyncio.Task[Trip]]] = []
    at = time.monotonic()
    while at < until:
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        out.append((at, asyncio.create_task(start())))
        at += rng.expovariate(rate)
    return out


async def level(
    engine: Engine, accounts: Iterator[str], rest: list[Resting], share: float, capacity: float, pace: Pace
) -> dict[str, Any]:
    """One load level: `share` of `capacity` as Poisson arrivals, sampled after the warm-up."""
    rate = share * capacity
    began = time.monotonic()
    sampled_from, until = began + pace.warm_up, began + pace.warm_up + pace.window
    rng = random.Random(f"{SEED}-{share}")
    starting = asyncio.create_task(arrivals(rate, until, rng, lambda: engine_journey(engine.client, next(accounts))))
    await asyncio.sleep(pace.warm_up)
    actions, pages = await probes(engine, rest, pace, before(until))
    started = await starting
    trips = await asyncio.gather(*(task for _, task in started))
    drained = time.monotonic() - until
    sampled = [trip for (at, _), trip in zip(started, trips, strict=True) if at >= sampled_from]
    unsent = await breakdown.unsent(engine.client, sampled, engine.outbox)
    emails = [s for trip in sampled for s in trip.latencies(engine.outbox, unsent)]
    return {
        "load": share,
        "target_per_second": round(rate, 3),
        "achieved_per_second": round(len(sampled) / pace.window, 3),
        "onboardings": len(started),
        "sampled_onboardings": len(sampled),
        "drain_seconds": round(drained, 2),
        "event_to_email": common.percentiles(emails),
        "event_to_email_legs": breakdown.report(await breakdown.samples(engine.client, sampled, engine.outbox, unsent)),
        "emails_unsent_event_before_team": len(unsent),
        "csm_action": common.percentiles(actions),
        "plan_page": common.percentiles(pages),
    }
