"""Streamlit demo of study 2 (multimodal product classification): data, models, live demo, explain, performance.

Start:  .venv/bin/streamlit run apps/products_demo.py
It only loads what notebooks 04 (text), 05 (image vote) and 06 (fusion) saved under models/products/<dataset>/;
when an artefact is absent the page says which notebook to run.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from lib.products import app_backend as backend  # noqa: E402
from lib.products import explain  # noqa: E402
from lib.products.text import join_fields  # noqa: E402

st.set_page_config(page_title="Product classification — text, image, fusion", layout="wide")
PAGES = ("Data", "Models", "Live demo", "Explain", "Performance")


@st.cache_resource(show_spinner="loading the text model…")
def _text_model(dataset: str):
    return backend.load_text_model(dataset)


@st.cache_resource(show_spinner="loading the image vote (backbone + members)…")
def _image_model(dataset: str):
    return backend.load_image_model(dataset)


def _image_model_or_reason(dataset: str):
    try:
        return _image_model(dataset), None
    except FileNotFoundError as err:
        return None, str(err)
    except Exception as err:  # a broken artefact must not take the text demo down
        return None, f"the image model could not be loaded ({type(err).__name__}: {err})"


def _open_photo(photo: bytes):
    from PIL import Image

    return Image.open(io.BytesIO(photo)).convert("RGB")


@st.cache_data(show_spinner="running the image vote and the OCR on the photo…", max_entries=16)
def _image_members(dataset: str, photo: bytes) -> backend.ImageMembers:
    return backend.image_members(_image_model(dataset), _open_photo(photo))


@st.cache_data(show_spinner="Grad-CAM of the CNN member…", max_entries=32)
def _grad_cam(dataset: str, photo: bytes, class_name: str | None) -> explain.GradCamView:
    return explain.grad_cam_view(_image_model(dataset).cnn, _open_photo(photo), class_name)


@st.cache_data(show_spinner="LIME: perturbing the text…", max_entries=32)
def _lime(dataset: str, text: str, num_samples: int) -> pd.DataFrame:
    return explain.lime_explanation(_text_model(dataset)[0], text, num_samples=num_samples)


st.sidebar.title("Product classifier")
datasets = backend.available_datasets()
if not datasets:
    st.title("Product classification demo")
    st.error("No trained model found under models/products/. Run the notebooks first, e.g. "
             "`./run_all.sh 04 05 06` (demo data) or `./run_all.sh --data ../shared/data 04 05 06` (Flipkart).")
    st.stop()
dataset = st.sidebar.selectbox("data set", datasets, key="dataset")
page = st.sidebar.radio("page", PAGES, key="page")
text_model, meta = _text_model(dataset)
fusion_cfg = backend.fusion_settings(dataset)
if meta.get("source") == "demo":
    st.sidebar.warning("SYNTHETIC demo data: generated listings and images, not real products.")
st.sidebar.caption(meta.get("title", dataset))


def _listing_inputs() -> tuple[str, str, Any, float]:
    """The listing's fields; the same keys on the Live demo and Explain pages, so the listing carries over."""
    designation = st.text_input("designation (title)", value="Housse de coussin coton 45x45 cm", key="designation")
    description = st.text_area("description (optional, HTML is cleaned)", value="", key="description")
    upload = st.file_uploader("product photo (optional)", type=["jpg", "jpeg", "png", "webp"], key="photo")
    alpha = st.slider("image weight a (0 = text only, 1 = image only)", 0.0, 1.0, float(fusion_cfg["alpha"]), 0.05,
                      key="alpha")
    return designation, description, upload, alpha


def _alpha_note(alpha: float) -> str:
    if fusion_cfg["found"]:
        return (f"Fusion P = a·P_image + (1 − a)·P_text with a = {alpha:.2f}; notebook 06 chose a = "
                f"{fusion_cfg['alpha']:.2f} on validation (fusion.json).")
    return (f"Fusion with a = {alpha:.2f}: no fusion.json for this data set, so the default 0.5 is offered; run "
            "notebook 06_products_fusion for the weight searched on validation.")


@dataclass
class _Run:
    pred: backend.ListingPrediction
    image: Any  # the decoded photo or None
    image_model: Any  # the image vote when it could run on the photo, else None
    photo: bytes | None


def _classify(designation: str, description: str, upload: Any, alpha: float) -> _Run:
    """Text model + image vote (cached per photo) + fusion; explains on the page why a photo is ignored."""
    image, image_model, members, photo = None, None, None, None
    if upload is not None:
        photo = upload.getvalue()
        try:
            image = _open_photo(photo)
        except Exception as err:
            st.error(f"this file is not a readable image: {err}")
        if image is not None:
            image_model, reason = _image_model_or_reason(dataset)
            if image_model is None:
                st.warning(f"The photo is ignored: {reason}")
            elif hasattr(image_model, "predict_with_members"):
                try:
                    members = _image_members(dataset, photo)
                except Exception as err:  # e.g. the vote's OCR member without Tesseract
                    st.warning(f"The photo is ignored: the image vote failed ({type(err).__name__}: {err})")
                    image_model = None
    pred = backend.predict_listing(text_model, image_model, designation, description,
                                   image if image_model is not None else None, alpha,
                                   float(fusion_cfg.get("image_temperature", 1.0)), members=members)
    return _Run(pred, image, image_model, photo)


if page == "Data":
    st.title(f"Data — {meta.get('title', dataset)}")
    if meta.get("source") == "demo":
        st.warning("This catalogue is SYNTHETIC (generated by lib.products.demo.generate_demo_catalogue in the "
                   "Rakuten challenge's format). Figures measured on it say nothing about real listings.")
    report = meta.get("report", {})
    st.subheader("Data quality (counted, nothing dropped)")
    st.table(pd.Series(report, name="count").to_frame())
    counts = pd.Series(meta.get("class_counts", {}), name="listings").sort_values(ascending=False)
    if len(counts):
        st.subheader("Class distribution")
        fig, ax = plt.subplots(figsize=(8, 3))
        ax.bar(counts.index.astype(str), counts.values, color="#4c78a8")
        ax.set(xlabel="class", ylabel="listings (count)", title="Listings per class")
        ax.tick_params(axis="x", rotation=60)
        fig.tight_layout()
        st.pyplot(fig)
        plt.close(fig)

elif page == "Models":
    st.title("Models")
    st.subheader("Text: TF-IDF word (1,2) + char_wb (3,5) → LinearSVC, temperature-calibrated (notebook 04)")
    st.json({k: v for k, v in text_model.info.items()})
    m04 = backend.read_metrics(backend.NOTEBOOKS["text"])
    if m04 and m04.get("data", {}).get("dataset") == dataset:
        st.caption(f"benchmark on validation — data: {m04['data']['name']} ({m04['profile']} profile)")
        st.dataframe(pd.DataFrame(m04["extra"].get("benchmark", [])))
    st.subheader("Image: soft vote of its members (notebook 05)")
    meta_path = backend.models_dir() / "products" / dataset / "image_vote" / "meta.json"
    if meta_path.is_file():
        st.json(json.loads(meta_path.read_text()).get("vote", {}))
    else:
        st.info(f"No image model for {dataset!r}: run notebook 05_products_image_voting on it.")
    st.subheader("Fusion (notebook 06)")
    if fusion_cfg["found"]:
        st.write(f"P = a·P_image + (1 − a)·P_text with a = **{fusion_cfg['alpha']:.2f}** (searched on validation); "
                 f"image temperature {fusion_cfg['image_temperature']:.3f}.")
    else:
        st.info("No fusion settings: run notebook 06_products_fusion (the demo uses a = 0.5 meanwhile).")

elif page == "Live demo":
    st.title("Live demo: classify a listing")
    col_in, col_out = st.columns([1, 1])
    with col_in:
        designation, description, upload, alpha = _listing_inputs()
    with col_out:
        run = _classify(designation, description, upload, alpha)
        pred = run.pred
        if run.image is not None:
            st.image(run.image, caption="uploaded photo", width=200)
        if pred.status == "none":
            st.warning("Give a designation, a description or a photo: there is nothing to classify.")
        else:
            best, p = pred.top("fused", 1)[0]
            cols = st.columns(3)
            cols[0].metric("predicted class", best, f"{p:.0%} ({pred.status})")
            for col, which, label in ((cols[1], "text", "text model"), (cols[2], "image", "image vote")):
                top = pred.top(which, 1)
                col.metric(label, top[0][0] if top else "—", f"{top[0][1]:.0%}" if top else "no input",
                           delta_color="off")
            st.caption(_alpha_note(alpha))
            rows = []
            for which in ("text", "image", "fused"):
                for rank, (c, q) in enumerate(pred.top(which, 3), 1):
                    rows.append({"model": which, "rank": rank, "class": c, "probability": round(q, 3)})
            st.dataframe(pd.DataFrame(rows), hide_index=True)
            top = pd.Series(pred.p_fused, index=pred.classes).sort_values(ascending=False).head(8)
            fig, ax = plt.subplots(figsize=(6, 3))
            ax.barh(top.index[::-1].astype(str), top.values[::-1], color="#4c78a8")
            ax.set(xlabel="fused probability (0–1)", ylabel="class", title=f"Fusion with a = {alpha:.2f}")
            fig.tight_layout()
            st.pyplot(fig)
            plt.close(fig)
    members = pred.members
    if members is not None:
        st.subheader("Image vote: each member's probabilities")
        st.caption("Raw probabilities of every member of notebook 05's vote on this photo, for the vote's most "
                   "probable classes; weights and sharpening exponents k were chosen on validation (a member "
                   "of weight 0 is computed but does not count). The image column of the fusion is the vote "
                   "after notebook 06's temperature.")
        table = backend.members_table(members, top=5)
        prob_cols = [c for c in table.columns if c not in ("member", "weight", "k", "top class")]
        st.dataframe(table.style.format({**{c: "{:.3f}" for c in prob_cols}, "weight": "{:.2f}", "k": "{:.2f}"},
                                        na_rep="—"), hide_index=True)
        fig, ax = plt.subplots(figsize=(9, 3))
        n = len(table)
        width = 0.8 / n
        for i, row in table.iterrows():
            ax.bar(np.arange(len(prob_cols)) + (i - (n - 1) / 2) * width, row[prob_cols].astype(float), width,
                   label=f"{row['member']} (w = {row['weight']:.2f})" if row["member"] != "vote" else "vote",
                   color="black" if row["member"] == "vote" else None)
        ax.set_xticks(np.arange(len(prob_cols)), prob_cols)
        ax.set(xlabel="class (the vote's top 5)", ylabel="probability (0–1)", ylim=(0, 1),
               title="Each vote member on this photo")
        ax.legend(fontsize=7, ncol=2, loc="upper right")
        fig.tight_layout()
        st.pyplot(fig)
        plt.close(fig)
        st.subheader("Text read on the photo (OCR)")
        if members.ocr_text is None:
            st.warning(f"No OCR: {members.ocr_note}")
        else:
            st.text_area("text Tesseract reads on the photo (input of the vote's OCR member)",
                         value=members.ocr_text or "", disabled=True, height=80,
                         help="Words kept above the OCR member's confidence threshold; empty when none.")
            if not members.ocr_text:
                st.caption("Tesseract found no word on this photo: the OCR member gives its class prior.")
    elif run.image is not None and run.image_model is not None:
        st.info("This image model is not notebook 05's vote: no per-member probabilities or OCR text.")
    elif upload is None:
        st.info("Upload a photo to see each vote member's probabilities and the text read on it (OCR); the "
                "Explain page then shows where the CNN looked (Grad-CAM).")

elif page == "Explain":
    st.title("Explain: why this class?")
    label = (st.session_state.get("designation") or "").strip() or "(no designation)"
    with st.expander(f"Listing explained: {label[:80]} — edit (shared with the Live demo page)"):
        designation, description, upload, alpha = _listing_inputs()
    run = _classify(designation, description, upload, alpha)
    pred = run.pred
    if pred.status == "none":
        st.warning("Give a designation, a description or a photo: there is nothing to explain.")
        st.stop()
    order = list(np.argsort(-pred.p_fused))
    options = [pred.classes[i] for i in order]
    fused_p = dict(zip(pred.classes, pred.p_fused))
    cls = st.selectbox("class to explain (default: the fused decision)", options, key="explain_class",
                       format_func=lambda c: f"{c} (fused p = {fused_p[c]:.2f})")
    st.caption(_alpha_note(alpha))
    col_img, col_txt = st.columns([1, 1])
    with col_img:
        st.subheader("Photo: Grad-CAM of the CNN member")
        if run.image is None:
            st.info("No photo: upload one (here or on the Live demo page) to see where the CNN looks.")
        elif run.image_model is None or getattr(run.image_model, "cnn", None) is None:
            st.info("No fine-tuned CNN in this image model (notebook 05 saves it as the vote's `cnn` member).")
        else:
            view = _grad_cam(dataset, run.photo, cls if cls in run.image_model.cnn.classes else None)
            fig = explain.plot_grad_cam_view(view)
            st.pyplot(fig)
            plt.close(fig)
            weight = pred.members.weights.get("cnn") if pred.members is not None else None
            st.caption("Grad-CAM (Selvaraju et al., 2017) on the CNN's last convolutional block: red regions "
                       f"raise the score of {view.class_name}. The CNN is one member of the vote"
                       + (f" (weight {weight:.2f})." if weight is not None else "."))
    text, contrib = join_fields(designation, description), None
    with col_txt:
        st.subheader("Text: n-gram contributions")
        if not text:
            st.info("No text: give a designation or a description.")
        else:
            try:
                contrib = explain.ngram_contributions(text_model, text, cls, k=8)
            except TypeError as err:  # not a (vectoriser, linear classifier) pipeline: LIME below still works
                st.info(f"No n-gram weights for this text model: {err}")
        if contrib is not None:
            fig = explain.plot_contributions(contrib, title=f"Text n-grams for class {cls}")
            st.pyplot(fig)
            plt.close(fig)
            clf_name = type(getattr(text_model, "pipeline", text_model)[-1]).__name__
            st.caption(f"{clf_name} weight × TF-IDF value of each n-gram of the listing for class {cls} (score "
                       f"{contrib.attrs['score']:.2f} = Σ contributions {contrib.attrs['contributions_sum']:.2f} + "
                       f"intercept {contrib.attrs['intercept']:.2f}); blue pulls towards the class, red away; "
                       "␣ marks a word edge in character n-grams.")
            shown = contrib.assign(ngram=contrib["ngram"].str.replace(" ", "␣"))  # char n-grams keep word edges
            st.dataframe(shown.round(4), hide_index=True)
    if text:
        st.subheader("Text: LIME")
        lime_on = st.toggle("explain the text with LIME (perturbs the text and refits a local linear model)",
                            value=False, key="lime")
        if lime_on:
            samples = st.select_slider("LIME perturbed copies", [100, 200, 300, 500, 1000], value=300,
                                       key="lime_samples")
            table = _lime(dataset, text, samples)
            explained = table["class"].iloc[0] if len(table) else "—"
            st.caption(f"LIME explains the text model's own prediction ({explained}); positive weights push "
                       "towards it. Words only, unlike the n-gram table (which also has character n-grams).")
            c1, c2 = st.columns([1, 1])
            c1.dataframe(table.round(4), hide_index=True)
            fig, ax = plt.subplots(figsize=(5, 0.3 * max(len(table), 3) + 1.2))
            d = table.iloc[::-1]
            ax.barh(d["word"].astype(str), d["weight"], color=["#4c78a8" if w > 0 else "#e45756" for w in d["weight"]])
            ax.axvline(0, color="black", lw=0.8)
            ax.set(xlabel="LIME weight (change of probability, a.u.)", ylabel="word",
                   title=f"LIME, class {explained}")
            fig.tight_layout()
            c2.pyplot(fig)
            plt.close(fig)

elif page == "Performance":
    st.title("Performance on the test split")
    for key, nb in backend.NOTEBOOKS.items():
        m = backend.read_metrics(nb)
        if m is None:
            st.info(f"{nb} has not run yet (no reports/metrics/{nb}.json).")
            continue
        st.write(f"**{nb}** — data: {m['data'].get('name')} ({m['data'].get('source')}), profile {m['profile']}")
        st.dataframe(pd.DataFrame([m["headline"]]), hide_index=True)
        ablation = m.get("extra", {}).get("nested_cv_ablation")
        if ablation:
            st.subheader("Every listing, not only the test split: nested cross-validation (notebook 06)")
            st.caption("Each listing predicted once by models that never saw it; temperatures and a chosen on inner "
                       "folds. The rows below give less and less text to the text model.")
            st.dataframe(pd.DataFrame(ablation), hide_index=True)
    preds = backend.saved_test_predictions(dataset, float(fusion_cfg["alpha"]),
                                           float(fusion_cfg.get("image_temperature", 1.0)))
    if preds is None:
        st.info(f"No saved test predictions for {dataset!r}: run notebook 04_products_text.")
    else:
        which = st.selectbox("confusion matrix of", list(preds), key="cm_model")
        from lib.evaluation.plots import most_confused_pairs, plot_confusion

        y_true, y_pred = preds[which]
        fig, ax = plt.subplots(figsize=(7, 6))
        plot_confusion(y_true, y_pred, text_model.classes, title=f"{which} — test split", ax=ax)
        fig.tight_layout()
        st.pyplot(fig)
        plt.close(fig)
        st.subheader("Most confused pairs")
        st.dataframe(most_confused_pairs(y_true, y_pred, text_model.classes, top=8), hide_index=True)
