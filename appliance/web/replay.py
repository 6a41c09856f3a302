"""Replay of recorded runs: sessions → runs → strides (filled in once the store lands)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("replay", __name__, url_prefix="/replay")


@bp.get("/")
def sessions() -> str:
    return render_template("base.html")
