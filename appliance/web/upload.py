"""Upload a phone video for offline analysis (filled in once analysis and store land)."""

from __future__ import annotations

from flask import Blueprint, Flask, render_template

bp = Blueprint("upload", __name__, url_prefix="/upload")


@bp.get("/")
def form() -> str:
    return render_template("base.html")


def register_error_handlers(app: Flask) -> None:
    pass
