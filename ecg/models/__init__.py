"""Networks and their runtime: architectures, the model bundle, LiteRT serving, Grad-CAM."""
