"""Result tables as self-contained HTML pages, for the workflow report and for a browser.

Snakemake's report shows an HTML or image item in a frame but offers Markdown and CSV files only as links that a
browser does not open, so each table of the report is one page: its Markdown rendered (python-markdown, ``tables``
extension), CSV files shown as tables or, when long, offered as downloads embedded in the page.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import NamedTuple

import markdown
import pandas as pd

from serbench.atomic import write_text


class TablePage(NamedTuple):
    """One page of the report: its report category, title, and the Markdown and CSV tables it shows."""

    category: str
    title: str
    markdown: list[str]
    csv: list[str]


MAX_SHOWN_ROWS = 2000  # a longer CSV is a download only: a browser slows down on very long tables
STYLE = """
body { font: 13px/1.45 system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.8em 0 1.6em; }
th, td { border: 1px solid #ccc; padding: 2px 6px; white-space: nowrap; }
th { background: #f2f2f2; position: sticky; top: 0; }
tr:nth-child(even) td { background: #fafafa; }
a.download { display: inline-block; margin: 0 1em 0.5em 0; }
"""


def _download(path: Path) -> str:
    """A link that downloads ``path`` from a data URI, with its size in KB (1000 bytes)."""
    data = base64.b64encode(path.read_bytes()).decode()
    size = path.stat().st_size / 1000
    link = f'<a class="download" download="{path.name}" href="data:text/csv;base64,{data}">'
    return f"{link}{path.name} ({size:.0f} KB)</a>"


def table_page(title: str, markdown_files: list[str | Path], csv_files: list[str | Path]) -> str:
    """One HTML document: ``title``, download links for the CSV files, each Markdown file rendered, then each CSV
    file of at most :data:`MAX_SHOWN_ROWS` rows as a table.

    Raises:
        FileNotFoundError: a named file does not exist.
    """
    csvs = [Path(p) for p in csv_files]
    body = [f"<h1>{html.escape(title)}</h1>"]
    if csvs:
        body.append("<p>CSV: " + "".join(_download(p) for p in csvs) + "</p>")
    for path in map(Path, markdown_files):
        body.append(markdown.markdown(path.read_text(), extensions=["tables"]))
    for path in csvs:
        table = pd.read_csv(path, keep_default_na=False)
        if len(table) <= MAX_SHOWN_ROWS:
            body.append(f"<h2>{path.name}</h2>" + table.to_html(index=False, border=0))
    head = f'<meta charset="utf-8"><title>{html.escape(title)}</title><style>{STYLE}</style>'
    return f"<!DOCTYPE html>\n<html><head>{head}</head><body>\n" + "\n".join(body) + "\n</body></html>\n"


def write_table_page(out: str | Path, title: str, markdown_files: list[str], csv_files: list[str]) -> None:
    """:func:`table_page`, written atomically to ``out``."""
    write_text(out, table_page(title, markdown_files, csv_files))
