"""
3.4 Dropout instead of batch normalization
==========================================

*Question.* Train LeNet-5 without batch normalization but with dropout: rate 0.2 on the input and
0.5 on the hidden layers. How does its test accuracy compare with the BN models of 3.2 and 3.3?
"""

# %%
# Dropout sits on the (standardized, padded) input image and after the tanh of each hidden dense
# layer (120 and 84 units); the two conv layers, with only 6 and 16 channels of strongly correlated
# pixels, are left without it (:func:`hw2.models.lenet5`). Keras' dropout is *inverted*: kept
# activations are scaled by ``1/(1 − p)`` in training, and nothing is dropped or rescaled at test
# time. Everything else — optimizer, batch size, epochs, data order per seed — is shared with the
# other variants.
from hw2 import experiments, plotting, report
from hw2.experiments import p3_lenet

result = experiments.run("p3.lenet", fallback=True)
report.banner(result)
data, config = result.data, result.config
variants = data["variants"]
names = p3_lenet.labels(variants)
print(f"input dropout {config['input_dropout']}, hidden dropout {config['hidden_dropout']}, "
      f"{data['setup']['epochs']} epochs, seeds {data['setup']['seeds']}")
shown = {k: variants[k] for k in ("baseline", "bn_hidden", "bn_input_hidden", "dropout")}
print(p3_lenet.accuracy_table(shown))

# %%
fig, ax = plotting.new_figure(height=3.4)
plotting.plot_seed_accuracies(ax, shown, names)
ax.set_title("test accuracy per seed (grey lines join the same seed)")

# %%
# Each dot is one seed's test accuracy, black = mean ± sd; grey lines connect runs with the same
# seed (same data order), which is what the paired comparisons below use.
diffs = {b: p3_lenet.comparison(variants, "dropout", b) for b in ("bn_hidden", "bn_input_hidden", "baseline")}
for d in diffs.values():
    print(p3_lenet.verdict(d, names))

# %%
# Regularization at work: training vs validation
# ----------------------------------------------
pair = {k: variants[k] for k in ("baseline", "dropout")}
fig, axes = plotting.new_figure(ncols=2, height=3.2)
plotting.plot_learning_curves(axes[0], pair, names, "accuracy")
plotting.plot_learning_curves(axes[1], pair, names, "loss")
axes[0].set_ylim(97, 100.05)
axes[1].set_yscale("log")
axes[0].legend(fontsize=6)

# %%
# Dashed = training subset, solid = validation, both in inference mode (mean ± sd over seeds).
# Dropout fits the training set less tightly; whether that buys validation accuracy within this
# training budget is what the numbers below say. Dropout also slows convergence (each step
# trains a different thinned network), so we print how much each curve still moved in the last two
# epochs.
for k in pair:
    h = pair[k]["history"]
    gap = 100 * (h["train_accuracy"][:, -1] - h["val_accuracy"][:, -1])
    change, change_sd = p3_lenet.late_change(pair[k])
    print(f"{names[k]:>30}: final train {100 * h['train_accuracy'][:, -1].mean():.2f} %, validation "
          f"{100 * h['val_accuracy'][:, -1].mean():.2f} %, gap {gap.mean():.2f} ± {gap.std(ddof=1):.2f} points; "
          f"validation change over the last 2 epochs {100 * change:+.2f} ± {100 * change_sd:.2f}")

# %%
# Over- or under-fitting?
# -----------------------
# Dropout is a regularizer: it should shrink the gap between training and held-out accuracy, and it
# pays off only if the model was overfitting more than the regularization costs in fit.
h_base, h_drop = pair["baseline"]["history"], pair["dropout"]["history"]
base_gap = 100 * (h_base["train_accuracy"][:, -1] - h_base["val_accuracy"][:, -1]).mean()
drop_gap = 100 * (h_drop["train_accuracy"][:, -1] - h_drop["val_accuracy"][:, -1]).mean()
drop_train = 100 * h_drop["train_accuracy"][:, -1].mean()
base_val = 100 * h_base["val_accuracy"][:, -1].mean()
if drop_train < base_val:
    reading = (f"dropout shrinks the train − validation gap from {base_gap:.2f} to {drop_gap:.2f} points, but its "
               f"*training* accuracy ({drop_train:.2f} %) ends below the baseline's *validation* accuracy "
               f"({base_val:.2f} %): with 0.5 on layers of only 120 and 84 units (and 0.2 on the input) this "
               f"small network underfits within {data['setup']['epochs']} epochs — the regularization costs "
               f"more than the overfitting it removes")
else:
    reading = (f"dropout shrinks the train − validation gap from {base_gap:.2f} to {drop_gap:.2f} points while "
               f"still fitting the training set to {drop_train:.2f} %")
print(reading + ".")

drop = 100 * variants["dropout"]["test_accuracy"]
report.answer(
    "3.4",
    f"Dropout (0.2 input / 0.5 hidden, no BN): test accuracy {drop.mean():.2f} ± {drop.std(ddof=1):.2f} %; "
    f"vs 3.2: {p3_lenet.verdict(diffs['bn_hidden'], names)}; vs 3.3: "
    f"{p3_lenet.verdict(diffs['bn_input_hidden'], names)}; {reading.split(':')[0]}"
    f"{' (underfits)' if drop_train < base_val else ''}.", result)
