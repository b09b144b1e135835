"""Former home of the table code, kept so old imports work: use :mod:`sfpc_eval.tables`.

Examples
--------
>>> from sfpc_eval._tables import Table
>>> from sfpc_eval.tables import Table as Engine
>>> Table is Engine
True
"""

from sfpc_eval.tables import Table, format_number, format_p_value

__all__ = ["Table", "format_number", "format_p_value"]
