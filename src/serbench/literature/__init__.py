"""Published figures the suite prints beside its own, each row with its source."""

from __future__ import annotations

from importlib.resources import files

import pandas as pd


def shinde2024_table2() -> pd.DataFrame:
    """Shinde et al. 2024, Table 2: columns ``corpus, model, variant, size_kb, accuracy, avg_bits, source``.

    ``accuracy`` is a fraction (the paper prints percent). The paper's fixed
    rows list 4-bit TESS as 99.29 % in the table and 97.86 % in the text; the
    table's figures are kept.
    """
    table = pd.read_csv(files(__package__) / "shinde2024_table2.csv")
    table["accuracy"] = table.pop("accuracy_percent") / 100
    return table


def shinde2024_table3() -> pd.DataFrame:
    """Shinde et al. 2024, Table 3: published systems per corpus.

    Columns ``corpus, system, year, accuracy, params, source``; ``accuracy`` a
    fraction, ``params`` as printed (``"4M"``, empty where the paper gives none).
    """
    table = pd.read_csv(files(__package__) / "shinde2024_table3.csv", dtype={"params": str}, keep_default_na=False)
    table["accuracy"] = table.pop("accuracy_percent") / 100
    return table


def ismail_table1() -> pd.DataFrame:
    """Ismail, Table I (IEMOCAP, 5-fold LOSO): columns ``metric, setting, mean, std, source``.

    ``setting`` is ``base`` (IEMOCAP only) or ``extra`` (+ CREMA-D); scores are fractions.
    """
    return pd.read_csv(files(__package__) / "ismail_table1.csv")


def emobox2024_table4() -> pd.DataFrame:
    """EmoBox (Ma et al., Interspeech 2024), Table 4, for the corpora the suite reads: ten self-supervised upstreams
    on EmoBox's folds (:mod:`serbench.emobox`), all of each corpus's emotions.

    Columns ``corpus, upstream, ua, wa, macro_f1, source``; scores as fractions (the table prints percent). EmoBox
    gives no parameter counts or latencies.
    """
    table = pd.read_csv(files(__package__) / "emobox2024_table4.csv")
    for score in ("ua", "wa", "macro_f1"):
        table[score] = table.pop(f"{score}_percent") / 100
    return table[["corpus", "upstream", "ua", "wa", "macro_f1", "source"]]
