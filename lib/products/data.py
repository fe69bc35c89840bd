"""Product catalogues for study 2: the Rakuten challenge files, a generic catalogue (Flipkart), the demo set.

Every loader returns the same frame (one row per listing)::

    id, designation, description, text, image_path, image_status, label

`text` is the cleaned designation + description (the text model's input); `image_path` is a readable
image file or None (`image_status` says "ok", "missing" or "unreadable": nothing is dropped silently,
and `ProductData.report` counts each case). Labels are strings; `ProductData.labels` is sorted.

`load_products(DATA_DIR, DATASET, SEED)` is what the notebooks call; with `DATA_DIR == ""` it generates
(once, deterministically from the seed) a demo catalogue in the challenge's own format, labelled synthetic.
"""
from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from lib.core.datasets import resolve_dataset
from lib.core.paths import data_dir as default_data_dir
from lib.products.text import clean_text, join_fields

COLUMNS = ["id", "designation", "description", "text", "image_path", "image_status", "label"]
RAKUTEN_X = "X_train_update.csv"
RAKUTEN_Y = "Y_train_CVw08PX.csv"
RAKUTEN_IMAGES = Path("images") / "image_train"
DATASETS = ("flipkart", "rakuten_sample", "rakuten")
DEMO_NAME = "demo"


@dataclass
class ProductData:
    """A loaded catalogue: the standard frame, its sorted labels and a data-quality report."""

    df: pd.DataFrame
    labels: list[str]
    report: dict[str, int]
    source: str  # "real" or "demo"
    name: str  # short key: "demo", "flipkart", "rakuten_sample", "rakuten" (names the artefact folder)
    title: str = ""  # human-readable, says "synthetic" for the demo data
    folder: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def has_images(self) -> bool:
        """True when at least one listing has a readable image."""
        return bool(self.df["image_path"].notna().any())


# ----------------------------------------------------------------------------------------------------------
# Image checks
# ----------------------------------------------------------------------------------------------------------
def check_image(path: str | Path | None) -> str:
    """"ok" when the file opens and decodes, "missing" when absent, "unreadable" otherwise."""
    from PIL import Image

    if path is None or (isinstance(path, float) and pd.isna(path)):
        return "missing"
    p = Path(path)
    if not p.is_file():
        return "missing"
    try:
        with Image.open(p) as im:
            im.draft("RGB", (64, 64))  # JPEG: decode at reduced scale; still reads the whole stream
            im.load()
            if im.width < 1 or im.height < 1:
                return "unreadable"
    except Exception:  # PIL raises many types (OSError, SyntaxError, DecompressionBombError...)
        return "unreadable"
    return "ok"


def _check_images(paths: Sequence[str | None], progress: bool = True) -> list[str]:
    from tqdm.auto import tqdm

    it = paths
    if progress and len(paths) > 2000:
        it = tqdm(paths, desc="checking images", unit="img")
    return [check_image(p) for p in it]


# ----------------------------------------------------------------------------------------------------------
# Raw loaders (each returns the standard frame)
# ----------------------------------------------------------------------------------------------------------
def _finalise(raw: pd.DataFrame, check_images: bool = True) -> pd.DataFrame:
    """Clean texts, check images, order columns: the standard frame."""
    df = raw.copy()
    df["id"] = df["id"].astype(str)
    if df["id"].duplicated().any():
        dup = df.loc[df["id"].duplicated(), "id"].head(3).tolist()
        raise ValueError(f"duplicate listing ids, e.g. {dup}")
    if df["label"].isna().any():
        raise ValueError(f"{int(df['label'].isna().sum())} listings have no label")
    df["label"] = df["label"].astype(str)
    df["designation"] = df["designation"].map(clean_text)
    df["description"] = df["description"].map(clean_text)
    df["text"] = [join_fields(a, b) for a, b in zip(df["designation"], df["description"])]
    paths = [None if (p is None or (isinstance(p, float) and pd.isna(p))) else str(p) for p in df["image_path"]]
    status = _check_images(paths) if check_images else ["ok" if p else "missing" for p in paths]
    df["image_status"] = status
    df["image_path"] = [p if s == "ok" else None for p, s in zip(paths, status)]
    return df[COLUMNS].reset_index(drop=True)


def load_rakuten(folder: str | Path, image_dir: str | Path | None = None, check_images: bool = True) -> pd.DataFrame:
    """The challenge's training files: `X_train_update.csv` + `Y_train_CVw08PX.csv` (+ images when present).

    Args:
        folder: holds the two CSVs (and usually `images/image_train/`).
        image_dir: where `image_<imageid>_product_<productid>.jpg` live (default `folder/images/image_train`);
            when the folder does not exist every image is counted missing.
    """
    folder = Path(folder)
    for name in (RAKUTEN_X, RAKUTEN_Y):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder} lacks {name}: not the Rakuten challenge format")
    x = pd.read_csv(folder / RAKUTEN_X, index_col=0)
    y = pd.read_csv(folder / RAKUTEN_Y, index_col=0)
    missing = {"designation", "description", "productid", "imageid"} - set(x.columns)
    if missing or "prdtypecode" not in y.columns:
        raise ValueError(f"unexpected Rakuten columns: X has {list(x.columns)}, Y has {list(y.columns)}")
    if len(x) != len(y) or not x.index.equals(y.index):
        raise ValueError(f"{RAKUTEN_X} ({len(x)} rows) and {RAKUTEN_Y} ({len(y)} rows) do not share their index")
    image_dir = Path(image_dir) if image_dir is not None else folder / RAKUTEN_IMAGES
    has_dir = image_dir.is_dir()
    paths = [str(image_dir / f"image_{i}_product_{p}.jpg") if has_dir else None
             for i, p in zip(x["imageid"], x["productid"])]
    raw = pd.DataFrame({"id": x.index.astype(str), "designation": x["designation"].values,
                        "description": x["description"].values, "image_path": paths,
                        "label": y["prdtypecode"].astype(str).values})
    return _finalise(raw, check_images=check_images)


def load_catalogue(csv: str | Path, text_cols: Sequence[str], image_col: str | None, label_col: str,
                   image_root: str | Path | None = None, label_fn: Callable[[object], str] | None = None,
                   id_col: str | None = None, check_images: bool = True) -> pd.DataFrame:
    """A generic catalogue CSV: text columns, an image-file column and a label column.

    Args:
        text_cols: the first is the designation (title); the others are joined into the description.
        image_col: column of image file names (relative to `image_root`) or paths; None when there are no images.
        label_col: the label column; `label_fn` maps its raw value to the label (e.g. first level of a tree).
        id_col: a unique id column (default: the row number).
    """
    csv = Path(csv)
    df = pd.read_csv(csv)
    needed = [*text_cols, label_col, *([image_col] if image_col else []), *([id_col] if id_col else [])]
    absent = [c for c in needed if c not in df.columns]
    if absent:
        raise ValueError(f"{csv.name} lacks columns {absent}; it has {list(df.columns)}")
    if not text_cols:
        raise ValueError("text_cols must name at least one column (the designation)")
    rest = list(text_cols[1:])
    description = (df[rest].apply(lambda r: " ".join(clean_text(v) for v in r if clean_text(v)), axis=1)
                   if rest else pd.Series([""] * len(df)))
    root = Path(image_root) if image_root is not None else csv.parent
    if image_col:
        paths = [None if pd.isna(v) or str(v).strip() == "" else str(root / str(v)) for v in df[image_col]]
    else:
        paths = [None] * len(df)
    labels = df[label_col].map(label_fn) if label_fn else df[label_col]
    raw = pd.DataFrame({"id": df[id_col] if id_col else df.index, "designation": df[text_cols[0]],
                        "description": description.values, "image_path": paths, "label": labels.values})
    return _finalise(raw, check_images=check_images)


def first_category(tree: object) -> str:
    """First level of a Flipkart `product_category_tree` ('["Watches >> Wrist Watches >> ..."]' → "Watches")."""
    s = str(tree)
    try:
        parsed = ast.literal_eval(s)
        if isinstance(parsed, (list, tuple)) and parsed:
            s = str(parsed[0])
    except (ValueError, SyntaxError):
        s = s.strip('[]"')
    return s.split(">>")[0].strip()


def load_flipkart(folder: str | Path, check_images: bool = True) -> pd.DataFrame:
    """The Flipkart catalogue: product_name + description, `images/<image>`, label = first category level."""
    folder = Path(folder)
    return load_catalogue(folder / "products.csv", text_cols=["product_name", "description"], image_col="image",
                          label_col="product_category_tree", image_root=folder / "images", label_fn=first_category,
                          id_col="uniq_id", check_images=check_images)


# ----------------------------------------------------------------------------------------------------------
# Demo catalogue (synthetic, in the challenge's format)
# ----------------------------------------------------------------------------------------------------------
# Ten real prdtypecodes with French vocabulary. `near` names the class whose words a listing borrows when it
# is ambiguous (text confusions); the image look is shared with a *different* class (image confusions), so
# the two modalities make different mistakes, as in the real data.
DEMO_CLASSES: dict[str, dict] = {
    "10": dict(name="livres d'occasion", share=0.14, near="2522",
               nouns=["livre", "roman", "recueil", "essai", "biographie", "tome", "manuel scolaire"],
               words=["édition", "auteur", "poche", "chapitre", "Gallimard", "Folio", "préface", "ancien", "pages"],
               look=dict(shape="rect", hue=0.08, texture="lines")),
    "50": dict(name="accessoires jeux vidéo", share=0.10, near="1300",
               nouns=["manette", "câble de charge", "station de charge", "housse de protection", "volant", "casque gamer"],
               words=["PS4", "Xbox One", "Nintendo Switch", "USB", "sans fil", "compatible", "batterie", "console"],
               look=dict(shape="ellipse", hue=0.0, texture="dots")),
    "1140": dict(name="figurines", share=0.09, near="1280",
                 nouns=["figurine", "statuette", "figurine Pop", "buste", "figurine articulée"],
                 words=["Funko", "Marvel", "Dragon Ball", "collection", "vinyle", "personnage", "manga", "édition limitée"],
                 look=dict(shape="triangle", hue=0.75, texture="none")),
    "1280": dict(name="jouets enfants", share=0.11, near="1140",
                 nouns=["peluche", "poupée", "jouet d'éveil", "puzzle", "hochet", "jeu de construction"],
                 words=["enfant", "bébé", "doux", "dès 3 ans", "coloré", "éducatif", "personnage", "cadeau"],
                 look=dict(shape="circle", hue=0.95, texture="dots")),
    "1300": dict(name="modélisme et drones", share=0.06, near="50",
                 nouns=["drone", "hélicoptère radiocommandé", "voiture RC", "maquette", "hélice de rechange"],
                 words=["batterie LiPo", "télécommande", "2.4GHz", "caméra HD", "moteur brushless", "échelle 1/18"],
                 look=dict(shape="cross", hue=0.55, texture="none")),
    "1560": dict(name="mobilier", share=0.12, near="2060",
                 nouns=["table basse", "chaise", "étagère", "armoire", "tabouret", "bureau", "commode"],
                 words=["bois massif", "chêne", "métal", "design", "salon", "tiroirs", "scandinave", "montage facile"],
                 look=dict(shape="rect", hue=0.07, texture="checker")),
    "1920": dict(name="linge de maison", share=0.10, near="2060",
                 nouns=["housse de coussin", "oreiller", "taie d'oreiller", "plaid", "housse de couette", "drap"],
                 words=["coton", "45x45 cm", "canapé", "doux", "lavable", "motif", "lin", "décoration"],
                 look=dict(shape="rect", hue=0.85, texture="stripes")),
    "2060": dict(name="décoration", share=0.12, near="1920",
                 nouns=["guirlande lumineuse", "cadre photo", "vase", "bougie parfumée", "sticker mural", "lampe"],
                 words=["LED", "décoration", "salon", "design", "Noël", "intérieur", "coton", "bois"],
                 look=dict(shape="star", hue=0.13, texture="none")),
    "2522": dict(name="papeterie", share=0.08, near="10",
                 nouns=["carnet", "cahier", "agenda", "stylo", "classeur", "bloc-notes"],
                 words=["A5", "pages", "ligné", "couverture rigide", "papier", "bureau", "école", "encre"],
                 look=dict(shape="ellipse", hue=0.02, texture="lines")),
    "2583": dict(name="piscine et spa", share=0.08, near="1560",
                 nouns=["pompe de filtration", "bâche de piscine", "robot de piscine", "filtre à sable", "spa gonflable"],
                 words=["piscine", "chlore", "hors-sol", "skimmer", "m3/h", "jardin", "été", "eau"],
                 look=dict(shape="circle", hue=0.58, texture="waves")),
}
_ADJECTIVES = ["noir", "blanc", "bleu", "rouge", "vert", "gris", "grand", "petit", "neuf", "premium", "classique"]
_BRANDS = ["Générique", "Lexibook", "Ikea", "Hama", "Intex", "Bestway", "Clairefontaine", "Atmosphera", "Sony", "Bandai"]
_FILLER = ["Livraison rapide", "Produit de qualité", "Idéal pour offrir", "Garantie 2 ans", "Très bon état",
           "Dimensions indiquées en photo", "Article neuf sous emballage", "Satisfait ou remboursé"]
# Image looks are shared between these (different from the text neighbours above).
_IMAGE_NEAR = {"10": "1560", "1560": "10", "50": "2522", "2522": "50", "1280": "2583", "2583": "1280",
               "1140": "2060", "2060": "1140", "1300": "1920", "1920": "1300"}


def _demo_text(rng: np.random.Generator, code: str, ambiguous: bool) -> tuple[str, str | None]:
    """A French designation and an optional HTML description for one listing of class `code`."""
    spec = DEMO_CLASSES[code]
    src = DEMO_CLASSES[spec["near"]] if ambiguous else spec
    noun = rng.choice(src["nouns"])
    words = list(rng.choice(spec["words"], size=2, replace=False))
    if ambiguous:  # borrow the neighbour's vocabulary too: the text alone is misleading
        words = list(rng.choice(src["words"], size=2, replace=False))
    designation = f"{noun.capitalize()} {rng.choice(_ADJECTIVES)} {words[0]} - {rng.choice(_BRANDS)}"
    if rng.random() < 0.35:  # the original data misses ~35 % of descriptions
        return designation, None
    body_words = list(rng.choice(spec["words"], size=3, replace=False)) + list(rng.choice(src["words"], size=1))
    sentences = [f"{noun.capitalize()} {' '.join(body_words[:2])}.", f"{rng.choice(_FILLER)} ; {body_words[2]}, {body_words[3]}.",
                 f"{rng.choice(_FILLER)}."]
    if rng.random() < 0.5:  # listings scraped with their HTML, entities included
        desc = "<p>" + "<br />".join(sentences) + "</p>"
        desc = desc.replace("é", "&eacute;", 1)
    else:
        desc = " ".join(sentences)
    return designation, desc


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    import colorsys

    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0), 1), min(max(v, 0), 1))
    return int(r * 255), int(g * 255), int(b * 255)


def _demo_image(rng: np.random.Generator, code: str, size: int = 128):
    """A synthetic product photo: a class-typical shape, colour and texture, with clutter and noise."""
    from PIL import Image, ImageDraw, ImageFilter

    look = dict(DEMO_CLASSES[code]["look"])
    if rng.random() < 0.18:  # some photos look like another class (packaging, odd angles)
        other = DEMO_CLASSES[_IMAGE_NEAR[code]]["look"]
        if rng.random() < 0.5:
            look = dict(other)
        else:
            key = ("shape", "texture", "hue")[int(rng.integers(3))]
            look[key] = other[key]
    bg = _hsv(rng.random(), rng.uniform(0, 0.25), rng.uniform(0.75, 1.0))
    img = Image.new("RGB", (size, size), bg)
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(0, 4))):  # background clutter
        x, y = rng.integers(0, size, 2)
        r = int(rng.integers(4, 16))
        draw.ellipse([x - r, y - r, x + r, y + r], fill=_hsv(rng.random(), 0.3, 0.8))
    colour = _hsv(look["hue"] + rng.normal(0, 0.04), rng.uniform(0.45, 0.95), rng.uniform(0.45, 0.95))
    cx, cy = size / 2 + rng.normal(0, size * 0.08, 2)
    half = size * rng.uniform(0.22, 0.36)
    aspect = rng.uniform(0.6, 1.4)
    box = [cx - half, cy - half * aspect, cx + half, cy + half * aspect]
    shape = look["shape"]
    mask = Image.new("L", (size, size), 0)
    mdraw = ImageDraw.Draw(mask)
    if shape == "rect":
        mdraw.rectangle(box, fill=255)
    elif shape == "ellipse":
        mdraw.ellipse([cx - half, cy - half * 0.55, cx + half, cy + half * 0.55], fill=255)
    elif shape == "circle":
        mdraw.ellipse([cx - half, cy - half, cx + half, cy + half], fill=255)
    elif shape == "triangle":
        mdraw.polygon([(cx, cy - half), (cx - half, cy + half), (cx + half, cy + half)], fill=255)
    elif shape == "cross":
        w = half * 0.35
        mdraw.rectangle([cx - half, cy - w, cx + half, cy + w], fill=255)
        mdraw.rectangle([cx - w, cy - half, cx + w, cy + half], fill=255)
    elif shape == "star":
        angles = np.linspace(0, 2 * np.pi, 11)[:-1] + rng.uniform(0, np.pi)
        radii = np.where(np.arange(10) % 2 == 0, half, half * 0.45)
        mdraw.polygon([(cx + r * np.cos(a), cy + r * np.sin(a)) for a, r in zip(angles, radii)], fill=255)
    mask = mask.rotate(float(rng.uniform(-30, 30)), center=(cx, cy))
    layer = Image.new("RGB", (size, size), colour)
    tdraw = ImageDraw.Draw(layer)
    dark = tuple(int(c * 0.45) for c in colour)
    step = int(rng.integers(6, 12))
    texture = look["texture"]
    if texture == "stripes":
        for x in range(-size, size, step):
            tdraw.line([(x, 0), (x + size, size)], fill=dark, width=2)
    elif texture == "lines":
        for y in range(0, size, step):
            tdraw.line([(0, y), (size, y)], fill=dark, width=1)
    elif texture == "dots":
        for x in range(step // 2, size, step):
            for y in range(step // 2, size, step):
                tdraw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=dark)
    elif texture == "checker":
        for x in range(0, size, step):
            for y in range(0, size, step):
                if (x // step + y // step) % 2:
                    tdraw.rectangle([x, y, x + step - 1, y + step - 1], fill=dark)
    elif texture == "waves":
        xs = np.arange(size)
        for y0 in range(0, size, step):
            pts = [(int(x), int(y0 + 3 * np.sin(x / 5.0))) for x in xs[::2]]
            tdraw.line(pts, fill=dark, width=2)
    img.paste(layer, (0, 0), mask)
    noise = rng.standard_normal((size, size, 3), dtype=np.float32) * 12.0
    arr = np.asarray(img, dtype=np.float32)
    arr += noise
    np.clip(arr, 0, 255, out=arr)
    img = Image.fromarray(arr.astype(np.uint8))
    if rng.random() < 0.3:
        img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 1.5))))
    return img


def generate_demo_catalogue(folder: str | Path | None = None, n: int = 1200, seed: int = 42,
                            missing_image_rate: float = 0.02, unreadable_images: int = 3,
                            image_size: int = 128, force: bool = False) -> Path:
    """Write a synthetic catalogue in the Rakuten challenge's format (two CSVs + images); deterministic.

    Ten real prdtypecodes with French designations (ambiguous ones borrow a neighbour class's words),
    ~35 % missing descriptions, some HTML, imbalanced classes, and per-class synthetic photos (shape,
    colour, texture, clutter, noise; ~18 % look like another class). A few images are missing and a few
    are corrupt on purpose, so the pipeline's handling of both is exercised. SYNTHETIC: not real listings.

    Args:
        folder: output folder (default `data/demo/rakuten_demo_n<n>_seed<seed>`); reused when complete.
        n: number of listings.
        seed: the generator's seed (same seed → same files).
        missing_image_rate / unreadable_images: listings without an image file / with a corrupt one.

    Returns:
        the folder (it holds `X_train_update.csv`, `Y_train_CVw08PX.csv`, `images/image_train/`).
    """
    from tqdm.auto import tqdm

    folder = Path(folder) if folder is not None else default_data_dir() / DEMO_NAME / f"rakuten_demo_n{n}_seed{seed}"
    marker = folder / "COMPLETE.json"
    meta = dict(n=n, seed=seed, missing_image_rate=missing_image_rate, unreadable_images=unreadable_images,
                image_size=image_size, synthetic=True, version=2)
    if marker.is_file() and not force and json.loads(marker.read_text()) == meta:
        return folder
    images = folder / RAKUTEN_IMAGES
    images.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    codes = list(DEMO_CLASSES)
    shares = np.array([DEMO_CLASSES[c]["share"] for c in codes])
    labels = rng.choice(codes, size=n, p=shares / shares.sum())
    # every class present at least 8 times, so stratified splits work even for small n
    floor = min(8, n // len(codes))
    for i, c in enumerate(codes):
        labels[i * floor:(i + 1) * floor] = c
    labels = rng.permutation(labels)
    # unique, shuffled ids in the challenge's ranges (cumulative random gaps)
    productids = rng.permutation(10**8 + np.cumsum(rng.integers(1, 3 * 10**6, size=n)))
    imageids = rng.permutation(9 * 10**8 + np.cumsum(rng.integers(1, 10**6, size=n)))
    no_image = rng.random(n) < missing_image_rate
    corrupt = set(rng.choice(np.flatnonzero(~no_image), size=min(unreadable_images, int((~no_image).sum())),
                             replace=False).tolist())
    rows = []
    for i in tqdm(range(n), desc="demo catalogue (synthetic)", unit="listing", mininterval=1.0):
        code = str(labels[i])
        designation, description = _demo_text(rng, code, ambiguous=rng.random() < 0.15)
        rows.append((designation, description, int(productids[i]), int(imageids[i])))
        img = _demo_image(rng, code, image_size)  # drawn even when not saved: same stream for any rates
        if no_image[i]:
            continue
        path = images / f"image_{imageids[i]}_product_{productids[i]}.jpg"
        img.save(path, format="JPEG", quality=90)
        if i in corrupt:  # a truncated download
            path.write_bytes(path.read_bytes()[:300])
    x = pd.DataFrame(rows, columns=["designation", "description", "productid", "imageid"])
    x.to_csv(folder / RAKUTEN_X)
    pd.DataFrame({"prdtypecode": labels.astype(int)}).to_csv(folder / RAKUTEN_Y)
    (folder / "README.txt").write_text(
        "SYNTHETIC demo catalogue generated by lib.products.data.generate_demo_catalogue "
        f"(n={n}, seed={seed}). Not real listings; same format as the Rakuten France challenge files.\n")
    marker.write_text(json.dumps(meta))
    return folder


# ----------------------------------------------------------------------------------------------------------
# What the notebooks call
# ----------------------------------------------------------------------------------------------------------
def verify_images(df: pd.DataFrame) -> pd.DataFrame:
    """Open every image still marked "ok": unreadable files get status "unreadable" and image_path None."""
    df = df.copy()
    paths = [p if s == "ok" else None for p, s in zip(df["image_path"], df["image_status"])]
    status = [s if s != "ok" else c for s, c in zip(df["image_status"], _check_images(paths))]
    df["image_status"] = status
    df["image_path"] = [p if s == "ok" else None for p, s in zip(paths, status)]
    return df


def quality_report(df: pd.DataFrame) -> dict[str, int]:
    """Counts that say what the data lacks: rows, classes, missing descriptions, missing/unreadable images."""
    return {
        "rows": int(len(df)),
        "classes": int(df["label"].nunique()),
        "missing_descriptions": int((df["description"] == "").sum()),
        "empty_texts": int((df["text"] == "").sum()),
        "missing_images": int((df["image_status"] == "missing").sum()),
        "unreadable_images": int((df["image_status"] == "unreadable").sum()),
        "images_ok": int((df["image_status"] == "ok").sum()),
    }


def subsample(df: pd.DataFrame, max_rows: int | None, seed: int) -> pd.DataFrame:
    """A stratified, deterministic subsample of at most `max_rows` rows (every class kept when possible)."""
    if not max_rows or len(df) <= max_rows:
        return df.reset_index(drop=True)
    frac = max_rows / len(df)
    rng = np.random.default_rng(seed)
    keep = []
    for _, idx in sorted(df.groupby("label").indices.items()):
        k = max(min(3, len(idx)), int(round(len(idx) * frac)))
        keep.extend(rng.choice(idx, size=min(k, len(idx)), replace=False).tolist())
    return df.iloc[sorted(keep)].reset_index(drop=True)


def load_products(data_dir: str, dataset: str = "flipkart", seed: int = 42, max_rows: int | None = None,
                  demo_rows: int = 1200) -> ProductData:
    """The notebooks' entry point: the real set `DATA_DIR/<dataset>`, or the demo catalogue when DATA_DIR is "".

    Args:
        data_dir: the notebook's DATA_DIR ("" → synthetic demo catalogue in the challenge's format).
        dataset: "flipkart", "rakuten_sample" or "rakuten" (a folder under data_dir).
        seed: seeds the demo generator and the subsample.
        max_rows: stratified subsample size (smoke profile); None keeps every row.
        demo_rows: size of the generated demo catalogue.

    Raises:
        DatasetNotFoundError: data_dir was given but the data set is not there (never a silent fallback).
    """
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {DATASETS}")
    folder = resolve_dataset(data_dir, dataset)
    # images are checked (opened) after subsampling: the smoke profile must not open every file
    if folder is None:
        demo = generate_demo_catalogue(n=demo_rows, seed=seed)
        df = load_rakuten(demo, check_images=False)
        source, name = "demo", DEMO_NAME
        title = f"demo catalogue, Rakuten format, {len(DEMO_CLASSES)} classes (SYNTHETIC)"
        folder = demo
    elif dataset == "flipkart":
        df, source, name = load_flipkart(folder, check_images=False), "real", dataset
        title = "Flipkart catalogue (real listings and photos)"
    else:
        df, source, name = load_rakuten(folder, check_images=False), "real", dataset
        title = f"Rakuten France challenge data ({dataset}, real)"
    n_all = len(df)
    df = verify_images(subsample(df, max_rows, seed))
    report = quality_report(df)
    if len(df) < n_all:
        report["rows_before_subsample"] = n_all
    return ProductData(df=df, labels=sorted(df["label"].unique().tolist()), report=report, source=source,
                       name=name, title=title, folder=str(folder))


def split_products(df: pd.DataFrame, seed: int, val_size: float = 0.15, test_size: float = 0.15) -> dict[str, pd.DataFrame]:
    """Stratified, deterministic train/val/test split (the same for 04, 05 and 06 given the same seed).

    Per class, rows are shuffled with the seed and cut by the shares; a class with at least 3 rows
    gets at least one row in each split, and train always keeps at least one (tiny classes such as
    rakuten_sample's 2-row codes go to train and test first). The result depends only on the rows'
    ids and labels, not on their order in `df`.
    """
    if not (0 < val_size < 1 and 0 < test_size < 1 and val_size + test_size < 1):
        raise ValueError("val_size and test_size must be in (0, 1) and sum below 1")
    d = df.reset_index(drop=True)
    order = np.argsort(d["id"].astype(str).to_numpy(), kind="stable")
    labels = d["label"].astype(str).to_numpy()[order]
    rng = np.random.default_rng(seed)
    parts: dict[str, list] = {"train": [], "val": [], "test": []}
    for label in sorted(set(labels)):
        idx = rng.permutation(order[labels == label])
        n = len(idx)
        n_test = int(round(n * test_size))
        n_val = int(round(n * val_size))
        if n >= 2:
            n_test = max(n_test, 1)
        if n >= 3:
            n_val = max(n_val, 1)
        while n - n_test - n_val < 1:  # keep at least one training row
            if n_val >= n_test and n_val > 0:
                n_val -= 1
            else:
                n_test -= 1
        parts["test"].extend(idx[:n_test].tolist())
        parts["val"].extend(idx[n_test:n_test + n_val].tolist())
        parts["train"].extend(idx[n_test + n_val:].tolist())
    return {k: d.iloc[np.sort(np.asarray(v, dtype=int))].reset_index(drop=True) for k, v in parts.items()}
