"""The application layer of romnet: what runs the library for a user.

* :mod:`.cli` -- the ``romnet`` command line (entry point ``romnet.app.cli:main``) and its
  sub-command modules (``*_cli.py``: ``hifi``/``compare``, ``offline``,
  ``train``/``train-merge``/``cluster``, ``online``, ``calibrate``, ``export``);
* :mod:`.runner` -- ``romnet run CASE_DIR``; :mod:`.config` -- the case.toml reader (one
  schema per table, composed from the schemas the library layers own);
* :mod:`.workflow` -- the steps of ``romnet run``, their context, the report and its plots;
* :mod:`.cycles` -- the cycle-extrapolation study.

The library (``romnet`` core, ``fe``, ``materials``, ``hifi``, ``offline``, ``online``)
never imports this package (``docs/architecture.md``).
"""
