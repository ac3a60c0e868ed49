"""Text that overprints in a figure: what a reader cannot read, found before the figure is saved."""

from __future__ import annotations

import itertools

from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.text import Text


def _tick_labels(figure: Figure) -> tuple[list[Text], set[int]]:
    """The tick labels drawn (ticks inside their axis's view) and the ids of all tick labels."""
    drawn, every = [], set()
    for axis in figure.findobj(Axis):
        low, high = sorted(axis.get_view_interval())
        for tick in axis.get_major_ticks() + axis.get_minor_ticks():
            labels = (tick.label1, tick.label2)
            every |= {id(label) for label in labels}
            if low <= tick.get_loc() <= high:
                drawn += [label for label in labels if label.get_visible()]
    return drawn, every


def overlapping_texts(figure: Figure) -> list[tuple[str, str]]:
    """Pairs of visible, non-empty texts of ``figure`` (titles, labels, tick labels inside their axis's view,
    annotations without their arrows, legend entries) whose boxes intersect, at the figure's current layout.

    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.text(0.5, 0.5, "first label"), ax.text(0.5, 0.5, "second label")
    >>> overlapping_texts(fig)
    [('first label', 'second label')]
    >>> plt.close(fig)
    """
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    ticks, tick_ids = _tick_labels(figure)
    texts = ticks + [t for t in figure.findobj(Text) if id(t) not in tick_ids and t.get_visible()]
    boxes = [(t.get_text(), Text.get_window_extent(t, renderer)) for t in texts if t.get_text().strip()]
    return [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2) if box_a.overlaps(box_b)]
