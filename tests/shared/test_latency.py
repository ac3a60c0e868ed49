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


def test_a_latency_record_reads_back_from_its_json_with_every_runtime_measured():
    import json

    import numpy as np
    import pytest
    import torch

    from serbench.errors import InputError
    from serbench.ssl.latency import LatencyRecord, measure_latency

    model = torch.nn.Sequential(torch.nn.Unflatten(1, (1, -1)), torch.nn.AvgPool1d(160), torch.nn.Flatten(),
                                torch.nn.Linear(100, 256), torch.nn.ReLU(), torch.nn.Linear(256, 4)).eval()  # fmt: skip
    calibration = [np.random.default_rng(i).uniform(-0.5, 0.5, 16000).astype(np.float32) for i in range(2)]
    record = measure_latency(model, calibration, 1.0, 1, [1], ("dynamic",))
    assert set(record.runtimes) == {"pytorch_float", "onnx_float", "onnx_int8_dynamic"}
    assert record.runtime("onnx_int8_dynamic").mb < record.runtime("onnx_float").mb  # int8 weights on disk
    assert record.runtime("pytorch_float").mb == 4 * record.n_params / 1e6
    assert all(t.median_s[1] >= t.fastest_s[1] > 0 for t in record.runtimes.values())
    assert LatencyRecord.from_json(json.loads(json.dumps(record.to_json()))) == record  # thread keys back to int
    with pytest.raises(InputError, match="measured: pytorch_float, onnx_float, onnx_int8_dynamic"):
        record.runtime("onnx_int8_static")
