"""Reproducible build of the BlazePose model variants (fp32 fold, int8 quantization, accuracy gate).

Run from the repository root, e.g. ``.venv/bin/python -m models.build.fold_fp16``; see README.md here.
"""
