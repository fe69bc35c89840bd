"""Image side of the product study (Part IV): features from pretrained backbones, classifiers on them,
a fine-tuned CNN, robustness checks, Grad-CAM and the single-image predictor used by the app."""
