"""Many simulations at once: lanes, each a process with a simulator (test server, worker) of its own.

A time-skipping server has one clock, so the simulations on one simulator run one after
another; and a simulation's work is nearly all Python (the workflow, the activities, the
SDK), which holds the GIL, so lanes side by side are processes, one per idle core at most.
A lane takes about two seconds to start (Python, the server), so a short batch, or one on a
busy machine, runs in this process.
Each simulation starts on a fresh database, so a result never depends on the lane it ran in
or on what ran before it there.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import queue
import traceback
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue

from onboarding.playbook import Playbook
from simulator.journey import SETTLE_TIMEOUT, SimulationError
from simulator.run import Result, Simulator
from simulator.scenario import Scenario, ScenarioError

LANE_STOP_TIMEOUT = 2 * SETTLE_TIMEOUT  # wall seconds a lane may take to finish its job and stop
SCENARIOS_PER_LANE = 10  # fewer scenarios than this to share: one lane more does not pay for its start


@dataclass(frozen=True)
class Job:
    scenario: Scenario
    plan: Playbook
    days: float | None = None


Outcome = Result | SimulationError | ScenarioError  # what `simulate` returns, or the reason it could not


def lanes_for(jobs: int) -> int:
    """One lane per idle core (the cores less the load average), as long as each has
    SCENARIOS_PER_LANE scenarios to run: on a busy machine more lanes only fight for the cores."""
    idle = (os.cpu_count() or 1) - os.getloadavg()[0]
    return max(1, min(int(idle + 0.5), jobs // SCENARIOS_PER_LANE))


async def simulate_all(jobs: Sequence[Job], lanes: int | None = None) -> AsyncGenerator[Outcome]:
    """Every job's outcome, in the jobs' order, each as soon as it and those before it are done."""
    lanes = min(lanes or lanes_for(len(jobs)), len(jobs))
    if lanes <= 1:
        async with Simulator() as sim:
            for job in jobs:
                yield await _simulate(sim, job)
        return
    spawn = multiprocessing.get_context("spawn")  # not fork: this process may have Temporal's threads running
    todo: Queue[tuple[int, Job] | None] = spawn.Queue()
    done: Queue[tuple[int, Outcome | str]] = spawn.Queue()
    for item in enumerate(jobs):
        todo.put(item)
    for _ in range(lanes):
        todo.put(None)
    workers = [spawn.Process(target=_lane, args=(todo, done), daemon=True) for _ in range(lanes)]
    for worker in workers:
        worker.start()
    try:
        arrived: dict[int, Outcome] = {}
        for index in range(len(jobs)):
            while index not in arrived:
                at, outcome = await asyncio.to_thread(_next, done, workers)
                if isinstance(outcome, str):
                    raise SimulationError(f"a simulation lane stopped:\n{outcome}")
                arrived[at] = outcome
            yield arrived.pop(index)
    finally:  # done, or stopped early: the lanes finish the job in hand and shut their servers down
        with contextlib.suppress(queue.Empty):
            while True:
                todo.get_nowait()
        for _ in workers:
            todo.put(None)
        for worker in workers:
            worker.join(timeout=LANE_STOP_TIMEOUT)
            if worker.is_alive():
                worker.terminate()


def _next(done: Queue[tuple[int, Outcome | str]], workers: Sequence[BaseProcess]) -> tuple[int, Outcome | str]:
    """The next outcome from any lane; a lane that died without saying why is an error too."""
    while True:
        try:
            return done.get(timeout=1)
        except queue.Empty:
            if any(w.exitcode not in (None, 0) for w in workers):
                return -1, "a lane's process ended abnormally"


async def _simulate(sim: Simulator, job: Job) -> Outcome:
    try:
        return await sim.simulate(job.scenario, job.plan, job.days)
    except (SimulationError, ScenarioError) as e:
        return e


def _lane(todo: Queue[tuple[int, Job] | None], done: Queue[tuple[int, Outcome | str]]) -> None:
    """One lane's process: jobs from `todo` until its end marker, each on the lane's simulator."""

    async def run() -> None:
        async with Simulator() as sim:
            while (item := todo.get()) is not None:
                index, job = item
                done.put((index, await _simulate(sim, job)))

    try:
        asyncio.run(run())
    except BaseException:  # the parent raises it, with this traceback
        done.put((-1, traceback.format_exc()))
