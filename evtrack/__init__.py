"""evtrack: a living evidence ledger for mechanistic scientific claims.

Importing the package does no I/O; everything starts from a :class:`evtrack.config.Settings`.
"""

__version__ = "0.1.0"
