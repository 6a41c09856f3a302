"""The running analysis: pose frames → gait events (``gait/``) → lean metrics and verdicts (``lean/``).

``analyzer`` streams it frame by frame (the same code live and over files), ``annotate`` draws a
result onto a video, ``evaluation`` scores events against hand labels. Pure: no I/O but in
``annotate``.
"""
