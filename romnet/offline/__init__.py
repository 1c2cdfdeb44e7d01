"""Offline stage: POD, ECM hyper-reduction, clustering (see issues)."""
