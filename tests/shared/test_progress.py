import logging
import time

from serbench.progress import progress


def test_a_long_loop_logs_count_elapsed_and_estimate_and_a_quick_one_nothing(caplog):
    caplog.set_level(logging.INFO, logger="progress")
    for _ in progress(range(4), "quantize emodb/random mlp", "run", every=0.05, delay=0.05):
        time.sleep(0.06)
    lines = [r.getMessage() for r in caplog.records]
    assert lines and all(line.startswith("quantize emodb/random mlp: ") for line in lines)
    assert lines[-1].startswith("quantize emodb/random mlp: 4/4 runs [")
    assert "elapsed" in lines[-1] and "left" in lines[-1] and "s/run" in lines[-1]
    assert len(lines) == len(set(lines)) and len(lines) <= 5  # no repeated line, no line per carriage return
    caplog.clear()
    assert list(progress(range(3), "quick", "run", every=0.05, delay=5)) == [0, 1, 2]
    assert caplog.records == []


def test_a_unit_ending_in_ch_counts_batches_not_batchs(caplog):
    caplog.set_level(logging.INFO, logger="progress")
    for _ in progress(range(2), "encode", "batch", every=0.01, delay=0.01):
        time.sleep(0.02)
    assert caplog.records[-1].getMessage().startswith("encode: 2/2 batches [")


def test_a_loop_inside_a_loop_logs_its_epochs_and_no_terminal_control_codes(caplog):
    caplog.set_level(logging.INFO, logger="progress")
    for _ in progress(range(2), "train", "run", every=0.01, delay=0.01):
        for _ in progress(range(2), "fold 0 seed 0", "epoch", every=0.01, delay=0.01):
            time.sleep(0.02)
    lines = [r.getMessage() for r in caplog.records]
    assert any(line.startswith("fold 0 seed 0: 2/2 epochs [") for line in lines)
    assert lines and not any("\x1b" in line or line == "[A" for line in lines)
