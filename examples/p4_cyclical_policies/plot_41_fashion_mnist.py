"""
4.1 What is in Fashion-MNIST, and how is it split?
==================================================

*Summarize the Fashion-MNIST dataset: total size, training / validation / test sizes, the
classes and how many images each split holds per class, and show three representative images
from each of three classes.*

Every number below is computed from the arrays themselves
(:func:`hw2.datasets.load_fashion_mnist`). The validation set is carved once, by class, from the
60 000 training images (:func:`hw2.experiments.p4_data.fashion_mnist_split`); all Problem 4
experiments use this split.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from hw2 import experiments, report
from hw2.experiments.p4_finders_analysis import setup_sentence
from hw2.experiments.p4_setup import setup_note, training_profile
from hw2.plotting import new_figure

result = experiments.run("p4.fashion_mnist", fallback=True)
report.banner(result)
data = result.data
trained_at, stands_in = training_profile(result.profile)
training_setup = setup_note(experiments.get("p4.clr").config(trained_at))
print("this page trains nothing (0 optimizer updates). The trainings of 4.2-4.7 render the "
      f"{trained_at} profile" + (" (no full-specification result is stored and no GPU is here)" if stands_in else "")
      + f": {setup_sentence(training_setup)}")
sizes = data["split_sizes"]
print(f"total images: {data['total_images']}  (each {data['image_shape'][0]}x{data['image_shape'][1]} "
      f"grayscale, uint8)")
for name in ("train", "validation", "test"):
    share = sizes[name] / data["total_images"]
    print(f"  {name:<10} {sizes[name]:>6}  ({share:.1%} of all images)")
print(f"training pixels (x/255): mean {data['pixel_mean']:.4f}, sd {data['pixel_std']:.4f}")

# %%
# The validation images are a stratified, seeded sample of the official training set:
# exactly the same number of images of every class, so accuracy on it is not tilted by class
# frequencies; the official test set is left untouched and is used only for the final test
# accuracies of 4.3, 4.6 and 4.7.
#
# Images per class in each split
# ------------------------------
counts = data["counts_per_class"]
print(f"{'class':<3} {'name':<12} {'train':>6} {'valid':>6} {'test':>6}")
for cls, name in enumerate(data["class_names"]):
    print(f"{cls:<3} {name:<12} {counts['train'][cls]:>6} {counts['validation'][cls]:>6} "
          f"{counts['test'][cls]:>6}")
print(f"{'':<3} {'total':<12} {counts['train'].sum():>6} {counts['validation'].sum():>6} "
      f"{counts['test'].sum():>6}")
balanced = all(len(set(c.tolist())) == 1 for c in counts.values())

# %%
# The table shows the ten classes and their counts. Every split is
# perfectly balanced: this is measured, not assumed (``balanced`` is computed from the counts).
print("every split has equal counts for all classes:", balanced)

# %%
# Three representative images of three classes
# --------------------------------------------
# "Representative" is made measurable: the three training images closest (Euclidean distance in
# pixel space) to their class's mean image.
per_class = len(data["figure_images"]) // len(data["figure_classes"])
fig, axes = new_figure(ncols=per_class * len(data["figure_classes"]), height=1.6)
for ax, image, label, (dist, _median) in zip(axes, data["figure_images"], data["figure_labels"],
                                            data["figure_distances"]):
    ax.imshow(image, cmap="gray_r", vmin=0, vmax=255)
    ax.set_title(f"{data['class_names'][int(label)]}\nd={dist:.1f}", fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
plt.show()

# %%
# The figure shows, for each class printed below, its three most typical training images and their
# distance ``d`` to the class mean; the check below compares each with its class's median image:
# where it holds, these images are the centre of their class, not its edge.
dist = np.asarray(data["figure_distances"])
print(f"distance to the class mean of the images shown: {dist[:, 0].min():.2f} to {dist[:, 0].max():.2f}; "
      f"the median image of those classes lies {dist[:, 1].min():.2f} to {dist[:, 1].max():.2f} away")
central = bool(np.all(dist[:, 0] < dist[:, 1]))
print("classes shown: " + ", ".join(str(name) for name in data["figure_classes"])
      + f"; every image shown is closer to its class mean than the class's median image: {central}")


report.answer(
    "4.1",
    f"Fashion-MNIST has {data['total_images']} {data['image_shape'][0]}x{data['image_shape'][1]} grayscale "
    f"images in {data['num_classes']} classes; split into {sizes['train']} train / {sizes['validation']} "
    f"validation ({data['validation_per_class']} per class, stratified) / {sizes['test']} test images, "
    f"{counts['train'][0]} / {counts['validation'][0]} / {counts['test'][0]} per class"
    f"{' in every class' if balanced else ' (unequal: see page)'}.",
    result,
)
