"""``romnet run CASE_DIR -o OUT`` in-process (started by a test under mpirun).

usage: blade_run.py CASE_DIR OUT"""
import sys

from romnet.app.cli import main

sys.exit(main(["run", sys.argv[1], "-o", sys.argv[2]]))
