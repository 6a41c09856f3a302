"""The running analysis: pose frames → gait events (``gait/``) → lean metrics and verdicts (``lean/``).

``analyzer`` streams it frame by frame (the same code live and over files), ``annotate`` draws a
result onto a video, ``figure`` draws one judged stride as a stick figure (keypoints only),
``evaluation`` scores events against hand labels. ``lean/`` and ``gait/`` never import the
analyzer: it is built on them. Pure: no I/O but in
``annotate``.
"""
