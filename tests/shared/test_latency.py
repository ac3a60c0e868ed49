"""Latency under load: interleaved rounds rank runtimes by what they cost, not by when the machine was busy."""

from __future__ import annotations

import time

from serbench.ssl.latency import interleaved_latency, median_latency


class LoadedMachine:
    """Calls that sleep their own cost, plus ``load`` seconds while the machine is busy: its calls numbered
    ``busy`` (from 1), whichever runtime makes them."""

    def __init__(self, busy: range, load: float):
        self.calls, self.busy, self.load = 0, busy, load

    def runtime(self, cost: float):
        def run():
            self.calls += 1
            time.sleep(cost + (self.load if self.calls in self.busy else 0.0))

        return run


def test_a_busy_spell_makes_the_slower_runtime_look_faster_in_turn_but_not_interleaved():
    costs = {"slow": 0.004, "fast": 0.002}
    busy = range(8, 15)  # the second runtime's 7 calls when timed in turn (2 warm-up + 5 repeats each)
    in_turn = LoadedMachine(busy, load=0.02)
    medians = {name: median_latency(in_turn.runtime(cost), repeats=5) for name, cost in costs.items()}
    assert medians["fast"] > medians["slow"]
    machine = LoadedMachine(busy, load=0.02)
    timed = interleaved_latency({name: machine.runtime(cost) for name, cost in costs.items()}, repeats=5)
    assert timed["fast"]["minimum"] < costs["slow"] <= timed["slow"]["minimum"]
    assert timed["fast"]["spread"] > 0


def test_interleaved_rounds_rotate_the_order_and_time_each_runtime_once_per_round():
    order = []
    runs = {name: (lambda n=name: order.append(n)) for name in "abc"}
    timed = interleaved_latency(runs, repeats=3, warmup=1)
    assert order == list("abcbcacababc")
    assert all(t["minimum"] <= t["median"] for t in timed.values())
