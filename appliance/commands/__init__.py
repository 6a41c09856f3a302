"""One module per ``leancam`` subcommand; each defines ``add_parser(subparsers)``.

``add_parser`` registers the subcommand and sets ``func`` (``args -> exit code``) as its default.
"""

COMMAND_MODULES: tuple[str, ...] = (
    "run",
    "pose",
    "analyze",
    "eval",
    "bench",
    "fetch",
    "doctor",
    "config",
    "web",
    "mounting",
)
