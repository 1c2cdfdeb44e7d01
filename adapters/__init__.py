"""Importers of external codes' files into :class:`romnet.case.Case` (found as plugins)."""
