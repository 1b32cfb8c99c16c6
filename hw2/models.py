"""Model builders used across the report. Each is a plain Keras model.

Sections: the P2 initialization-study MLP, LeNet-5 (P3), MiniGoogLeNet (P4).
"""

from __future__ import annotations

import keras

# ----------------------------------------------------------------------------------- P2 (init study)
# (init_study_mlp: added with Problem 2)

# ----------------------------------------------------------------------------------- P3 (LeNet-5)
# (lenet5: added with Problem 3)

# ----------------------------------------------------------------------------------- P4 (MiniGoogLeNet)
# (mini_googlenet: added with the cyclical-policy library)
