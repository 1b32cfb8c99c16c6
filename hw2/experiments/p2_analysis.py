"""Readings of the stored Problem 2 (initialization, dying ReLU) results that the report's pages print.

Render-only: this module is one of :data:`hw2.experiments.RENDER_ONLY_MODULES`; no computation
imports it, so changing a rule or a sentence here recomputes nothing.
"""

from __future__ import annotations
