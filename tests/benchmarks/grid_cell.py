"""One cell of a grid's results as the benchmark scripts read it: the options that name it, and the files its jobs
read and wrote (manifests, features, fold table, trained models)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NamedTuple

from serbench.dataset import CorpusFiles
from serbench.settings.names import Protocol
from serbench.studies.quantization.models import model_class


class GridCell(NamedTuple):
    """A cell's corpora (name -> :class:`CorpusFiles`), fold table, trained-models folder and normalisation."""

    corpora: dict[str, CorpusFiles]
    split: str
    models: str
    normalise: str


def add_cell_options(parser: argparse.ArgumentParser, features: str, protocol: str) -> None:
    """``--results``, ``--features``, ``--dataset`` (a corpus or a ``<train>_to_<test>`` pair), ``--protocol``,
    ``--family``."""
    parser.add_argument("--results", default="results", help="a results folder the grid wrote")
    parser.add_argument("--features", default=features)
    parser.add_argument("--dataset", default="emodb")
    parser.add_argument("--protocol", default=protocol)
    parser.add_argument("--family", required=True)


def grid_cell(args: argparse.Namespace) -> GridCell:
    """The files of the cell the options of :func:`add_cell_options` name."""
    results = Path(args.results)
    level = "utterance" if model_class(args.family).input_level == "utterance" else "frames"
    corpora = {
        corpus: CorpusFiles(
            str(results / "manifests" / f"{corpus}.csv"),
            str(results / "features" / args.features / corpus / f"{level}.npz"),
        )
        for corpus in args.dataset.replace("_to_", " ").split()
    }
    return GridCell(
        corpora,
        str(results / "quantization/splits" / args.dataset / f"{args.protocol}.csv"),
        str(results / "quantization/models" / args.features / args.dataset / args.protocol / args.family),
        Protocol.parse(args.protocol).normalise,
    )
