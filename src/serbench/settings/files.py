"""The files generated from :class:`~serbench.settings.Settings`: the commented default ``config.yaml`` and the
JSON schema ``workflow/schemas/config.schema.json`` (editor completion, documentation). ``serbench settings
--write`` rewrites both; ``tests/shared/test_settings.py`` fails when either is out of step with the models."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel

from serbench.settings import Settings

CONFIG_PATH = "config.yaml"
SCHEMA_PATH = "workflow/schemas/config.schema.json"
HEADER = """serbench experiment matrix: every setting with its default, generated from serbench.settings
(`serbench settings --write`); types and ranges: workflow/schemas/config.schema.json.
Override any key with your own file: snakemake --cores 8 all --configfile my-study.yaml"""


def _section_class(annotation: Any) -> type[BaseModel] | None:
    """The Section class a field holds (``X``, ``X | None``), or ``None``."""
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _commented(model: type[BaseModel], values: dict, indent: int):
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    data = CommentedMap()
    for name, field in model.model_fields.items():
        value, section = values[name], _section_class(field.annotation)
        if section is not None and isinstance(value, dict):
            data[name] = _commented(section, value, indent + 2)
        elif isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
            data[name] = CommentedSeq(value)
            data[name].fa.set_flow_style()
        else:
            data[name] = value
        doc = field.description or (section.__doc__ if section is not None and isinstance(value, dict) else None)
        if doc:
            data.yaml_set_comment_before_after_key(name, before=" ".join(doc.split()), indent=indent)
    return data


def _float(representer, value: float):
    text = repr(value)
    if "e" in text and "." not in text:  # YAML 1.1 readers (PyYAML) need a dot to read 5e-05 as a number
        text = text.replace("e", ".0e")
    return representer.represent_scalar("tag:yaml.org,2002:float", text)


def config_yaml() -> str:
    """The default ``config.yaml``: every key of :class:`Settings` at its default, its description as a comment."""
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.width = 120
    yaml.representer.add_representer(float, _float)
    data = _commented(Settings, Settings().model_dump(mode="json"), 0)
    data.yaml_set_start_comment(HEADER)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def config_schema() -> str:
    """The JSON schema of the config, as indented JSON text."""
    return json.dumps(Settings.model_json_schema(), indent=2) + "\n"


def write_files(repository: str | Path) -> list[Path]:
    """Rewrite ``config.yaml`` and the schema under ``repository``; returns the paths written."""
    paths = [Path(repository, CONFIG_PATH), Path(repository, SCHEMA_PATH)]
    for path, text in zip(paths, (config_yaml(), config_schema())):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return paths


def print_or_write(write: str | None = None) -> None:
    """``serbench settings``: print the default config.yaml, or with ``write`` rewrite both files in that checkout."""
    if write is None:
        print(config_yaml(), end="")
        return
    for path in write_files(write):
        print(f"wrote {path}")
