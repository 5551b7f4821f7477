//! Datasets: 1-D targets, images, MNIST in IDX format, and the data embedded in the binary.
