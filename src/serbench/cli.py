"""The ``serbench`` command: a table of sub-commands, each importing its module only when it runs.

Workflow steps run as Snakemake scripts (:mod:`serbench.workflow`); the
commands here are what a user runs by hand. A known failure (bad input, a
file that cannot be read) ends with one ``serbench <command>: error:`` line
and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import NamedTuple, get_args

from serbench import __version__
from serbench.errors import EXPECTED_FAILURES
from serbench.settings.base import LatencySettings
from serbench.settings.names import EncoderArchitecture


class Command(NamedTuple):
    """A sub-command: ``module:function`` called with the parsed arguments as keywords, help, arguments."""

    target: str
    help: str
    arguments: tuple[tuple[tuple[str, ...], dict], ...] = ()


DESCRIPTION = (
    "serbench, the speech emotion recognition benchmark: the commands a user runs by hand (workflow steps run "
    "through Snakemake)."
)
UPSTREAM = (("--upstream",), {"required": True, "dest": "pretrained", "help": "hub id or save_pretrained folder"})
WHISPER = (("--whisper-input",), {"choices": ["clip", "pad30"], "default": "clip", "help": "Whisper encoders only"})


def latency_option(name: str, **kwargs) -> tuple[tuple[str, ...], dict]:
    """An option of the latency commands with the default and help of its key in the config's latency sections."""
    field = LatencySettings.model_fields[name]
    return (f"--{name}",), {"default": field.default, "help": field.description, **kwargs}


LATENCY = (
    latency_option("seconds", type=float),
    latency_option("repeats", type=int),
    latency_option("threads", type=int, nargs="+"),
    (("--out",), {"required": True, "help": "JSON file of the measurements"}),
)
COMMANDS: dict[str, Command] = {
    "download": Command(
        "serbench.download:fetch_corpus",
        "fetch a corpus's official distribution and unpack it into a folder",
        (
            (("--corpus",), {"required": True}),
            (("--dest",), {"required": True, "help": "the corpus folder to create (<data_root>/<corpus>)"}),
            (("--checksum",), {"help": "the archive's pinned checksum, algorithm:hex (md5:..., sha256:...)"}),
            (("--url",), {"help": "fetch the same archive from here (a mirror) instead of its distributor"}),
        ),
    ),
    "predict": Command(
        "serbench.predict:predict_files",
        "emotion labels of audio files, prepared as the model's own metadata says: per file (and per window of a "
        "voice note for an ONNX model)",
        (
            (("audio",), {"nargs": "+", "help": "audio files in any format libsndfile reads"}),
            (
                ("--model",),
                {
                    "required": True,
                    "help": "a packed quantization model (.sbq: fp32.sbq or any variant), model.onnx / "
                    "model.int8.onnx from the DistilHuBERT study, <variant>.int8.onnx from the self-distillation "
                    "study, or a row of deployment.csv as results/tables/deployment.csv:<row>",
                },
            ),
            (
                ("--exit",),
                {
                    "help": "a self-distillation model's exit: an exit layer (e.g. 3) or teacher (default: the row's, "
                    "else teacher)"
                },
            ),
        ),
    ),
    "report": Command(
        "serbench.run_record:report",
        "Snakemake's HTML report of the last run, with the config files and --config values that run was given",
        (
            (("--out",), {"default": "report.html", "help": "HTML file to write (default: report.html)"}),
            (("--results",), {"default": "results", "help": "the run's results folder (default: results)"}),
        ),
    ),
    "init-encoder": Command(
        "serbench.ssl.upstream:save_random_upstream",
        "write a randomly initialised encoder (offline stand-in for a pretrained one)",
        (
            (("--architecture",), {"required": True, "choices": get_args(EncoderArchitecture)}),
            (("--out",), {"required": True, "dest": "out_dir", "help": "folder to save_pretrained into"}),
            (("--size",), {"choices": ["full", "small", "tiny"], "default": "full"}),
            (
                ("--layers",),
                {"type": int, "dest": "num_hidden_layers", "help": "transformer layers (default: the architecture's)"},
            ),
            (("--seed",), {"type": int, "default": 0}),
        ),
    ),
    "ssl-latency": Command(
        "serbench.studies.distilhubert.latency:upstream_latency",
        "bytes and CPU latency per clip of an upstream + head: PyTorch, ONNX float, every int8 scheme",
        (UPSTREAM, WHISPER, (("--classes",), {"type": int, "default": 4, "dest": "n_classes"}), *LATENCY),
    ),
    "exit-latency": Command(
        "serbench.studies.selfdistill.deploy:exit_latency",
        "parameters, bytes and CPU latency per clip of every self-distillation exit of an upstream, float and int8",
        (
            UPSTREAM,
            WHISPER,
            (("--exit-layers",), {"type": int, "nargs": "+", "required": True}),
            (("--block",), {"choices": ["conv", "lstm", "gru"], "default": "conv"}),
            (("--classes",), {"type": int, "default": 7, "dest": "n_classes"}),
            *LATENCY,
        ),
    ),
    "settings": Command(
        "serbench.settings.files:print_or_write",
        "print the default config.yaml (every setting with its default); --write also rewrites the schema",
        ((("--write",), {"metavar": "REPOSITORY", "help": "rewrite config.yaml and the schema in this checkout"}),),
    ),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="serbench", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"serbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, command in COMMANDS.items():
        child = sub.add_parser(name, help=command.help, description=command.help)
        for flags, options in command.arguments:
            child.add_argument(*flags, **options)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``serbench`` command; returns the exit status."""
    arguments = vars(_parser().parse_args(argv))
    name = arguments.pop("command")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    module, function = COMMANDS[name].target.split(":")
    try:
        status = getattr(importlib.import_module(module), function)(**arguments)
    except EXPECTED_FAILURES as err:
        print(f"serbench {name}: error: {err}", file=sys.stderr)
        return 2
    return status if isinstance(status, int) else 0


if __name__ == "__main__":
    sys.exit(main())
