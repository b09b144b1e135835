"""Tables for publication: one engine for summaries, side-by-side models, reports and exports.

Builds on :mod:`sfpc_eval.labels` (every name a reader sees) and :mod:`sfpc_eval.errors`; the
result classes build their ``summary()`` here, and :mod:`sfpc_eval.report` lays its tables out
with it. It holds

- :class:`Table` and :class:`Cell` (:mod:`~sfpc_eval.tables.table`, on
  :mod:`~sfpc_eval.tables.cells`): cells that keep their numbers and formats, rendered as
  text, HTML (:mod:`~sfpc_eval.tables.render`), Markdown and LaTeX;
- :class:`NumberFormat` and :func:`decimals_for` (:mod:`~sfpc_eval.tables.formats`): fixed
  decimals from the precision of the estimates, units marked;
- :func:`save` and friends (:mod:`~sfpc_eval.tables.export`): Excel, Word, CSV and the text
  formats;
- :func:`side_by_side` (:mod:`~sfpc_eval.tables.side_by_side`): any mix of results as columns,
  with their model facts from ``glance()``;
- :func:`estimates_table` (:mod:`~sfpc_eval.tables.estimates`): one result's terms, as its
  ``summary()`` shows them.
"""

from sfpc_eval.tables.estimates import estimates_table
from sfpc_eval.tables.export import FORMATS, save
from sfpc_eval.tables.formats import NumberFormat, decimals_for, format_number, format_p_value
from sfpc_eval.tables.side_by_side import side_by_side
from sfpc_eval.tables.table import INVALID_MARK, Cell, Table

__all__ = [
    "FORMATS",
    "INVALID_MARK",
    "Cell",
    "NumberFormat",
    "Table",
    "decimals_for",
    "estimates_table",
    "format_number",
    "format_p_value",
    "save",
    "side_by_side",
]
