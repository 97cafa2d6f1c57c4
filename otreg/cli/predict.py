"""``otreg predict``: evaluate a trained model and its input gradient at points."""
from __future__ import annotations

import argparse
import sys

from ..errors import InputError
from ._paths import apart, output_file, write_text


def add_parser(subparsers):
    p = subparsers.add_parser(
        "predict", help="evaluate a trained network f and its gradient at points",
        description="Evaluate f and grad f of a model written by 'otreg train'. --points is a "
                    "data file: .npz with 'points' or x_pos/x_neg (positives first), or CSV "
                    "where every column is a coordinate (a column that the header names "
                    "'label' is ignored); points are taken in file order and must have the "
                    "model's dimension.")
    p.add_argument("--model", required=True, help="model file written by 'otreg train'")
    p.add_argument("--points", required=True, help=".npz or CSV file of points")
    p.add_argument("--json", default=None,
                   help="write {points, f, grad} to this JSON file instead of CSV on stdout")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ..data.io import json_text, load_points
    from ..nn import load_model

    output_file(args.json, "json")
    apart({"json": args.json}, {"model": args.model, "points": args.points})
    model = load_model(args.model)
    if model.out_dim != 1:
        raise InputError(f"model: has {model.out_dim} outputs; predict expects a scalar f")
    pts = load_points(args.points, dim=model.in_dim)
    f = model.predict(pts)
    g = model.grad(pts)
    if args.json:
        payload = {"model": args.model, "points": pts.tolist(), "f": f.tolist(),
                   "grad": g.tolist(), "grad_norm": np.linalg.norm(g, axis=1).tolist()}
        write_text(args.json, "json", json_text(payload, "--json"))
        print(f"wrote f and grad f at {len(pts)} points to {args.json}")
        return 0
    d = pts.shape[1]
    out = sys.stdout
    out.write(",".join([f"x{i}" for i in range(d)] + ["f"] + [f"df_dx{i}" for i in range(d)])
              + "\n")
    for row_x, row_f, row_g in zip(pts, f, g):
        out.write(",".join(f"{v:.17g}" for v in (*row_x, row_f, *row_g)) + "\n")
    return 0
