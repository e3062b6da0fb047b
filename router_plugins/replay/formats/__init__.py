"""Dataset formats of recorded outcomes, one module each; every module defines ``FORMAT = OutcomeFormat(...)``.

To add a format, add a module here whose ``FORMAT.recognise`` accepts the header of its CSV and whose ``FORMAT.load``
returns an :class:`~router_plugins.replay.OutcomeTable`; :func:`registered_formats` finds it.
"""

from router_plugins.replay.formats._registry import LoadOptions, OutcomeFormat, Prices, registered_formats

__all__ = ["LoadOptions", "OutcomeFormat", "Prices", "registered_formats"]
