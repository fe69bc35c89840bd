"""PySpark helpers for study 4: session builder, binaryFile image loading, CNN featurisation UDF, PCA."""
