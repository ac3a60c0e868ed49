import base64
import re

import pandas as pd

from serbench import html_page
from serbench.html_page import table_page


def test_a_page_renders_markdown_tables_shows_short_csvs_and_offers_every_csv_for_download(tmp_path, monkeypatch):
    (tmp_path / "summary.md").write_text(
        "## Results\n\n| corpus | WA % |\n|:--|--:|\n| emodb | 64.63 |\n| tess | 99.32 |\n"
    )
    short = pd.DataFrame({"dataset": ["emodb", "tess"], "accuracy": [0.6463, 0.9932]})
    short.to_csv(tmp_path / "short.csv", index=False)
    pd.DataFrame({"seed": range(5)}).to_csv(tmp_path / "long.csv", index=False)
    monkeypatch.setattr(html_page, "MAX_SHOWN_ROWS", 4)
    page = table_page(
        "Quantization <study>", [tmp_path / "summary.md"], [tmp_path / "short.csv", tmp_path / "long.csv"]
    )
    assert "<h1>Quantization &lt;study&gt;</h1>" in page and "<h2>Results</h2>" in page
    assert "<td>emodb</td>" in page and '<td style="text-align: right;">99.32</td>' in page
    assert "<h2>short.csv</h2>" in page and "<td>0.9932</td>" in page and "<h2>long.csv</h2>" not in page
    links = dict(re.findall(r'download="([\w.]+)" href="data:text/csv;base64,([A-Za-z0-9+/=]+)"', page))
    assert base64.b64decode(links["long.csv"]) == (tmp_path / "long.csv").read_bytes()
    assert base64.b64decode(links["short.csv"]) == (tmp_path / "short.csv").read_bytes()
