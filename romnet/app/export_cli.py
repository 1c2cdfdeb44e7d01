"""``romnet export STORE.h5 [--series NAME] [--fields a,b] -o OUT.xdmf`` (ParaView)."""
from __future__ import annotations

from .options import command


def cmd_export(args):
    """export a result series to XDMF for ParaView

    Write the snapshots of one result series of a case store to an XDMF time series (nodal
    fields as point data, integration-point fields as cell averages)."""
    from ..export import export_xdmf
    fields = [f.strip() for f in args.fields.split(",") if f.strip()] if args.fields else None
    out = export_xdmf(args.store, args.series, args.output, fields=fields)
    print(f"wrote {out} (+ {out.with_suffix('.h5').name}); integration-point fields are "
          "exported as cell averages")
    return 0


def register(subparsers):
    s = command(subparsers, "export", cmd_export)
    s.add_argument("store", help="case store (HDF5)")
    s.add_argument("--series", default=None, help="result series (default: imported, or the only one)")
    s.add_argument("--fields", default=None, help="comma-separated field names (default: all)")
    s.add_argument("-o", "--output", required=True, help="output .xdmf file (a .h5 is written next to it)")
