"""ML Casebook library: the code behind the notebooks."""
import warnings

# tqdm.auto falls back to text bars when ipywidgets is absent (as in papermill runs, whose HTML reports
# cannot show widgets anyway); its warning about it would only clutter every report.
warnings.filterwarnings("ignore", message="IProgress not found")
